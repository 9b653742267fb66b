// POST /v3/lease/keepalive: a stream of LeaseKeepAliveRequest objects in the request body
// (newline-separated or simply concatenated), one `{"result":…}` line out per request, in order.
//
// etcd's gateway answers nothing until the whole body has arrived; Keyward answers each request as
// soon as it is complete (API.md section 14, "streams answer at once"), so a client can keep one
// stream open and renew through it. Otherwise as observed on etcd 3.4:
//   - an unknown (expired, revoked) lease answers a result without TTL;
//   - a first message that does not decode answers 500 / code 2 with the error envelope; a later
//     one ends the stream quietly after the answers before it;
//   - the stream ends when the request body ends and every request is answered (an empty body is
//     an empty 200 stream);
//   - a renewal that fails otherwise (no leader until the request timeout) ends the stream with
//     grpc-gateway's error chunk `{"error":{"grpc_code":…,"http_code":…,"message":…,"http_status":…}}`.
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { KeywardServer, RequestAuth } from '../server/index.js';
import { DecodeError, decodeLeaseKeepAliveRequest, encodeLeaseKeepAliveResultText, encodeLeaseStreamErrorText, parseJsonBody } from '../wire/index.js';
import { BodyTooLargeError } from './body.js';
import { toWireFailure, type WireFailure } from './errors.js';
import { holdOpen } from './http-server.js';
import type { LeaseLeaderClient } from './lease-forward.js';

/** Requests read ahead of their answers before the body is paused. */
const MAX_QUEUED = 64;

export interface KeepAliveOptions {
  /** Largest single request message, in characters of JSON. */
  maxMessageChars: number;
  /** For the error text of an over-large message: etcd's gRPC receive limit. */
  maxMessageBytes: number;
  logger: { error(obj: object, msg: string): void };
  /** Who is asking (settled once per stream: the credential of the request that opened it). */
  resolveAuth(req: IncomingMessage): Promise<RequestAuth>;
}

type Queued = { text: string } | { error: unknown };

export function keepAliveHandler(server: KeywardServer, leader: LeaseLeaderClient, opts: KeepAliveOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const auth = opts.resolveAuth(req);
    auth.catch(() => undefined);
    const splitter = new JsonValueSplitter(opts.maxMessageChars);
    const queue: Queued[] = [];
    let bodyEnded = false;
    let started = false;
    let done = false;
    let pumping = false;

    const start = (): void => {
      if (started) return;
      started = true;
      // No Content-Length: Node sends the body chunked, one chunk per write (flushed at once).
      res.writeHead(200, { 'Content-Type': 'application/json', 'Grpc-Metadata-Content-Type': 'application/grpc' });
    };
    const finish = (): void => {
      if (done) return;
      done = true;
      start();
      res.end();
    };
    const fail = (err: unknown): void => {
      if (done) return;
      done = true;
      const decode = err instanceof DecodeError || err instanceof BodyTooLargeError;
      const f: WireFailure = toWireFailure(err, opts.maxMessageBytes, true);
      if (f.internal) opts.logger.error({ err, path: req.url }, 'keep-alive stream failed');
      if (!started && decode) {
        // The first message did not decode: etcd answers the plain error envelope.
        const body = JSON.stringify(f.body);
        res.writeHead(f.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' }).end(body);
        return;
      }
      if (decode) {
        res.end();
        return;
      }
      if (!started) {
        started = true;
        res.writeHead(f.status, { 'Content-Type': 'application/json', 'Grpc-Metadata-Content-Type': 'application/grpc' });
      }
      const chunk = encodeLeaseStreamErrorText({ grpcCode: f.body.code, httpCode: f.status, message: f.body.message, httpStatus: STATUS_CODES[f.status] ?? '' });
      res.end(chunk + '\n');
    };

    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (!done && queue.length > 0) {
          const item = queue.shift()!;
          if (req.isPaused() && queue.length < MAX_QUEUED / 2) req.resume();
          if ('error' in item) throw item.error;
          const { id } = decodeLeaseKeepAliveRequest(parseJsonBody(item.text));
          const ttl = await leader.renew(id, await auth);
          if (done) return;
          start();
          res.write(encodeLeaseKeepAliveResultText({ header: server.responseHeader(), id, ttl }) + '\n');
        }
        if (bodyEnded && queue.length === 0) finish();
      } catch (err) {
        fail(err);
      } finally {
        pumping = false;
      }
    };

    const enqueue = (items: Queued[]): void => {
      if (items.length === 0) return;
      queue.push(...items);
      if (queue.length >= MAX_QUEUED) req.pause();
      void pump();
    };

    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (done) return;
      try {
        enqueue(splitter.push(chunk).map((text) => ({ text })));
      } catch (err) {
        enqueue([{ error: err }]);
        req.removeAllListeners('data');
        req.resume();
      }
    });
    req.on('end', () => {
      bodyEnded = true;
      const rest = splitter.end();
      enqueue(rest === undefined ? [] : [{ text: rest }]);
      void pump();
    });
    // A long-lived stream: no request-body deadline; the listener's close ends it.
    const release = holdOpen(req, () => {
      if (done) return;
      done = true;
      if (started) res.end();
      else res.destroy();
    });
    // The client went away (or the stream ended): stop answering; renewals in flight finish on their own.
    res.on('close', () => {
      done = true;
      release();
    });
  };
}

/**
 * Cuts a stream of concatenated JSON values into one text per value without parsing them (each
 * text is parsed on its own, so errors carry the decoder's usual messages). Objects and arrays end
 * at their matching bracket (strings and escapes respected), a top-level string at its closing
 * quote, any other token at the next whitespace or structural character.
 */
export class JsonValueSplitter {
  private buf = '';
  private pos = 0;
  /** Start of the value being read, or -1 between values. */
  private start = -1;
  private depth = 0;
  private inString = false;
  private escape = false;
  private bare = false;

  constructor(private readonly maxChars: number) {}

  /** Adds text; returns the values it completed. Throws BodyTooLargeError for an over-large value. */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    const b = this.buf;
    let i = this.pos;
    for (; i < b.length; i++) {
      const c = b.charCodeAt(i);
      if (this.start === -1) {
        if (c === 32 || c === 10 || c === 13 || c === 9) continue;
        this.start = i;
        if (c === 123 /* { */ || c === 91 /* [ */) this.depth = 1;
        else if (c === 34 /* " */) this.inString = true;
        else if (c === 125 || c === 93 || c === 58 || c === 44 /* } ] : , */) {
          out.push(b[i]!); // a lone structural character: the decoder reports it
          this.start = -1;
        } else this.bare = true;
        continue;
      }
      if (this.bare) {
        if (c === 32 || c === 10 || c === 13 || c === 9 || c === 123 || c === 91 || c === 125 || c === 93 || c === 34 || c === 44 || c === 58) {
          out.push(b.slice(this.start, i));
          this.start = -1;
          this.bare = false;
          i--; // this character starts (or separates) the next value
        }
        continue;
      }
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 92 /* \ */) this.escape = true;
        else if (c === 34) {
          this.inString = false;
          if (this.depth === 0) {
            out.push(b.slice(this.start, i + 1));
            this.start = -1;
          }
        }
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) this.depth++;
      else if (c === 125 || c === 93) {
        this.depth--;
        if (this.depth === 0) {
          out.push(b.slice(this.start, i + 1));
          this.start = -1;
        }
      }
    }
    // Keep only the unfinished value.
    const keepFrom = this.start === -1 ? i : this.start;
    this.buf = b.slice(keepFrom);
    if (this.start !== -1) this.start -= keepFrom;
    this.pos = i - keepFrom;
    if (this.buf.length > this.maxChars) throw new BodyTooLargeError(this.buf.length);
    return out;
  }

  /** The unfinished value at the end of the stream, if any (it will not decode). */
  end(): string | undefined {
    const rest = this.start === -1 ? '' : this.buf.slice(this.start);
    this.buf = '';
    this.pos = 0;
    this.start = -1;
    return rest.trim() === '' ? undefined : rest;
  }
}

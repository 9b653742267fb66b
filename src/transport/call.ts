// Calls: a small request/response channel on the peer port for the member's own use (etcd serves
// /leases and /leases/internal on its peer listener for the same reason: a follower forwards
// lease renewals and time-to-live questions to the leader). The transport stays content-agnostic:
// a call carries opaque bytes to the handler the owner registered under a short kind name and
// brings back the handler's opaque answer. Refusals that belong to the owner's domain (a lease
// not found, a caller without permission) are the handler's answer, in its own bytes; the
// transport's typed errors only say that the call did not get an answer.
//
// Who may call: the same as who may stream raft messages. A call passes the receiver's header
// checks (protocol, cluster, sender a known peer, addressed to us) and, over TLS, the peer
// identity binding (peer-identity.ts): the client certificate is a peer certificate naming the
// sending member. A user's client certificate, or a certificate from another peer CA, never
// completes the handshake on the peer listener. So a handler may trust what a call says about
// its own origin (e.g. "the caller I serve is user U"): only a member could have sent it.
//
// Bounds: Content-Length is required and at most maxCallBytes (refused before the body is read);
// the body must arrive and the handler answer within callTimeoutMs; the caller gives each call a
// deadline and caps the answer at maxCallBytes too. Connections are pooled per peer (keep-alive,
// a few sockets) so that a stream of renewals through a follower does not pay a TLS handshake
// each; every call re-checks the connection's certificate on both sides.

import * as http from 'node:http';
import * as https from 'node:https';
import type { Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { NodeId } from '../raft/index.js';
import { isTransportError, parseErrorCode, TransportError } from './errors.js';
import type { ResolvedOptions } from './options.js';
import type { PeerIdentity } from './peer-identity.js';
import { CALL_CONTENT_TYPE, CALL_PATH, fmtId, H_CALL, H_ERROR, requestHeaders } from './protocol.js';

/** A registered call handler: the sending member and the request bytes in, the answer bytes out. */
export type CallHandler = (from: NodeId, body: Uint8Array) => Promise<Uint8Array>;

/** Kind names: short, lower-case, dotted (e.g. "lease.renew"); they travel in a header. */
export const CALL_KIND = /^[a-z][a-z0-9._-]{0,63}$/;

export function checkKind(kind: string): void {
  if (typeof kind !== 'string' || !CALL_KIND.test(kind)) throw new TypeError(`transport: call kind ${JSON.stringify(kind)} must match ${String(CALL_KIND)}`);
}

// ---- inbound ------------------------------------------------------------------------------

/** Answers an error (the receiver's reject: status from HTTP_STATUS, code in X-Keyward-Error, connection closed). */
export type Reject = (req: http.IncomingMessage, res: http.ServerResponse, err: TransportError) => void;

export class CallServer {
  private readonly handlers = new Map<string, CallHandler>();

  constructor(
    private readonly opts: ResolvedOptions,
    private readonly reject: Reject,
  ) {}

  register(kind: string, handler: CallHandler): void {
    checkKind(kind);
    if (typeof handler !== 'function') throw new TypeError('transport: a call handler must be a function');
    if (this.handlers.has(kind)) throw new TypeError(`transport: a handler for ${kind} is already registered`);
    this.handlers.set(kind, handler);
  }

  /** Serves one call from `from`, whose headers and certificate the receiver already checked. */
  accept(from: NodeId, req: http.IncomingMessage, res: http.ServerResponse, who: PeerIdentity | undefined): void {
    const log = this.opts.logger;
    const peer = fmtId(from);
    const kind = req.headers[H_CALL];
    const refuse = (err: TransportError): void => {
      if (done) return;
      done = true;
      cancel();
      log.warn({ peer, kind, code: err.code, reason: err.message, certName: who?.memberName }, 'refused call');
      this.reject(req, res, err);
    };
    let done = false;
    // Body and handler share one deadline: a peer that trickles its body cannot hold a handler slot longer.
    const cancel = this.opts.timers.after(this.opts.callTimeoutMs, () => refuse(new TransportError('Timeout', `no answer within ${this.opts.callTimeoutMs} ms`)));
    if (typeof kind !== 'string' || !CALL_KIND.test(kind)) return refuse(new TransportError('BadRequest', `missing or invalid ${H_CALL}`));
    const handler = this.handlers.get(kind);
    if (handler === undefined) return refuse(new TransportError('NotFound', `no call handler ${kind}`));
    const lenHeader = req.headers['content-length'];
    if (lenHeader === undefined) return refuse(new TransportError('LengthRequired', 'a call needs Content-Length'));
    if (!/^\d{1,16}$/.test(lenHeader)) return refuse(new TransportError('BadRequest', 'invalid Content-Length'));
    const declared = Number(lenHeader);
    if (declared > this.opts.maxCallBytes) return refuse(new TransportError('TooLarge', `call of ${declared} bytes exceeds ${this.opts.maxCallBytes}`));

    const body = new Uint8Array(declared);
    let received = 0;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      // node's parser stops at Content-Length; this keeps the cap independent of it.
      if (received + chunk.byteLength > declared) return refuse(new TransportError('TooLarge', 'call body longer than its Content-Length'));
      body.set(chunk, received);
      received += chunk.byteLength;
    });
    req.on('end', () => {
      if (done) return;
      if (received !== declared) return refuse(new TransportError('Truncated', `call body of ${received} bytes, declared ${declared}`));
      let answer: Promise<Uint8Array>;
      try {
        answer = handler(from, body);
      } catch (e) {
        answer = Promise.reject(e);
      }
      answer.then(
        (out) => {
          if (done) return;
          if (!(out instanceof Uint8Array) || out.byteLength > this.opts.maxCallBytes) {
            log.error({ peer, kind, bytes: out instanceof Uint8Array ? out.byteLength : undefined }, 'call handler answered no bytes or too many');
            return refuse(new TransportError('HandlerFailed', 'the handler\'s answer is not bytes or over maxCallBytes'));
          }
          done = true;
          cancel();
          res.writeHead(200, { 'content-type': CALL_CONTENT_TYPE, 'content-length': out.byteLength });
          res.end(out);
        },
        (e: unknown) => {
          if (done) return;
          log.error({ peer, kind, err: e instanceof Error ? e.message : String(e) }, 'call handler failed');
          refuse(new TransportError('HandlerFailed', 'the call handler failed'));
        },
      );
    });
    req.on('close', () => {
      if (!done && received !== declared) {
        done = true;
        cancel();
      }
    });
  }
}

// ---- outbound -----------------------------------------------------------------------------

/** What the caller side needs from its transport for one peer. */
export interface CallTarget {
  readonly id: NodeId;
  readonly urls: readonly URL[];
  /** TLS options for a new connection to the peer (https URLs only). */
  dialOptions(): ConnectionOptions;
  /** The connection's server certificate must name the peer; throws TransportError. */
  checkDialed(socket: unknown): PeerIdentity;
}

/** Sockets per peer for calls: enough for concurrent renewals, few enough for the listener's connection cap. */
const MAX_CALL_SOCKETS = 8;
/** A pooled call connection idle this long is closed (below node's 5 s server keep-alive timeout, so we close first). */
const IDLE_SOCKET_MS = 2000;

export class CallClient {
  private readonly agents = new Map<NodeId, http.Agent>();
  private next = 0;

  constructor(private readonly opts: ResolvedOptions) {}

  /**
   * Sends `body` to the `kind` handler of `target` and resolves with its answer; rejects with a
   * TransportError: Unreachable, Timeout (after `timeoutMs`), TooLarge, PeerCertificate or
   * IdentityMismatch (the other end is not that member), or the code the receiver refused with.
   */
  call(target: CallTarget, kind: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    checkKind(kind);
    if (body.byteLength > this.opts.maxCallBytes) return Promise.reject(new TransportError('TooLarge', `call of ${body.byteLength} bytes exceeds ${this.opts.maxCallBytes}`));
    const url = target.urls[this.next++ % target.urls.length]!;
    const headers: Record<string, string> = requestHeaders(this.opts.selfId, target.id, this.opts.clusterId, CALL_CONTENT_TYPE);
    headers[H_CALL] = kind;
    headers['content-length'] = String(body.byteLength);
    const secure = url.protocol === 'https:';
    const base: http.RequestOptions = {
      hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port === '' ? undefined : Number(url.port),
      method: 'POST',
      path: CALL_PATH,
      headers,
      agent: this.agentFor(target.id, secure),
    };
    return new Promise<Uint8Array>((resolve, reject) => {
      let settled = false;
      const settle = (err: TransportError | null, out?: Uint8Array): void => {
        if (settled) return;
        settled = true;
        cancel();
        if (err !== null) {
          req.destroy();
          reject(err);
        } else resolve(out!);
      };
      const req = secure ? https.request({ ...base, ...target.dialOptions() }) : http.request(base);
      const cancel = this.opts.timers.after(timeoutMs, () => settle(new TransportError('Timeout', `no answer from ${fmtId(target.id)} within ${timeoutMs} ms`)));
      if (secure) {
        req.on('socket', (socket: Socket) => {
          const check = (): void => {
            try {
              target.checkDialed(socket);
            } catch (e) {
              settle(isTransportError(e) ? e : new TransportError('PeerCertificate', e instanceof Error ? e.message : String(e)));
            }
          };
          // A pooled connection was checked when it was made, but its certificate may have
          // expired or been revoked since, or the member's name become known: check again before
          // this request's bytes are written (node writes them after the 'socket' event). A new
          // connection is checked at 'secureConnect', before its buffered request leaves.
          if (req.reusedSocket) check();
          else socket.once('secureConnect', check);
        });
      }
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.byteLength;
          if (size > this.opts.maxCallBytes) return settle(new TransportError('TooLarge', `answer from ${fmtId(target.id)} exceeds ${this.opts.maxCallBytes} bytes`));
          chunks.push(c);
        });
        res.on('end', () => {
          const text = (): string => Buffer.concat(chunks).toString('utf8').trim().slice(0, 300);
          if (res.statusCode === 200) return settle(null, new Uint8Array(Buffer.concat(chunks)));
          const code = parseErrorCode(headerValue(res.headers[H_ERROR]));
          if (code === undefined) return settle(new TransportError('Unreachable', `${url.origin} answered HTTP ${res.statusCode ?? '?'} without a transport error code`));
          // The receiver's message already reads "transport: <code>: <reason>"; keep the reason only.
          settle(new TransportError(code, text().replace(/^transport: [A-Za-z]+: /, '')));
        });
        res.on('error', (e) => settle(new TransportError('Unreachable', e.message)));
      });
      req.on('error', (e) => settle(isTransportError(e) ? e : new TransportError('Unreachable', `${url.origin}: ${e.message}`)));
      req.on('close', () => settle(new TransportError('Unreachable', `connection to ${url.origin} closed before an answer`)));
      req.end(body);
    });
  }

  private agentFor(id: NodeId, secure: boolean): http.Agent {
    let a = this.agents.get(id);
    if (a === undefined) {
      const o = { keepAlive: true, maxSockets: MAX_CALL_SOCKETS, maxFreeSockets: MAX_CALL_SOCKETS, timeout: IDLE_SOCKET_MS };
      // No TLS session resumption: a resumed session carries no certificate chain, so the dialled
      // check finds none ("the peer presented no certificate") and every call to that peer failed
      // once the first pooled connection had idled out, for as long as the cached session lived
      // (seen: a learner promotion through a follower refused with NO_LEADER for 20 s). Every
      // connection does a full handshake and its certificate is checked, as the stream dialler's.
      a = secure ? new https.Agent({ ...o, maxCachedSessions: 0 }) : new http.Agent(o);
      this.agents.set(id, a);
    }
    return a;
  }

  /** Closes the pooled connections to `id` (the peer was removed or changed its URLs). */
  drop(id: NodeId): void {
    this.agents.get(id)?.destroy();
    this.agents.delete(id);
  }

  close(): void {
    for (const a of this.agents.values()) a.destroy();
    this.agents.clear();
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

// POST /v3/watch: etcd's watch stream over plain HTTP (API.md section 6). The request body is a
// sequence of request objects read as they arrive; the response is one `{"result":…}` line per
// watch response, chunked, and never ends on its own (EOF of the request body does not end it; the
// client closes). Unlike etcd over HTTP/1.1, Keyward answers as soon as the first request object
// is in (API.md section 14), so one connection is a full-duplex stream for clients that can send
// a body while reading the response.
//
// Malformed request objects, as etcd's gateway answers them: a bad FIRST object gets an HTTP error
// (500, gRPC code 2, etcd's message) and no stream; a bad LATER object stops the reading of
// requests, while the stream and its watches go on.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeywardServer, RequestAuth } from '../server/index.js';
import { toWireFailure, type WireFailure } from './errors.js';
import { holdOpen } from './http-server.js';
import type { TenantEdge } from './tenant-edge.js';
import { openSessionStream, pumpWatch, WatchRequestReader, type SessionStream, type WatchSink } from './watch-session.js';

export interface WatchTransportOptions {
  /** Longest request object, in characters (the unary body cap). */
  maxObjectChars: number;
  /** --max-request-bytes plus gRPC's slack, for the too-large error message. */
  maxMessageBytes: number;
  logger: { error(obj: object, msg: string): void };
  /** Who is asking: settled before the stream opens, from the request that opened it. */
  resolveAuth(req: IncomingMessage): Promise<RequestAuth>;
  /** Tenant principals: admission, stream and watcher limits, key translation. */
  tenants: TenantEdge;
}

/** Settles who is asking, then serves; a refused credential is answered before any stream exists. */
export function serveWatchPost(server: KeywardServer, req: IncomingMessage, res: ServerResponse, o: WatchTransportOptions): void {
  authorizedStream(server, req, o).then(
    (auth) => serveWatchPostAs(server, req, res, o, auth),
    (err: unknown) => refuseWatch(res, toWireFailure(err, o.maxMessageBytes)),
  );
}

/** Who opens a stream, refused at once when auth is on and nobody is named. */
export async function authorizedStream(server: KeywardServer, req: IncomingMessage, o: WatchTransportOptions): Promise<RequestAuth> {
  const auth = await o.resolveAuth(req);
  server.assertAuthenticated(auth);
  // Opening a stream is one of the tenant's requests (rate, admission); its slot is taken at open.
  o.tenants.admit(auth);
  return auth;
}

/** An HTTP error for a watch request refused before it started (its body is left unread: close). */
export function refuseWatch(res: ServerResponse, failure: WireFailure): void {
  const body = JSON.stringify(failure.body);
  res
    .writeHead(failure.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), Connection: 'close' })
    .end(body);
}

function serveWatchPostAs(server: KeywardServer, req: IncomingMessage, res: ServerResponse, o: WatchTransportOptions, auth: RequestAuth): void {
  let stream: SessionStream | undefined;
  let ended = false;
  // The body never completes while the stream lives: no request deadline; the listener's close ends it.
  const release = holdOpen(req, () => end());

  const end = (): void => {
    if (ended) return;
    ended = true;
    release();
    stream?.close();
    if (!res.headersSent) res.destroy();
    else if (!res.writableEnded) res.end();
  };

  const fail = (err: unknown): void => {
    const failure = toWireFailure(err, o.maxMessageBytes, true);
    if (failure.internal) o.logger.error({ err, path: req.url }, 'watch request failed');
    ended = true;
    release();
    sendFailure(res, failure);
  };

  /** Opens the stream and the response; false when the member cannot serve (answered already). */
  const start = (): boolean => {
    try {
      stream = openSessionStream(server, auth, o.tenants, o.logger);
    } catch (err) {
      fail(err);
      return false;
    }
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Grpc-Metadata-Content-Type': 'application/grpc',
      // The request body is open-ended: once the response ends, the connection cannot be reused.
      Connection: 'close',
    });
    res.flushHeaders();
    const s = stream;
    void pumpWatch(s, responseSink(res), () => {
      if (req.isPaused() && s.hasRoom() && !ended) req.resume();
    }).then(end, (err: unknown) => {
      o.logger.error({ err }, 'watch stream failed');
      end();
    });
    return true;
  };

  const reader = new WatchRequestReader(o.maxObjectChars, {
    request: (r) => {
      if (ended) return;
      if (stream === undefined && !start()) {
        reader.stop();
        return;
      }
      const s = stream as SessionStream;
      s.request(r);
      // A client that sends requests but does not read the answers: stop reading it until it does,
      // so the answers it makes us queue stay within the stream's bound.
      if (!s.hasRoom()) req.pause();
    },
    failed: (err) => {
      // Before the stream: an HTTP error, as etcd. After it: the rest of the body is ignored.
      if (stream === undefined && !ended) fail(err);
    },
  });

  req.setEncoding('utf8');
  req.on('data', (text: string) => reader.push(text));
  req.on('end', () => {
    reader.end();
    // A body without any request object: the stream is open and silent, as etcd's.
    if (stream === undefined && !ended) start();
  });
  req.on('error', () => end());
  res.on('close', () => end());
}

/** The response as a pump sink: one line per message, waiting for 'drain' when the socket is full. */
function responseSink(res: ServerResponse): WatchSink {
  return {
    write: (m) => res.write(m.text + '\n'),
    writable: () => waitDrain(res),
    get closed() {
      return res.destroyed || res.writableEnded;
    },
    cork: () => res.cork(),
    uncork: () => res.uncork(),
  };
}

export function waitDrain(res: ServerResponse): Promise<void> {
  if (res.destroyed || res.writableEnded || !res.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

function sendFailure(res: ServerResponse, failure: WireFailure): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(failure.body);
  res.writeHead(failure.status, {
    'Content-Type': 'application/json',
    'Grpc-Metadata-Content-Type': 'application/grpc',
    'Content-Length': Buffer.byteLength(body),
    // The rest of the body is not read.
    Connection: 'close',
  });
  res.end(body);
}

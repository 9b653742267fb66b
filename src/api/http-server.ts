import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';

/** Takes over a connection whose request asked for a protocol upgrade (WebSocket). */
export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** What an HTTP listener serves: requests, and optionally upgrades (createApi's Api is one). */
export interface HttpHandler {
  listener: RequestListener;
  upgrade?: UpgradeListener;
}

// Long-lived streams (watch responses, WebSockets) and the listener that carries them. Node's own
// requestTimeout cannot be lifted for one request, and a watch stream's request body never
// completes, so the listener enforces the body deadline itself and skips requests held open;
// and close() ends the held streams, which would otherwise keep it from ever finishing.
const HOLDS = Symbol('keyward.http.holds');
type Held = IncomingMessage & { [HOLDS]?: StreamRegistry };

/** The held streams of one listener. Once it closes, a stream that still starts (a keep-alive connection's next request) is ended at once. */
class StreamRegistry {
  private readonly streams = new Map<() => void, Duplex>();
  private closed = false;
  constructor(private readonly graceMs: number) {}

  add(end: () => void, socket: Duplex): () => void {
    if (this.closed) {
      queueMicrotask(end);
      setTimeout(() => socket.destroy(), this.graceMs).unref();
      return () => {};
    }
    this.streams.set(end, socket);
    return () => {
      this.streams.delete(end);
    };
  }

  /** Ends every stream; severs their connections after the grace if they did not finish. */
  closeAll(): () => void {
    this.closed = true;
    const held = [...this.streams];
    this.streams.clear();
    const sever = setTimeout(() => {
      for (const [, socket] of held) socket.destroy();
    }, this.graceMs);
    sever.unref();
    for (const [end] of held) end();
    return () => clearTimeout(sever);
  }
}
const HELD = Symbol('keyward.http.held');
type MaybeHeld = IncomingMessage & { [HELD]?: true };

/**
 * Marks `req` as a long-lived stream of the listener that received it: no request deadline, and
 * `end` is called when the listener closes (it should end the response or close the socket).
 * Returns the release to call once the stream has ended. Without an HttpListener (supertest) it
 * only returns a no-op release.
 */
export function holdOpen(req: IncomingMessage, end: () => void): () => void {
  (req as MaybeHeld)[HELD] = true;
  const holds = (req as Held)[HOLDS];
  if (holds === undefined) return () => {};
  return holds.add(end, req.socket);
}

interface BodyDeadline {
  req: IncomingMessage;
  res: ServerResponse;
  at: number;
}

export interface ListenOptions {
  /** Close connections whose headers have not arrived within this time (slowloris). */
  headersTimeoutMs?: number;
  /** Close requests whose body has not arrived within this time. */
  requestTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
  maxConnections?: number;
  /**
   * How long close() lets ended streams flush before it severs their connections: a client that
   * stopped reading would otherwise keep the listener open forever. Default 2000.
   */
  closeGraceMs?: number;
}

export class ListenError extends Error {
  override readonly name = 'ListenError';
  constructor(
    readonly url: string,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A listening HTTP server with an idempotent close that drains in-flight requests. */
export class HttpListener {
  private closing: Promise<void> | undefined;
  private constructor(
    private readonly server: Server,
    readonly url: string,
    private readonly holds: StreamRegistry,
    private readonly stopSweep: () => void,
  ) {}

  static async listen(handler: RequestListener | HttpHandler, url: string, opts: ListenOptions = {}): Promise<HttpListener> {
    const u = new URL(url);
    if (u.protocol !== 'http:') {
      throw new ListenError(url, 'UNSUPPORTED_SCHEME', `cannot listen on ${url}: only http:// is supported until TLS lands`);
    }
    const h: HttpHandler = typeof handler === 'function' ? { listener: handler } : handler;
    const holds = new StreamRegistry(opts.closeGraceMs ?? 2000);
    const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    let deadlines: BodyDeadline[] = [];
    const listener = h.listener;
    const server = createServer({ keepAliveTimeout: opts.keepAliveTimeoutMs ?? 5000 }, (req, res) => {
      (req as Held)[HOLDS] = holds;
      // One array push per request; the sweep below drops the entry once the body is in.
      if (requestTimeoutMs > 0) deadlines.push({ req, res, at: Date.now() + requestTimeoutMs });
      listener(req, res);
    });
    const upgrade = h.upgrade;
    if (upgrade !== undefined) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        (req as Held)[HOLDS] = holds;
        upgrade(req, socket, head);
      });
    }
    server.headersTimeout = opts.headersTimeoutMs ?? 10_000;
    // Replaced by the sweep, which exempts held streams (see holdOpen).
    server.requestTimeout = 0;
    const sweep = setInterval(
      () => {
        const now = Date.now();
        deadlines = deadlines.filter((d) => {
          if (d.req.complete || d.req.socket.destroyed || (d.req as MaybeHeld)[HELD] === true) return false;
          if (d.at > now) return true;
          requestTimedOut(d);
          return false;
        });
      },
      Math.max(50, Math.min(1000, requestTimeoutMs / 4)),
    );
    sweep.unref();
    server.maxConnections = opts.maxConnections ?? 10_000;
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port === '' ? 80 : Number(u.port);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.message;
        reject(new ListenError(url, err.code ?? 'LISTEN_FAILED', `cannot listen on ${url}: ${why}`));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    const addr = server.address() as AddressInfo;
    const bracketed = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return new HttpListener(server, `http://${bracketed}:${addr.port}`, holds, () => clearInterval(sweep));
  }

  /**
   * Stops accepting connections, lets in-flight requests finish, ends long-lived streams (see
   * holdOpen) and drops idle keep-alive sockets.
   */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.stopSweep();
      let cancelSever = (): void => {};
      // Connections busy now become idle later (keep-alive): drop them then, not after keepAliveTimeout.
      const idle = setInterval(() => this.server.closeIdleConnections(), 100);
      idle.unref();
      this.server.close(() => {
        cancelSever();
        clearInterval(idle);
        resolve();
      });
      // Only the streams' connections are severed: other in-flight requests drain as before.
      cancelSever = this.holds.closeAll();
      this.server.closeIdleConnections();
    });
    return this.closing;
  }

  /** Severs every connection at once, for when draining is not an option. */
  destroy(): void {
    this.server.closeAllConnections();
  }
}

/** Node's answer to a request whose body did not arrive in time: 408 if nothing was sent yet, then close. */
function requestTimedOut(d: BodyDeadline): void {
  const socket = d.req.socket;
  if (d.res.headersSent) {
    socket.destroy();
    return;
  }
  d.res.writeHead(408, { Connection: 'close', 'Content-Length': '0' });
  d.res.end(() => socket.destroy());
}

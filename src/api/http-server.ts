import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { AuthError, type Principal } from '../server/index.js';
import { identityFromSocket, isTlsError, type GuardEvent, type HandshakeFailure, type Identity, type IdentityPolicy, type TlsReloader } from '../tls/index.js';

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

// The client-identity policy of the TLS listener that received a request (one per listener: the
// identity module caches its per-connection checks against the policy object).
const POLICY = Symbol('keyward.http.identityPolicy');
type WithPolicy = IncomingMessage & { [POLICY]?: IdentityPolicy };

/**
 * The verified client-certificate identity of `req`'s connection (GUARANTEES A17, A18, A18b):
 * undefined on a plaintext listener, outside an HttpListener (supertest), or on a TLS connection
 * without a client certificate (possible only with clientCertAuth false). Throws the TlsError of
 * a certificate that is no identity: not from the client CA, wrong usage, expired since the
 * handshake, revoked since, or a malformed subject.
 */
export function requestIdentity(req: IncomingMessage): Identity | undefined {
  const policy = (req as WithPolicy)[POLICY];
  if (policy === undefined) return undefined;
  const socket = req.socket;
  if (socket instanceof TLSSocket && !sentCertificate(socket)) return undefined;
  return identityFromSocket(socket, policy);
}

/** Whether the client sent a certificate, asked once per connection (it cannot change on one). */
const SENT_CERTIFICATE = new WeakMap<TLSSocket, boolean>();
function sentCertificate(socket: TLSSocket): boolean {
  let sent = SENT_CERTIFICATE.get(socket);
  if (sent === undefined) {
    // Never getPeerX509Certificate(): on Node 20.20 each call on a server socket leaks ~4.5 KB of
    // native memory (measured: 16,000 mTLS connections to a bare https server grew its anonymous
    // RSS by ~100 MiB with one call per connection, not at all without; the D13 soak found it as
    // steady growth on the member taking new connections). getPeerCertificate() is {} when the
    // client sent none.
    sent = socket.getPeerCertificate().raw !== undefined;
    SENT_CERTIFICATE.set(socket, sent);
  }
  return sent;
}

/**
 * requestIdentity as the principal createApi's `clientIdentity` takes. A certificate that passed
 * the handshake but is no identity is refused with 401 UNAUTHENTICATED ("no verified identity")
 * rather than treated as no certificate: the client meant to be someone, and acting for it as
 * anonymous (or letting a token of someone else win silently) would hide that.
 */
export function requestPrincipal(req: IncomingMessage): Principal | undefined {
  let identity: Identity | undefined;
  try {
    identity = requestIdentity(req);
  } catch (e) {
    if (isTlsError(e)) throw new AuthError('UNAUTHENTICATED', { cause: e });
    throw e;
  }
  if (identity === undefined || identity.kind !== 'client') return undefined;
  let principal = PRINCIPALS.get(identity);
  if (principal === undefined) {
    principal = Object.freeze(identity.tenant === undefined ? { user: identity.user } : { user: identity.user, tenant: identity.tenant });
    PRINCIPALS.set(identity, principal);
  }
  return principal;
}

// One principal object per verified identity (identityFromSocket hands out one Identity per
// connection and policy), so that a connection's requests share it and what is derived from it
// (api/auth-context.ts) is built once per connection.
const PRINCIPALS = new WeakMap<Identity, Principal>();

/** TLS for a client listener: its material (shared by every listener of the member) and the client-certificate rule. */
export interface ListenTls {
  /** Certificate, key, client CA, CRL and denylist; reloaded on SIGHUP and file change by its owner. */
  reloader: TlsReloader;
  /**
   * etcd's --client-cert-auth. True (default): the handshake requires a certificate from the
   * client CA. False: one is asked for and, when sent, must verify and names the client; a client
   * may also connect without one and authenticate with a token.
   */
  clientCertAuth?: boolean;
  /** A handshake that failed (old protocol, bad or missing certificate, timeout): for a rate-limited log line. */
  onHandshakeFailure?: (f: HandshakeFailure) => void;
  /** A connection refused or cut because its certificate is on the denylist. */
  onRefused?: (e: GuardEvent) => void;
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
  /** Required for https:// URLs, refused for http:// ones (no plaintext listener when TLS is configured). */
  tls?: ListenTls;
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
    private readonly policy: IdentityPolicy | undefined,
    private readonly detachTls: () => void,
    private readonly countAwaited: () => number,
  ) {}

  /** Requests whose body deadline is still tracked (their body may still be arriving). */
  get bodiesAwaited(): number {
    return this.countAwaited();
  }

  /** Whether this listener speaks TLS. */
  get secure(): boolean {
    return this.policy !== undefined;
  }

  /** The verified client identity of a request this listener received (see requestIdentity). */
  clientIdentity(req: IncomingMessage): Identity | undefined {
    return this.policy === undefined ? undefined : requestIdentity(req);
  }

  static async listen(handler: RequestListener | HttpHandler, url: string, opts: ListenOptions = {}): Promise<HttpListener> {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new ListenError(url, 'UNSUPPORTED_SCHEME', `cannot listen on ${url}: only http:// and https:// are supported`);
    }
    const tls = opts.tls;
    if (u.protocol === 'https:' && tls === undefined) throw new ListenError(url, 'TLS_REQUIRED', `cannot listen on ${url}: https needs TLS material`);
    if (u.protocol === 'http:' && tls !== undefined) throw new ListenError(url, 'PLAINTEXT_REFUSED', `cannot listen on ${url}: TLS is configured, so no plaintext listener is opened`);
    // One policy per listener; `issuers` is read on every check, so a reloaded client CA applies at once.
    const policy: IdentityPolicy | undefined = tls === undefined ? undefined : { expect: 'client', issuers: () => tls.reloader.cas, revocation: tls.reloader.revocation };
    const h: HttpHandler = typeof handler === 'function' ? { listener: handler } : handler;
    const holds = new StreamRegistry(opts.closeGraceMs ?? 2000);
    const requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    // Requests whose body may still be arriving. A request enters `fresh` first; after this
    // turn's socket reads (setImmediate runs after the poll phase) those whose body is already in
    // — nearly all: a small request arrives in one read — are dropped, and only the rest wait
    // in `deadlines` for the sweep. Keeping every request until the next sweep (up to a second)
    // had each request's whole object graph (req, res, parser state, body) survive two young
    // collections: at 10,000 puts/s that promoted ~40 MB/s to the old generation and cost a
    // full collection every second (docs/ARCHITECTURE.md change 23).
    let fresh: BodyDeadline[] = [];
    let deadlines: BodyDeadline[] = [];
    let admitScheduled = false;
    const admitFresh = (): void => {
      admitScheduled = false;
      for (const d of fresh) if (!bodyDone(d)) deadlines.push(d);
      fresh = [];
    };
    const listener = h.listener;
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      (req as Held)[HOLDS] = holds;
      if (policy !== undefined) (req as WithPolicy)[POLICY] = policy;
      if (requestTimeoutMs > 0) {
        fresh.push({ req, res, at: Date.now() + requestTimeoutMs });
        if (!admitScheduled) {
          admitScheduled = true;
          setImmediate(admitFresh);
        }
      }
      listener(req, res);
    };
    const keepAliveTimeout = opts.keepAliveTimeoutMs ?? 5000;
    let server: Server;
    let detachTls = (): void => {};
    if (tls === undefined) {
      server = createServer({ keepAliveTimeout }, onRequest);
    } else {
      const clientCertAuth = tls.clientCertAuth ?? true;
      // requestCert always: with clientCertAuth false a certificate is optional but still verified and used.
      const tlsServer = createTlsServer({ ...tls.reloader.serverOptions({ requestCert: true, rejectUnauthorized: clientCertAuth }), keepAliveTimeout }, onRequest);
      server = tlsServer;
      // Follows reloads, refuses and cuts denylisted certificates, destroys failed handshakes (src/tls).
      detachTls = tls.reloader.attach(tlsServer, {
        ...(tls.onHandshakeFailure !== undefined ? { onHandshakeFailure: tls.onHandshakeFailure } : {}),
        ...(tls.onRefused !== undefined ? { onRefused: tls.onRefused } : {}),
      });
    }
    const upgrade = h.upgrade;
    if (upgrade !== undefined) {
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        (req as Held)[HOLDS] = holds;
        if (policy !== undefined) (req as WithPolicy)[POLICY] = policy;
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
          if (bodyDone(d)) return false;
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
    const port = u.port === '' ? (tls === undefined ? 80 : 443) : Number(u.port);
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
    }).catch((e: unknown) => {
      clearInterval(sweep);
      detachTls();
      throw e;
    });
    const addr = server.address() as AddressInfo;
    const bracketed = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return new HttpListener(server, `${tls === undefined ? 'http' : 'https'}://${bracketed}:${addr.port}`, holds, () => clearInterval(sweep), policy, detachTls, () => fresh.length + deadlines.length);
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
        this.detachTls();
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

/** Whether a request no longer needs its body deadline: body in, connection gone, or a held stream. */
function bodyDone(d: BodyDeadline): boolean {
  return d.req.complete || d.req.socket.destroyed || (d.req as MaybeHeld)[HELD] === true;
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

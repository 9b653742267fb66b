import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';
import {
  AuthPath,
  EtcdClusterError,
  EtcdError,
  decodeAuthenticateResponse,
  decodeErrorBody,
  decodeLeaseKeepAliveLine,
  encodeAuthenticateRequest,
  type EtcdClusterErrorName,
  type EtcdErrorName,
} from '../wire/index.js';
import { Credentials, bearer, type BasicAuth, type TokenSource } from './credentials.js';
import { clientConnectionOptions, describeConnectionError, type ClientTls } from './tls.js';

// The HTTP/JSON transport the clients share: one POST per RPC over node:http / node:https (with
// TLS material and a client certificate: Node 20's global fetch cannot present one without an
// undici Agent, and the watch stream already speaks node:https), etcd's error envelope turned into
// a KeywardError, the token sent with every request and refreshed once when refused, and failover
// between endpoints for requests that are safe to send again (HttpTransport). Internal to the
// client module; index.ts exports only KeywardError and ClientOptions from here.

export interface ClientOptions {
  /**
   * Member client URLs, e.g. ["https://127.0.0.1:2379"]. Reads fail over between them; writes only
   * from an endpoint that could not be reached at all (see HttpTransport).
   */
  endpoints: string[];
  /** Per-request timeout. */
  timeoutMs?: number;
  /** CA, client certificate and key for https endpoints (PEM); see clientTlsFromFiles. */
  tls?: ClientTls;
  /** A token (or a function giving one before each request), sent as `Authorization: Bearer <token>`. */
  token?: TokenSource;
  /**
   * User and password: the client logs in on its first request and sends the token it gets; a
   * request refused with "invalid auth token" logs in again once and is retried once (see
   * credentials.ts for why that is safe for writes too). Exclusive with `token`.
   */
  auth?: BasicAuth;
}
/** An error answered by a member, typed by etcd's message, or a transport failure. */
export class KeywardError extends Error {
  override readonly name = 'KeywardError';
  constructor(
    /** etcd's error by name when the message is one Keyward knows, else 'UNKNOWN'. */
    readonly code: EtcdErrorName | EtcdClusterErrorName | 'UNKNOWN' | 'UNAVAILABLE',
    /** gRPC status code from the body (14 for transport failures). */
    readonly grpcCode: number,
    /** HTTP status, 0 when no response arrived. */
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

const BY_MESSAGE = new Map<string, EtcdErrorName | EtcdClusterErrorName>([
  ...(Object.entries(EtcdError) as Array<[EtcdErrorName, { message: string }]>).map(([name, e]) => [e.message, name] as const),
  ...(Object.entries(EtcdClusterError) as Array<[EtcdClusterErrorName, { message: string }]>).map(([name, e]) => [e.message, name] as const),
]);

/** A response read whole: status and body text. */
interface RawResponse {
  status: number;
  text: string;
}

/** Bodies larger than this are refused rather than buffered (the largest etcd answer is far smaller). */
const MAX_RESPONSE_CHARS = 512 * 1024 * 1024;

/**
 * Sends RPCs to a list of endpoints. It remembers the endpoint that last answered and starts
 * there. Idempotent requests are retried on another endpoint after any failure; a write only when
 * it certainly never reached the member (no connection, no TLS handshake): a write that timed out
 * or lost its connection may have been applied, and replaying it could apply it twice (GUARANTEES
 * L15). So a dead first endpoint does not stop writes, and nothing is ever applied twice.
 */
export class HttpTransport {
  readonly endpoints: readonly string[];
  /** TLS options for https connections (also used by watch streams, which dial their own sockets). */
  readonly tlsOptions: ConnectionOptions;
  readonly credentials: Credentials;
  readonly timeoutMs: number;
  private preferred = 0;
  private readonly httpAgent = new HttpAgent({ keepAlive: true });
  private readonly httpsAgent: HttpsAgent;

  constructor(opts: ClientOptions) {
    if (opts.endpoints.length === 0) throw new TypeError('at least one endpoint is required');
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
    for (const e of this.endpoints) {
      const p = new URL(e).protocol;
      if (p !== 'http:' && p !== 'https:') throw new TypeError(`endpoint ${e} must be an http:// or https:// URL`);
    }
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.tlsOptions = clientConnectionOptions(opts.tls);
    this.httpsAgent = new HttpsAgent({ ...this.tlsOptions, keepAlive: true });
    this.credentials = new Credentials(opts.token, opts.auth, (user, password) => this.login(user, password));
  }

  /**
   * POSTs `body` as JSON to `path` and returns the parsed success body. With `endpoint`, only that
   * endpoint is asked. `anonymous` sends no token (authenticate). Throws KeywardError.
   */
  async call(path: string, body: unknown, idempotent: boolean, endpoint?: string, opts: { anonymous?: boolean } = {}): Promise<unknown> {
    const text = JSON.stringify(body);
    if (opts.anonymous === true) return this.attempt(path, text, idempotent, endpoint, undefined);
    const token = await this.credentials.get();
    try {
      return await this.attempt(path, text, idempotent, endpoint, token);
    } catch (err) {
      // Refused at the edge or at apply for the token alone: nothing happened (credentials.ts).
      if (!isInvalidToken(err) || !this.credentials.canRefresh) throw err;
      return this.attempt(path, text, idempotent, endpoint, await this.credentials.refresh(token));
    }
  }

  /** A plain GET (`/version`, `/health`) to one endpoint, the preferred one by default. */
  async get(path: string, endpoint?: string): Promise<{ status: number; json: unknown }> {
    const ep = endpoint ?? (this.endpoints[this.preferred] as string);
    let res: RawResponse;
    try {
      res = await this.send(ep, path, undefined, await this.credentials.get());
    } catch (err) {
      throw new KeywardError('UNAVAILABLE', 14, 0, `${ep}${path}: ${describeConnectionError(err instanceof NotSent ? err.reason : err)}`);
    }
    return { status: res.status, json: parseJson(res.text) };
  }

  /** Closes idle kept-alive connections (open ones close once their request ends). */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async attempt(path: string, text: string, idempotent: boolean, endpoint: string | undefined, token: string | undefined): Promise<unknown> {
    const candidates = endpoint !== undefined ? [endpoint.replace(/\/+$/, '')] : this.order();
    const failures: string[] = [];
    for (const ep of candidates) {
      let res: RawResponse;
      try {
        res = await this.send(ep, path, text, token);
      } catch (err) {
        failures.push(`${ep}: ${describeConnectionError(err instanceof NotSent ? err.reason : err)}`);
        // A write goes on to the next endpoint only if this one never saw it (L15).
        if (!idempotent && !(err instanceof NotSent)) break;
        continue;
      }
      const json = parseJson(res.text);
      if (res.status >= 200 && res.status < 300) {
        const i = this.endpoints.indexOf(ep);
        if (i >= 0) this.preferred = i;
        return json;
      }
      const e = json === undefined ? undefined : safeErrorBody(json);
      if (e === undefined) throw new KeywardError('UNKNOWN', 2, res.status, `HTTP ${res.status} from ${ep}${path}`);
      throw new KeywardError(BY_MESSAGE.get(e.message) ?? 'UNKNOWN', e.code, res.status, e.message);
    }
    throw new KeywardError('UNAVAILABLE', 14, 0, `no endpoint answered ${path}: ${failures.join('; ')}`);
  }

  private async login(user: string, password: string): Promise<string | undefined> {
    try {
      const json = await this.call(AuthPath.AUTHENTICATE, encodeAuthenticateRequest({ name: user, password }), true, undefined, { anonymous: true });
      return decodeAuthenticateResponse(json).token;
    } catch (err) {
      // etcd clientv3: a cluster without auth needs no token, so the client goes on without one.
      if (err instanceof KeywardError && err.code === 'AUTH_NOT_ENABLED') return undefined;
      throw err;
    }
  }

  private order(): string[] {
    const first = this.endpoints[this.preferred] as string;
    return [first, ...this.endpoints.filter((e) => e !== first)];
  }

  /** One request to one endpoint. Rejects on a transport failure (connect, TLS, timeout). */
  private send(endpoint: string, path: string, body: string | undefined, token: string | undefined): Promise<RawResponse> {
    const url = new URL(endpoint + path);
    const https = url.protocol === 'https:';
    const headers: Record<string, string> = { ...bearer(token) };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    return new Promise<RawResponse>((resolve, reject) => {
      const options = { method: body === undefined ? 'GET' : 'POST', headers, agent: https ? this.httpsAgent : this.httpAgent };
      const req = https ? httpsRequest(url, options) : httpRequest(url, options);
      // Whether the request may have reached the member: not until a fresh socket has connected
      // (and, for https, finished its handshake: nothing is written before). A kept-alive socket
      // counts as connected: a failure on it is ambiguous.
      let connected = false;
      req.on('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once(https ? 'secureConnect' : 'connect', () => (connected = true));
      });
      // One deadline for the whole exchange: connect, handshake, answer and body. A member that
      // accepts and then says nothing (paused, wedged) must not hold the caller forever.
      const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        reject(connected ? err : new NotSent(err));
      };
      req.on('error', fail);
      req.on('response', (res: IncomingMessage) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (chunk: string) => {
          text += chunk;
          if (text.length > MAX_RESPONSE_CHARS) req.destroy(new Error(`answer larger than ${MAX_RESPONSE_CHARS} characters`));
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(new Error('the connection closed before the answer was complete'));
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, text });
        });
      });
      req.end(body);
    });
  }
}

/** A transport failure before any byte of the request could reach the member: safe to send elsewhere. */
class NotSent extends Error {
  constructor(readonly reason: Error) {
    super(reason.message, { cause: reason });
    this.name = 'NotSent';
  }
}

function isInvalidToken(err: unknown): boolean {
  return err instanceof KeywardError && err.code === 'INVALID_AUTH_TOKEN';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A KeywardError for an etcd error envelope, typed by its message when Keyward knows it. */
export function keywardError(message: string, grpcCode: number, httpStatus: number): KeywardError {
  return new KeywardError(BY_MESSAGE.get(message) ?? (grpcCode === 14 ? 'UNAVAILABLE' : 'UNKNOWN'), grpcCode, httpStatus, message);
}

function safeErrorBody(json: unknown): { message: string; code: number } | undefined {
  try {
    return decodeErrorBody(json);
  } catch {
    // A stream endpoint (keep-alive) that failed before its first answer sends grpc-gateway's
    // error chunk instead of the envelope.
    try {
      const line = decodeLeaseKeepAliveLine(json);
      return line.type === 'error' ? { message: line.error.message, code: line.error.grpcCode } : undefined;
    } catch {
      return undefined;
    }
  }
}

import {
  EtcdClusterError,
  EtcdError,
  decodeErrorBody,
  decodeLeaseKeepAliveLine,
  type EtcdClusterErrorName,
  type EtcdErrorName,
} from '../wire/index.js';

// The HTTP/JSON transport the clients share: one POST per RPC, etcd's error envelope turned into a
// KeywardError, and failover between endpoints for requests that are safe to repeat. Internal to
// the client module; index.ts exports only KeywardError and ClientOptions from here.

export interface ClientOptions {
  /** Member client URLs, e.g. ["http://127.0.0.1:2379"]. Reads fail over between them. */
  endpoints: string[];
  /** Per-request timeout. */
  timeoutMs?: number;
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

/**
 * Sends RPCs to a list of endpoints. It remembers the endpoint that last answered and starts
 * there. Only idempotent requests are retried on another endpoint: a write that timed out may have
 * been applied, and replaying it blindly could apply it twice (GUARANTEES L15).
 */
export class HttpTransport {
  readonly endpoints: readonly string[];
  private readonly timeoutMs: number;
  private preferred = 0;

  constructor(opts: ClientOptions) {
    if (opts.endpoints.length === 0) throw new TypeError('at least one endpoint is required');
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  /**
   * POSTs `body` as JSON to `path` and returns the parsed success body. With `endpoint`, only that
   * endpoint is asked. Throws KeywardError.
   */
  async call(path: string, body: unknown, idempotent: boolean, endpoint?: string): Promise<unknown> {
    const text = JSON.stringify(body);
    const candidates = endpoint !== undefined ? [endpoint.replace(/\/+$/, '')] : this.order(idempotent);
    let lastError: unknown;
    for (const ep of candidates) {
      let res: Response;
      try {
        res = await this.fetchOnce(ep, path, text);
      } catch (err) {
        lastError = err;
        continue;
      }
      const json: unknown = await res.json().catch(() => undefined);
      if (res.ok) {
        const i = this.endpoints.indexOf(ep);
        if (i >= 0) this.preferred = i;
        return json;
      }
      const e = json === undefined ? undefined : safeErrorBody(json);
      if (e === undefined) throw new KeywardError('UNKNOWN', 2, res.status, `HTTP ${res.status} from ${ep}${path}`);
      throw new KeywardError(BY_MESSAGE.get(e.message) ?? 'UNKNOWN', e.code, res.status, e.message);
    }
    throw new KeywardError('UNAVAILABLE', 14, 0, `no endpoint answered ${path}: ${describe(lastError)}`);
  }

  /** A plain GET (`/version`, `/health`) to one endpoint, the preferred one by default. */
  get(path: string, endpoint?: string): Promise<Response> {
    return this.fetchOnce(endpoint ?? (this.endpoints[this.preferred] as string), path, undefined);
  }

  private order(idempotent: boolean): string[] {
    const first = this.endpoints[this.preferred] as string;
    if (!idempotent) return [first];
    return [first, ...this.endpoints.filter((e) => e !== first)];
  }

  private fetchOnce(endpoint: string, path: string, body: string | undefined): Promise<Response> {
    return fetch(endpoint + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
  }
}

/** fetch's "fetch failed" says little; its cause says what (connection refused, timeout). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? err.cause.message : undefined;
  return cause === undefined || cause === err.message ? err.message : `${err.message} (${cause})`;
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

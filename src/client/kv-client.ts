import {
  EtcdError,
  decodeCompactionResponse,
  decodeDeleteRangeResponse,
  decodeErrorBody,
  decodePutResponse,
  decodeRangeResponse,
  decodeStatusResponse,
  decodeTxnResponse,
  encodeCompactionRequest,
  encodeDeleteRangeRequest,
  encodePutRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type EtcdErrorName,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
  type VersionResponse,
} from '../wire/index.js';
import { deleteRangeRequest, putRequest, rangeRequest, txnRequest, type Partial1 } from './requests.js';

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
    readonly code: EtcdErrorName | 'UNKNOWN' | 'UNAVAILABLE',
    /** gRPC status code from the body (14 for transport failures). */
    readonly grpcCode: number,
    /** HTTP status, 0 when no response arrived. */
    readonly httpStatus: number,
    message: string,
  ) {
    super(message);
  }
}

const BY_MESSAGE = new Map<string, EtcdErrorName>(
  (Object.entries(EtcdError) as Array<[EtcdErrorName, { message: string }]>).map(([name, e]) => [e.message, name]),
);

/**
 * The KV client over etcd's v3 JSON API. Only reads are retried on another endpoint: a write that
 * timed out may have been applied, and replaying it blindly could apply it twice (GUARANTEES L15).
 */
export class KvClient {
  private readonly endpoints: string[];
  private readonly timeoutMs: number;
  private preferred = 0;

  constructor(opts: ClientOptions) {
    if (opts.endpoints.length === 0) throw new TypeError('at least one endpoint is required');
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  async range(req: Partial1<RangeRequest, 'key'>): Promise<RangeResponse> {
    return decodeRangeResponse(await this.call('/v3/kv/range', encodeRangeRequest(rangeRequest(req)), true));
  }

  async put(req: Partial1<PutRequest, 'key'>): Promise<PutResponse> {
    return decodePutResponse(await this.call('/v3/kv/put', encodePutRequest(putRequest(req)), false));
  }

  async deleteRange(req: Partial1<DeleteRangeRequest, 'key'>): Promise<DeleteRangeResponse> {
    return decodeDeleteRangeResponse(
      await this.call('/v3/kv/deleterange', encodeDeleteRangeRequest(deleteRangeRequest(req)), false),
    );
  }

  async txn(req: Partial<TxnRequest>): Promise<TxnResponse> {
    return decodeTxnResponse(await this.call('/v3/kv/txn', encodeTxnRequest(txnRequest(req)), false));
  }

  async compact(req: { revision: number; physical?: boolean }): Promise<CompactionResponse> {
    const full: CompactionRequest = { revision: req.revision, physical: req.physical ?? false };
    return decodeCompactionResponse(await this.call('/v3/kv/compaction', encodeCompactionRequest(full), false));
  }

  async status(endpoint?: string): Promise<StatusResponse> {
    return decodeStatusResponse(await this.call('/v3/maintenance/status', {}, true, endpoint));
  }

  async version(endpoint?: string): Promise<VersionResponse> {
    const res = await this.fetchOnce(endpoint ?? this.endpoints[this.preferred]!, '/version', undefined);
    const body = (await res.json()) as VersionResponse;
    return body;
  }

  private async call(path: string, body: unknown, idempotent: boolean, endpoint?: string): Promise<unknown> {
    const text = JSON.stringify(body);
    const candidates = endpoint !== undefined ? [endpoint] : this.order(idempotent);
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
        this.preferred = this.endpoints.indexOf(ep);
        return json;
      }
      const e = json === undefined ? undefined : safeErrorBody(json);
      if (e === undefined) throw new KeywardError('UNKNOWN', 2, res.status, `HTTP ${res.status} from ${ep}${path}`);
      throw new KeywardError(BY_MESSAGE.get(e.message) ?? 'UNKNOWN', e.code, res.status, e.message);
    }
    throw new KeywardError('UNAVAILABLE', 14, 0, `no endpoint answered ${path}: ${String((lastError as Error)?.message ?? lastError)}`);
  }

  private order(idempotent: boolean): string[] {
    const first = this.endpoints[this.preferred]!;
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

function safeErrorBody(json: unknown): { message: string; code: number } | undefined {
  try {
    return decodeErrorBody(json);
  } catch {
    return undefined;
  }
}

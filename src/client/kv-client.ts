import {
  decodeCompactionResponse,
  decodeDeleteRangeResponse,
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
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
  type VersionResponse,
} from '../wire/index.js';
import { HttpTransport, type ClientOptions } from './http.js';
import { deleteRangeRequest, putRequest, rangeRequest, txnRequest, type Partial1 } from './requests.js';
import { WatchClient, type Watch, type WatchClientOptions, type WatchOptions } from './watch.js';

export { KeywardError, type ClientOptions } from './http.js';

/**
 * The KV client over etcd's v3 JSON API. Only reads are retried on another endpoint: a write that
 * timed out may have been applied, and replaying it blindly could apply it twice (GUARANTEES L15).
 */
export class KvClient {
  private readonly http: HttpTransport;
  private readonly watchOptions: WatchClientOptions;
  private watches: WatchClient | undefined;

  /**
   * `watch` holds the options of watches opened with watch(); endpoints, TLS and token are this
   * client's (one login serves both).
   */
  constructor(opts: ClientOptions & { watch?: Omit<WatchClientOptions, 'endpoints' | 'tls' | 'token' | 'auth'> }) {
    this.http = new HttpTransport(opts);
    this.watchOptions = { ...opts.watch, endpoints: [...this.http.endpoints] };
  }

  /** Watches a key or range with resume across member failures (see WatchClient). */
  watch(key: Uint8Array | string, opts: WatchOptions = {}): Watch {
    this.watches ??= new WatchClient(this.watchOptions, this.http);
    return this.watches.watch(key, opts);
  }

  /** Closes open watches and idle connections. */
  async close(): Promise<void> {
    await this.watches?.close();
    this.http.close();
  }

  async range(req: Partial1<RangeRequest, 'key'>): Promise<RangeResponse> {
    return decodeRangeResponse(await this.http.call('/v3/kv/range', encodeRangeRequest(rangeRequest(req)), true));
  }

  async put(req: Partial1<PutRequest, 'key'>): Promise<PutResponse> {
    return decodePutResponse(await this.http.call('/v3/kv/put', encodePutRequest(putRequest(req)), false));
  }

  async deleteRange(req: Partial1<DeleteRangeRequest, 'key'>): Promise<DeleteRangeResponse> {
    return decodeDeleteRangeResponse(
      await this.http.call('/v3/kv/deleterange', encodeDeleteRangeRequest(deleteRangeRequest(req)), false),
    );
  }

  async txn(req: Partial<TxnRequest>): Promise<TxnResponse> {
    return decodeTxnResponse(await this.http.call('/v3/kv/txn', encodeTxnRequest(txnRequest(req)), false));
  }

  async compact(req: { revision: number; physical?: boolean }): Promise<CompactionResponse> {
    const full: CompactionRequest = { revision: req.revision, physical: req.physical ?? false };
    return decodeCompactionResponse(await this.http.call('/v3/kv/compaction', encodeCompactionRequest(full), false));
  }

  async status(endpoint?: string): Promise<StatusResponse> {
    return decodeStatusResponse(await this.http.call('/v3/maintenance/status', {}, true, endpoint));
  }

  async version(endpoint?: string): Promise<VersionResponse> {
    const res = await this.http.get('/version', endpoint);
    return res.json as VersionResponse;
  }
}

import {
  KvStore,
  validateDeleteRange,
  validatePut,
  validateRange,
  validateTxn,
  type WriteRequest,
} from '../mvcc/index.js';
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnRequest,
  TxnResponse,
} from '../wire/index.js';
import { ApplyLoop } from './apply-loop.js';
import { ServerError } from './errors.js';
import { clusterIdFor, memberIdFor } from './identity.js';
import { proposalSize } from './proposal-size.js';

/** The etcd API version Keyward answers as, so etcd tooling that checks versions accepts it. */
export const ETCD_API_VERSION = '3.4.0';

export interface ServerOptions {
  name: string;
  dataDir: string;
  /** Peer URLs this member advertises; with the cluster token they determine the member ID. */
  advertisePeerUrls: string[];
  clusterToken: string;
  maxRequestBytes: number;
  maxTxnOps: number;
  /** Storage failed in a way the member cannot recover from; the owner should stop the process. */
  onFatal?: (err: unknown) => void;
}

type Header = Pick<ResponseHeader, 'revision'>;

/**
 * The composition root of one member: validation, the write path through the apply loop, reads
 * against durable state, and the response header. No HTTP and no encoding live here.
 */
export class KeywardServer {
  readonly memberId: bigint;
  readonly clusterId: bigint;
  private readonly raftTerm = 1;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly opts: ServerOptions,
    private readonly kv: KvStore,
    private readonly loop: ApplyLoop,
  ) {
    this.memberId = memberIdFor(opts.advertisePeerUrls, opts.clusterToken);
    this.clusterId = clusterIdFor([this.memberId]);
  }

  static async open(opts: ServerOptions): Promise<KeywardServer> {
    const kv = KvStore.open(opts.dataDir);
    let server: KeywardServer | undefined;
    const loop = new ApplyLoop(kv, {
      onFatal: (err) => {
        opts.onFatal?.(err);
        void server?.close();
      },
    });
    server = new KeywardServer(opts, kv, loop);
    return server;
  }

  get name(): string {
    return this.opts.name;
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    validateRange(req);
    const res = await this.loop.read((view) => this.kv.range(req, view.asOf));
    return { ...res, header: this.header(res.header) };
  }

  async put(req: PutRequest): Promise<PutResponse> {
    validatePut(req);
    return this.write({ type: 'put', put: req }) as Promise<PutResponse>;
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    validateDeleteRange(req);
    return this.write({ type: 'deleteRange', deleteRange: req }) as Promise<DeleteRangeResponse>;
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    validateTxn(req, this.opts.maxTxnOps);
    return this.write({ type: 'txn', txn: req }) as Promise<TxnResponse>;
  }

  async compact(req: CompactionRequest): Promise<CompactionResponse> {
    return this.write({ type: 'compaction', compaction: req }) as Promise<CompactionResponse>;
  }

  async status(): Promise<StatusResponse> {
    return this.loop.read((view) => {
      const stats = this.kv.stats();
      return {
        header: this.header({ revision: view.asOf ?? this.kv.currentRevision }),
        version: ETCD_API_VERSION,
        dbSize: stats.dbSize,
        leader: this.memberId,
        raftIndex: view.appliedIndex,
        raftTerm: this.raftTerm,
        raftAppliedIndex: view.appliedIndex,
        dbSizeInUse: stats.dbSizeInUse,
        errors: [],
        isLearner: false,
      };
    });
  }

  /** Stops accepting work, waits for accepted writes to become durable, closes storage. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.loop.close();
      await this.kv.close();
    })();
    return this.closing;
  }

  private async write(request: WriteRequest): Promise<{ header: ResponseHeader }> {
    if (proposalSize(request) > this.opts.maxRequestBytes) {
      throw new ServerError('REQUEST_TOO_LARGE', 'request is too large');
    }
    const result = await this.loop.propose(request);
    if (!result.ok) {
      // Fresh entries always get a new index, so "skipped" (a replayed entry) cannot happen here.
      if (result.skipped) throw new TypeError('apply skipped a freshly proposed entry');
      throw result.error;
    }
    const res = result.response;
    return { ...res, header: this.header(res.header) };
  }

  private header(h: Header): ResponseHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: h.revision, raftTerm: this.raftTerm };
  }
}

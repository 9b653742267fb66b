// Request builders and a store fixture for the mvcc tests.
import type {
  Compare,
  CompareOperand,
  DeleteRangeRequest,
  KeyValue,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../../src/wire/index.js';
import { KvStore, type WriteRequest, type WriteResult, type ApplyResult, type KvStoreOptions } from '../../src/mvcc/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (u: Uint8Array): string => new TextDecoder().decode(u);
export const ZERO = Uint8Array.of(0);

export function rangeReq(key: string | Uint8Array, o: Partial<Omit<RangeRequest, 'key' | 'rangeEnd'>> & { end?: string | Uint8Array } = {}): RangeRequest {
  const { end, ...rest } = o;
  return {
    key: typeof key === 'string' ? enc(key) : key,
    rangeEnd: end === undefined ? new Uint8Array(0) : typeof end === 'string' ? enc(end) : end,
    limit: 0,
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...rest,
  };
}

export function putReq(key: string | Uint8Array, value: string | Uint8Array = '', o: Partial<Omit<PutRequest, 'key' | 'value'>> = {}): PutRequest {
  return {
    key: typeof key === 'string' ? enc(key) : key,
    value: typeof value === 'string' ? enc(value) : value,
    lease: 0n,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
    ...o,
  };
}

export function delReq(key: string | Uint8Array, end?: string | Uint8Array, prevKv = false): DeleteRangeRequest {
  return {
    key: typeof key === 'string' ? enc(key) : key,
    rangeEnd: end === undefined ? new Uint8Array(0) : typeof end === 'string' ? enc(end) : end,
    prevKv,
  };
}

export function cmp(
  key: string,
  target: Compare['target'],
  result: Compare['result'],
  operand: CompareOperand,
  end?: string | Uint8Array,
): Compare {
  return {
    key: enc(key),
    rangeEnd: end === undefined ? new Uint8Array(0) : typeof end === 'string' ? enc(end) : end,
    target,
    result,
    operand,
  };
}

export function txnReq(compare: Compare[], success: RequestOp[], failure: RequestOp[] = []): TxnRequest {
  return { compare, success, failure };
}

export const op = {
  range: (r: RangeRequest): RequestOp => ({ type: 'range', range: r }),
  put: (r: PutRequest): RequestOp => ({ type: 'put', put: r }),
  del: (r: DeleteRangeRequest): RequestOp => ({ type: 'deleteRange', deleteRange: r }),
  txn: (r: TxnRequest): RequestOp => ({ type: 'txn', txn: r }),
  none: (): RequestOp => ({ type: 'none' }),
};

export const w = {
  put: (key: string, value = '', o: Partial<PutRequest> = {}): WriteRequest => ({ type: 'put', put: putReq(key, value, o) }),
  del: (key: string, end?: string | Uint8Array, prevKv = false): WriteRequest => ({ type: 'deleteRange', deleteRange: delReq(key, end, prevKv) }),
  txn: (t: TxnRequest): WriteRequest => ({ type: 'txn', txn: t }),
  compact: (revision: number, physical = false): WriteRequest => ({ type: 'compaction', compaction: { revision, physical } }),
};

/** Short readable form of a KeyValue: key=value@create/mod/vVersion[+lease]. */
export function show(kv: KeyValue | undefined): string {
  if (kv === undefined) return '-';
  const lease = kv.lease === 0n ? '' : `+L${kv.lease}`;
  return `${dec(kv.key)}=${dec(kv.value)}@${kv.createRevision}/${kv.modRevision}/v${kv.version}${lease}`;
}

/** A store in a temp dir that applies requests one entry at a time with increasing indexes. */
export class Fixture {
  readonly dir = makeTmpDir('keyward-mvcc-');
  store: KvStore;
  nextIndex = 1;
  constructor(readonly opts: KvStoreOptions = {}) {
    this.store = KvStore.open(this.dir.sub('data'), opts);
  }

  async batch(reqs: WriteRequest[]): Promise<ApplyResult> {
    const entries = reqs.map((request) => ({ index: this.nextIndex++, request }));
    return this.store.apply(entries);
  }

  /** Applies one request; returns its result. */
  async do(req: WriteRequest): Promise<WriteResult> {
    return (await this.batch([req])).results[0]!;
  }

  /** Applies one request that must succeed; returns its response. */
  async ok<T = unknown>(req: WriteRequest): Promise<T> {
    const r = await this.do(req);
    if (!r.ok) throw new Error(`expected success, got ${r.skipped ? 'skipped' : r.error.code}`);
    return r.response as T;
  }

  /** Applies one request that must fail; returns the error code. */
  async fail(req: WriteRequest): Promise<string> {
    const r = await this.do(req);
    if (r.ok || r.skipped) throw new Error('expected an error');
    return r.error.code;
  }

  async reopen(): Promise<void> {
    await this.store.close();
    this.store = KvStore.open(this.dir.sub('data'), this.opts);
  }

  get(key: string, revision = 0): string {
    const r = this.store.range(rangeReq(key, { revision }));
    return r.kvs.length === 0 ? '-' : show(r.kvs[0]);
  }

  keys(key: string, end: string | Uint8Array, o: Partial<RangeRequest> = {}): string[] {
    return this.store.range(rangeReq(key, { end, ...o })).kvs.map((kv) => dec(kv.key));
  }

  async close(): Promise<void> {
    await this.store.close();
    this.dir.cleanup();
  }
}

export async function withFixture(fn: (f: Fixture) => Promise<void>, opts?: KvStoreOptions): Promise<void> {
  const f = new Fixture(opts);
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

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
import { Storage, SUB_DBS } from '../../src/storage/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { rangeRequest } from '../../src/client/index.js';
import { decodeRecord, decodeMeta, META_STATE_KEY } from '../../src/mvcc/codec.js';
import { decodeRevision } from '../../src/mvcc/revision.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (u: Uint8Array): string => new TextDecoder().decode(u);
export const ZERO = Uint8Array.of(0);

export function rangeReq(key: string | Uint8Array, o: Partial<Omit<RangeRequest, 'key' | 'rangeEnd'>> & { end?: string | Uint8Array } = {}): RangeRequest {
  const { end, ...rest } = o;
  return rangeRequest({
    key: typeof key === 'string' ? enc(key) : key,
    rangeEnd: end === undefined ? new Uint8Array(0) : typeof end === 'string' ? enc(end) : end,
    ...rest,
  });
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

/**
 * A store in a temp dir that applies requests one entry at a time with increasing indexes. The
 * fixture owns the Storage so tests can inspect the raw sub-databases (checkInvariants).
 */
export class Fixture {
  readonly dir = makeTmpDir('keyward-mvcc-');
  storage: Storage;
  store: KvStore;
  nextIndex = 1;
  constructor(readonly opts: KvStoreOptions = {}) {
    this.storage = Storage.open(this.dir.sub('data'));
    this.store = KvStore.inStorage(this.storage, opts);
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

  /** Closes everything and opens the same directory again. */
  async reopen(): Promise<void> {
    await this.store.close();
    await this.storage.close();
    this.storage = Storage.open(this.dir.sub('data'));
    this.store = KvStore.inStorage(this.storage, this.opts);
  }

  get(key: string, revision = 0): string {
    const r = this.store.range(rangeReq(key, { revision }));
    return r.kvs.length === 0 ? '-' : show(r.kvs[0]);
  }

  keys(key: string, end: string | Uint8Array, o: Partial<RangeRequest> = {}): string[] {
    return this.store.range(rangeReq(key, { end, ...o })).kvs.map((kv) => dec(kv.key));
  }

  /** The key index as "key@main.sub[t]" strings, in index order. */
  index(): string[] {
    return this.store.indexEntries().map((e) => `${dec(e.key)}@${e.main}.${e.sub}${e.tombstone ? 't' : ''}`);
  }

  /** Revisions present in the kv history, as "main.sub". */
  history(): string[] {
    return [...this.storage.table(SUB_DBS.mvccKv).keys()].map((k) => {
      const r = decodeRevision(k);
      return `${r.main}.${r.sub}`;
    });
  }

  /** Checks the invariants I1-I4 of src/mvcc/keyindex.ts: the store's index against the raw tables. */
  checkInvariants(): void {
    checkInvariants(this.storage, this.store);
  }

  async close(): Promise<void> {
    await this.store.close();
    await this.storage.close();
    this.dir.cleanup();
  }
}

export function checkInvariants(storage: Storage, store: KvStore): void {
  const fail = (m: string): never => {
    throw new Error(`invariant violated: ${m}`);
  };
  const kvT = storage.table(SUB_DBS.mvccKv);
  const metaBuf = storage.table(SUB_DBS.mvccMeta).get(META_STATE_KEY);
  const meta = metaBuf ? decodeMeta(metaBuf) : { appliedIndex: 0, currentRevision: 1, compactRevision: -1 };
  const history = new Map<string, ReturnType<typeof decodeRecord>>();
  for (const e of kvT.range()) {
    const r = decodeRevision(e.key);
    const rec = decodeRecord(e.value);
    if (rec.modRevision !== r.main) fail(`record ${r.main}.${r.sub} has modRevision ${rec.modRevision}`);
    if (r.main > meta.currentRevision) fail(`record ${r.main} beyond current revision ${meta.currentRevision}`);
    history.set(`${r.main}.${r.sub}`, rec);
  }
  const byKey = new Map<string, { rev: string; main: number; tomb: boolean }[]>();
  let matched = 0;
  let prevKey: string | undefined;
  for (const e of store.indexEntries()) {
    const rev = `${e.main}.${e.sub}`;
    const rec = history.get(rev);
    if (!rec) fail(`I2: index entry ${dec(e.key)}@${rev} has no history record`);
    if (Buffer.compare(rec!.key, e.key) !== 0 || rec!.tombstone !== e.tombstone) fail(`I2: index entry ${rev} disagrees with its record`);
    matched++;
    const k = Buffer.from(e.key).toString('latin1');
    if (prevKey !== undefined && k < prevKey) fail(`index out of key order at ${dec(e.key)}`);
    prevKey = k;
    const list = byKey.get(k) ?? [];
    const last = list[list.length - 1];
    if (last !== undefined && (last.main > e.main || (last.main === e.main && Number(last.rev.split('.')[1]) >= e.sub))) fail(`I1: ${dec(e.key)} out of revision order at ${rev}`);
    list.push({ rev, main: e.main, tomb: e.tombstone });
    byKey.set(k, list);
  }
  if (matched !== history.size) fail(`I2: ${history.size} history records but ${matched} index entries`);
  for (const [k, list] of byKey) {
    // I1: generations are consistent (create revision and version arithmetic).
    for (let i = 1; i < list.length; i++) {
      const a = history.get(list[i - 1]!.rev)!;
      const b = history.get(list[i]!.rev)!;
      if (b.tombstone) continue;
      if (a.tombstone) {
        if (b.version !== 1 || b.createRevision !== b.modRevision) fail(`I1: ${k}@${list[i]!.rev} starts a generation badly`);
      } else if (b.version !== a.version + 1 || b.createRevision !== a.createRevision) {
        fail(`I1: ${k}@${list[i]!.rev} does not continue its generation`);
      }
    }
    // I4
    if (meta.compactRevision >= 0) {
      const upTo = list.filter((x) => x.main <= meta.compactRevision);
      if (upTo.length > 1 || (upTo.length === 1 && upTo[0]!.tomb && upTo[0]!.main !== meta.compactRevision)) fail(`I4: ${k} keeps ${upTo.map((x) => x.rev)} at compaction ${meta.compactRevision}`);
    }
  }
  // The on-disk index of mvcc format 1 is retired: its tables stay empty.
  for (const name of [SUB_DBS.mvccLatest, SUB_DBS.mvccKeyRevs]) {
    if (storage.table(name).count() !== 0) fail(`retired table ${name} is not empty`);
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

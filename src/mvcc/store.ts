// KvStore: etcd v3 KV semantics over two LMDB sub-databases and an index in memory.
//
//   kv       16-byte revision → history record (codec.ts); one per put or per-key deletion
//   meta     applied index, current revision, compact revision (codec.ts)
//   index    (memory) user key → the revisions it was written at, with generations
//            (keyindex.ts); rebuilt from `kv` at open and after a snapshot replaced the state
//
// Writes arrive only through `apply`, as Raft log entries: one LMDB write transaction per batch,
// with the applied index in the same transaction as the data, resolving once flushed. Because the
// applied index commits atomically with the changes, re-applying an entry is recognised (index <=
// appliedIndex) and skipped, across restarts too.
import type {
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  TxnRequest,
  TxnResponse,
} from '../wire/index.js';
import { Storage, SUB_DBS, type Durability, type StorageOptions, type StorageStats, type WriteTxn } from '../storage/index.js';
import { CorruptError, MvccError } from './errors.js';
import { decodeMeta, decodeRecord, encodeMeta, META_STATE_KEY, type MetaState } from './codec.js';
import { Reader, header, type Tables } from './reader.js';
import { KeyIndex } from './keyindex.js';
import { decodeRevision } from './revision.js';
import { Writer } from './writer.js';
import { readHistory, type ChangeEvent, type HistoryPage } from './events.js';
import { equalBytes } from './bytes.js';
import { DEFAULT_MAX_TXN_OPS, validateDeleteRange, validatePut, validateRange, validateTxn } from './validate.js';
import type { ExternalChange, ExternalRejection, ExternalResponse, LeaseAttachments, ObservedRequest, UsageObserver } from './external.js';
import { UndoLog } from './undo.js';

export type WriteRequest =
  | { type: 'put'; put: PutRequest }
  | { type: 'deleteRange'; deleteRange: DeleteRangeRequest }
  | { type: 'txn'; txn: TxnRequest }
  | { type: 'compaction'; compaction: CompactionRequest };

export type WriteResponse = PutResponse | DeleteRangeResponse | TxnResponse | CompactionResponse | ExternalResponse;

/** A log entry of another module (leases) applied in the same batch: see external.ts. */
export interface ExternalRequest {
  type: 'external';
  external: ExternalChange;
}

/**
 * The outcome of one entry. `skipped` marks an entry whose index was already applied (a replay):
 * nothing was done and there is no response to give; whoever proposed it was answered the first
 * time.
 */
export type WriteResult =
  | { ok: true; response: WriteResponse }
  | { ok: false; skipped: false; error: MvccError | ExternalRejection }
  | { ok: false; skipped: true };

export interface Entry {
  /** Raft log index: positive, increasing within and across batches. */
  index: number;
  request: WriteRequest | ExternalRequest;
  /**
   * A check run inside the batch right before the entry, after the batch's earlier entries
   * (auth at apply time: an earlier entry of the same batch may have revoked a permission). A
   * rejection refuses the entry before it writes anything; the entry still counts as applied.
   */
  guard?: () => ExternalRejection | undefined;
}

export interface ApplyResult {
  /** One per entry, in order. */
  results: WriteResult[];
  /** One list per entry, in order; empty for reads, errors, skipped entries and compactions. */
  events: ChangeEvent[][];
}

export interface KvStoreOptions {
  /** etcd's --max-txn-ops. Must be the same on every member (apply re-validates with it). */
  maxTxnOps?: number;
  storage?: StorageOptions;
  /** The lease table: puts check their lease and keys are attached and detached. Absent: unchecked. */
  leases?: LeaseAttachments;
  /** Storage accounting (tenant usage and quotas): hears every key change, may refuse an entry. */
  usage?: UsageObserver;
}

const FRESH: MetaState = { appliedIndex: 0, currentRevision: 1, compactRevision: -1 };
const SKIPPED: WriteResult = { ok: false, skipped: true };
const EXTERNAL: ObservedRequest = { type: 'external' };

export class KvStore {
  private readonly tables: Tables;
  private readonly index = new KeyIndex();
  private readonly reader: Reader;
  private readonly maxTxnOps: number;
  private readonly leases: LeaseAttachments | undefined;
  private readonly usage: UsageObserver | undefined;
  private applying = false;
  private inflight: Promise<ApplyResult> | undefined;
  private metaCache: { bytes: Uint8Array; state: MetaState } | undefined;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly storage: Storage,
    private readonly ownsStorage: boolean,
    opts: KvStoreOptions,
  ) {
    this.maxTxnOps = opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    if (!Number.isSafeInteger(this.maxTxnOps) || this.maxTxnOps < 1) throw new TypeError('maxTxnOps must be a positive integer');
    this.leases = opts.leases;
    this.usage = opts.usage;
    this.tables = {
      kv: storage.table(SUB_DBS.mvccKv),
      meta: storage.table(SUB_DBS.mvccMeta),
    };
    this.reader = new Reader(this.tables, this.index);
    this.reload();
  }

  /**
   * Rebuilds the key index from `kv` (at open, and after a snapshot replaced the tables behind
   * this store's back). Fails if the state is unreadable, so at open rather than at the first
   * request. Empties the index tables of mvcc format 1 if a directory or snapshot still has them.
   */
  reload(): void {
    if (this.applying) throw new TypeError('KvStore.reload called during an apply');
    this.rebuild();
    this.dropRetiredTables();
  }

  private rebuild(): void {
    this.metaCache = undefined;
    const hasMeta = this.tables.meta.get(META_STATE_KEY) !== undefined;
    const m = this.meta();
    if (!hasMeta && this.tables.kv.count() !== 0) throw new CorruptError('history present but no meta record');
    this.index.clear(m.compactRevision);
    for (const e of this.tables.kv.range()) {
      const rev = decodeRevision(e.key);
      const rec = decodeRecord(e.value, false);
      if (rec.modRevision !== rev.main) throw new CorruptError(`history record at ${rev.main}.${rev.sub} claims ${rec.modRevision}`);
      if (rev.main > m.currentRevision) throw new CorruptError(`history record at ${rev.main} beyond the current revision ${m.currentRevision}`);
      this.index.load(rec.key, rev.main, rev.sub, rec.tombstone);
    }
  }

  /** Format 1 kept the index in two tables; their content is derived from `kv`, so it goes. */
  private dropRetiredTables(): void {
    const retired = [SUB_DBS.mvccLatest, SUB_DBS.mvccKeyRevs].filter((n) => this.storage.has(n)).map((n) => this.storage.table(n));
    const keys = retired.map((t) => [...t.keys()]);
    if (keys.every((k) => k.length === 0)) return;
    this.storage.transactSync((txn) => {
      retired.forEach((t, i) => {
        for (const k of keys[i]!) txn.remove(t, k);
      });
    });
  }

  /** Opens (creating if needed) a store in its own LMDB environment in `dir`; close() closes it. */
  static open(dir: string, opts: KvStoreOptions = {}): KvStore {
    const storage = Storage.open(dir, opts.storage);
    try {
      return new KvStore(storage, true, opts);
    } catch (err) {
      void storage.close();
      throw err;
    }
  }

  /** A store in an environment someone else owns (and closes); close() only detaches. */
  static inStorage(storage: Storage, opts: KvStoreOptions = {}): KvStore {
    return new KvStore(storage, false, opts);
  }

  /** Revision of the last write (1 on a fresh store). */
  get currentRevision(): number {
    this.assertOpen();
    return this.meta().currentRevision;
  }

  /** Revision of the last finished compaction; -1 if none has run (compaction at 0 is allowed). */
  get compactRevision(): number {
    this.assertOpen();
    return this.meta().compactRevision;
  }

  /** Index of the last applied entry (0 on a fresh store). */
  get appliedIndex(): number {
    this.assertOpen();
    return this.meta().appliedIndex;
  }

  /**
   * Reads the latest committed state. header.revision is the current revision (also for a
   * historical read); the other header fields are 0 for the server to fill. Throws MvccError for
   * rejected requests and TypeError for malformed ones.
   */
  range(req: RangeRequest, asOf?: number): RangeResponse {
    this.assertOpen();
    validateRange(req);
    // Meta and data come from the same read snapshot, so the header matches the data.
    const m = this.meta();
    const compactRev = Math.max(m.compactRevision, this.index.compactedAt);
    if (asOf === undefined || asOf >= m.currentRevision) return this.reader.range(req, m.currentRevision, compactRev);
    // The store as it was at `asOf`: revisions after it do not exist for this read, so reading
    // "now" means reading at asOf, and asking for a later revision is asking for the future.
    if (!Number.isSafeInteger(asOf) || asOf < 1) throw new TypeError('asOf must be a positive integer');
    const asked = req.revision > 0 ? req.revision : asOf;
    return this.reader.range({ ...req, revision: asked }, asOf, compactRev);
  }

  /**
   * Applies a batch of committed log entries in ONE write transaction together with the new
   * applied index, and resolves once that transaction is flushed (durable). Entries at or below
   * the applied index are skipped. A rejected entry records its MvccError, writes nothing, and
   * still advances the applied index; the batch goes on. Rejects (and writes nothing of the whole
   * batch) only on misuse (TypeError: malformed request, overlapping calls) or corruption.
   * Callers must wait for one call to settle before the next.
   *
   * `durability` 'committed' commits on the calling thread (see commitNow); the caller owns
   * durability (the Raft log). The member itself applies with applyInBatch.
   */
  async apply(entries: Entry[], durability: Durability = 'flushed'): Promise<ApplyResult> {
    this.checkApply(entries);
    if (entries.length === 0) return { results: [], events: [] };
    this.applying = true;
    const run = durability === 'committed' ? (async () => this.commitNow(entries))() : this.transactFlushed(entries);
    this.inflight = run;
    try {
      return await run;
    } finally {
      this.applying = false;
      this.inflight = undefined;
    }
  }

  /**
   * apply() for a caller that owns the write transaction (the member's batch, Storage.batchSync
   * or batchAsync): the writes join it, so the result is visible — and durable — exactly when
   * the caller's transaction is. Synchronous.
   */
  applyInBatch(entries: Entry[]): ApplyResult {
    this.checkApply(entries);
    if (entries.length === 0) return { results: [], events: [] };
    return this.commitNow(entries);
  }

  private checkApply(entries: readonly Entry[]): void {
    this.assertOpen();
    if (this.applying) throw new TypeError('KvStore.apply called before the previous apply settled');
    for (const e of entries) {
      if (!Number.isSafeInteger(e.index) || e.index < 1) throw new TypeError(`entry index ${String(e.index)} is not a positive integer`);
    }
  }

  /**
   * One transaction on the calling thread, joined to the caller's batch when there is one. Alone,
   * LMDB's overlapping sync still fdatasyncs on this thread before the commit returns (see
   * Storage.transactSync), so a caller that can should join a batch.
   */
  private commitNow(entries: Entry[]): ApplyResult {
    let ran = false;
    try {
      return this.storage.transactSync((txn) => {
        const out = this.applyBatch(txn, entries);
        ran = true;
        return out;
      }, 'deferred');
    } catch (err) {
      // Joined to a caller's batch, a failure after fn is the caller's (its member stops);
      // alone, a commit that failed after fn returned left the index ahead of `kv`.
      if (ran && !this.storage.inBatch) this.rebuild();
      throw err;
    }
  }

  /** An asynchronous transaction (lmdb-js's write worker); a failed commit rebuilds the index. */
  private async transactFlushed(entries: Entry[]): Promise<ApplyResult> {
    let ran = false;
    try {
      return await this.storage.transact('flushed', (txn) => {
        const out = this.applyBatch(txn, entries);
        ran = true;
        return out;
      });
    } catch (err) {
      if (ran) this.rebuild();
      throw err;
    }
  }

  /**
   * Change events of revisions >= fromRevision, for watch catch-up: at most about `limit` events
   * (default 1000; a page never splits a revision), then `nextRevision` to continue from.
   * prevKv is looked up only when asked. fromRevision below the compact revision is COMPACTED
   * (those events are gone); beyond the current revision gives an empty page.
   */
  changes(fromRevision: number, opts: { limit?: number; prevKv?: boolean } = {}): HistoryPage {
    this.assertOpen();
    if (!Number.isSafeInteger(fromRevision) || fromRevision < 1) throw new TypeError('fromRevision must be a positive integer');
    const limit = opts.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
    const m = this.meta();
    if (fromRevision < Math.max(m.compactRevision, this.index.compactedAt)) throw new MvccError('COMPACTED');
    return readHistory(this.tables, this.index, fromRevision, m.currentRevision, limit, opts.prevKv ?? false);
  }

  /** Every key index entry, in key then revision order (tests and invariant checks). */
  indexEntries(): Array<{ key: Uint8Array; main: number; sub: number; tombstone: boolean }> {
    this.assertOpen();
    return [...this.index.all()].map((e) => ({ key: e.key, main: e.rev.main, sub: e.rev.sub, tombstone: e.tombstone }));
  }

  /** Resolves once every batch committed before the call is on disk. */
  flushed(): Promise<void> {
    this.assertOpen();
    return this.storage.flushed();
  }

  stats(): StorageStats {
    this.assertOpen();
    return this.storage.stats();
  }

  /** Waits for an in-flight apply, then closes the environment if this store opened it. Idempotent. */
  close(): Promise<void> {
    if (!this.closing) {
      const inflight = this.inflight;
      this.closing = (async () => {
        if (inflight) await inflight.catch(() => undefined);
        if (this.ownsStorage) await this.storage.close();
      })();
    }
    return this.closing;
  }

  /** Applies entries inside `txn`, journaling the index's changes so that a throw takes them back. */
  private applyBatch(txn: WriteTxn, entries: Entry[]): ApplyResult {
    this.index.begin();
    try {
      return this.applyEntries(txn, entries);
    } catch (err) {
      this.index.rollback();
      throw err;
    } finally {
      this.index.end();
    }
  }

  private applyEntries(txn: WriteTxn, entries: Entry[]): ApplyResult {
    const state = this.meta();
    const results: WriteResult[] = [];
    const events: ChangeEvent[][] = [];
    let applied = false;
    for (const entry of entries) {
      if (entry.index <= state.appliedIndex) {
        results.push(SKIPPED);
        events.push([]);
        continue;
      }
      const refusal = entry.guard?.();
      if (refusal !== undefined) {
        results.push({ ok: false, skipped: false, error: refusal });
        events.push([]);
        state.appliedIndex = entry.index;
        applied = true;
        continue;
      }
      const request = entry.request;
      const session = this.usage?.begin(request.type === 'external' ? EXTERNAL : request);
      // Only key-space requests may be refused after executing (external.ts, UsageObserver).
      const undo = session !== undefined && session.mayRefuse && request.type !== 'external' ? new UndoLog(txn) : undefined;
      const indexMark = this.index.mark();
      const writer = new Writer(this.tables, this.index, undo ?? txn, state, this.leases, session);
      try {
        if (request.type === 'external') {
          const out = request.external.apply({
            txn: writer.externalTxn,
            deleteKeys: (keys) => writer.deleteKeys(keys),
            deleteRange: (key, rangeEnd) => writer.deleteRangeKeys(key, rangeEnd),
          });
          if (out.ok) {
            const refusal = session?.finish(writer.externalTxn);
            if (refusal !== undefined) throw new Error(`mvcc: usage refused external entry ${entry.index} (${refusal.code}); external changes only delete keys`);
            results.push({ ok: true, response: { header: header(writer.readRev), value: out.value } });
            events.push(writer.events);
          } else {
            if (writer.touched) throw new Error(`mvcc: external change refused (${out.error.code}) after entry ${entry.index} started writing`);
            results.push({ ok: false, skipped: false, error: out.error });
            events.push([]);
          }
        } else {
          const response = this.execute(writer, request);
          const refusal = session?.finish(writer.externalTxn);
          if (refusal !== undefined) {
            if (undo === undefined) throw new Error(`mvcc: usage refused entry ${entry.index} (${refusal.code}) though it said it would not`);
            // The refusal is decided on what the entry did; taking it back leaves no trace of it.
            undo.rollback();
            this.index.rollback(indexMark);
            results.push({ ok: false, skipped: false, error: refusal });
            events.push([]);
            state.appliedIndex = entry.index;
            applied = true;
            continue;
          }
          results.push({ ok: true, response });
          events.push(writer.events);
        }
      } catch (err) {
        if (!(err instanceof MvccError)) throw err;
        if (writer.touched) {
          // Would leave a half-applied entry: fail the whole batch (nothing is committed) instead.
          throw new Error(`mvcc: ${err.code} raised after entry ${entry.index} started writing`, { cause: err });
        }
        results.push({ ok: false, skipped: false, error: err });
        events.push([]);
      }
      if (writer.changes > 0) state.currentRevision = writer.beginRev + 1;
      state.appliedIndex = entry.index;
      applied = true;
    }
    if (applied) txn.put(this.tables.meta, META_STATE_KEY, encodeMeta(state));
    return { results, events };
  }

  private execute(w: Writer, req: WriteRequest): WriteResponse {
    switch (req.type) {
      case 'put':
        validatePut(req.put);
        return w.put(req.put);
      case 'deleteRange':
        validateDeleteRange(req.deleteRange);
        return w.deleteRange(req.deleteRange);
      case 'txn':
        validateTxn(req.txn, this.maxTxnOps);
        return w.txn(req.txn);
      case 'compaction':
        if (!Number.isSafeInteger(req.compaction.revision)) throw new TypeError('compaction revision must be a safe integer');
        return w.compaction(req.compaction);
      default:
        throw new TypeError(`unknown write request ${(req as { type: unknown }).type as string}`);
    }
  }

  /** The meta record as the current reader (snapshot or write transaction) sees it. */
  private meta(): MetaState {
    const buf = this.tables.meta.get(META_STATE_KEY);
    if (buf === undefined) return { ...FRESH };
    // Every read starts here: skip re-decoding (and re-checksumming) bytes seen last time.
    const cached = this.metaCache;
    if (cached !== undefined && equalBytes(cached.bytes, buf)) return { ...cached.state };
    const state = decodeMeta(buf);
    this.metaCache = { bytes: buf, state: { ...state } };
    return state;
  }

  private assertOpen(): void {
    if (this.closing) throw new TypeError('KvStore is closed');
  }
}

// The Raft log and hard state of one member, implementing raft's synchronous `Storage` interface.
//
// A member keeps the log in the same LMDB environment as its state machine (`inStorage`), so the
// driver can write a Ready's entries and apply the entries it commits in ONE transaction with one
// fsync (Storage.batchSync; measured: half the cost of a log commit plus a state commit, since
// LMDB's cost is per commit). `open(dir)` gives the log an environment of its own (tests, tools).
// The Raft log is the member's durability point: every append and every hard-state change is
// fsynced before any message that depends on it is sent; after a crash the state replays the log
// from its durable applied index. The driver must never compact the log past what the state
// machine has durably applied: compaction is bounded by the recorded snapshot metadata, which the
// driver sets (`setSnapshotMetadata`) only to an index the state has flushed.
//
// Write discipline: every write is ONE LMDB transaction committed and fdatasynced on the calling
// thread (`Storage.transactSync`) before the method returns. Measured on the target machine
// (bench/raft-log-bench.ts), this is about as fast as a plain `fs` append + fdatasync and several
// times faster than lmdb-js's asynchronous path under a busy event loop, whose commit and flush
// each wait for a turn of the loop. The cost is that the event loop is blocked for the fsync;
// the driver cannot send before it anyway. It also keeps the in-memory cache trivially exact:
// nothing can run between the commit and the cache update.
//
// A Ready whose only change is the commit index (raft's mustSync is false) is not written at once:
// the new commit rides along with the next transaction (or close). After a crash the recorded
// commit may therefore trail what the state machine applied; raft learns the commit again and
// the server skips re-applied entries by index (mvcc is idempotent by applied index). Raft is
// not given the state's applied index at start, so it never sees applied > commit.
//
// Layout (raft-codec.ts): raft.entries holds entries (firstIndex..lastIndex], keyed by index;
// raft.meta holds the hard state, the compaction point (index and term of the last entry
// dropped, raft's "dummy" entry) and the metadata of the latest snapshot. The snapshot's data is
// not here: Keyward's snapshot is the state environment itself, streamed by the transport.
//
// Cache: first/last index, last term, the term of every entry (as runs of equal terms: terms
// change only at elections, so this is tiny), hard state, snapshot metadata, and a bounded copy
// of the most recently saved entries live in memory. They are loaded from disk at open (which also
// verifies every record's checksum) and replaced only after a write transaction has committed and
// synced, from the values that transaction wrote, so the cache never claims anything that is not
// on disk. Reads outside the recent entries go to LMDB and verify each record's checksum.
import type {
  ConfState,
  Entry,
  HardState,
  InitialState,
  Snapshot,
  SnapshotMetadata,
  Storage as RaftStorage,
} from '../raft/index.js';
import { EMPTY_HARD_STATE, NONE, RaftError, entrySize } from '../raft/index.js';
import { StorageError } from './errors.js';
import {
  META_KEYS,
  RAFT_FORMAT_VERSION,
  decodeCompacted,
  decodeEntry,
  decodeFormat,
  decodeHardState,
  decodeIndexKey,
  decodeSnapshotMetadata,
  encodeCompacted,
  encodeEntry,
  encodeFormat,
  encodeHardState,
  encodeSnapshotMetadata,
  indexKey,
  type LogPoint,
} from './raft-codec.js';
import { RAFT_SUB_DBS, SUB_DBS } from './registry.js';
import { Storage, type StorageOptions, type Table, type WriteTxn } from './storage.js';

/** What one `save` persists: the persistence part of a raft Ready (a Ready itself fits). */
export interface RaftLogWrite {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
  /** Informational: every save is fsynced before it returns, whatever this says. */
  readonly mustSync?: boolean;
}

export interface RaftLogStoreOptions extends Pick<StorageOptions, 'allowInsecurePermissions'> {
  /**
   * Bounds of the in-memory copy of the most recently saved entries, which serves reads of the
   * log's tail (a leader replicating what it just appended) without touching LMDB.
   * Default: 4096 entries and 8 MiB of entry data, whichever is reached first; 0 disables it.
   */
  recentEntries?: { maxEntries?: number; maxBytes?: number };
}

const DEFAULT_RECENT_ENTRIES = 4096;
const DEFAULT_RECENT_BYTES = 8 << 20;
/** Entries removed per transaction by the asynchronous `compact` (about 2 ms of event-loop time each). */
const COMPACT_CHUNK = 1000;

const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_CONF_STATE: ConfState = { voters: [], learners: [] };

/** Terms of a contiguous log as runs: run k covers [starts[k], starts[k+1]) (the last one up to lastIndex). */
class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];

  /** Term of index i; the caller guarantees i is a stored index. */
  at(i: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.terms[lo]!;
  }

  /** Appends index i (the next index after the current end) with term t. */
  push(i: number, t: number): void {
    if (this.terms.length === 0 || this.terms[this.terms.length - 1] !== t) {
      this.starts.push(i);
      this.terms.push(t);
    }
  }

  /** Forgets indexes >= i. */
  truncateFrom(i: number): void {
    let n = this.starts.length;
    while (n > 0 && this.starts[n - 1]! >= i) n--;
    this.starts.length = n;
    this.terms.length = n;
  }

  /** Forgets indexes < i. */
  dropBefore(i: number): void {
    let k = 0;
    while (k + 1 < this.starts.length && this.starts[k + 1]! <= i) k++;
    this.starts.splice(0, k);
    this.terms.splice(0, k);
    if (this.starts.length > 0 && this.starts[0]! < i) this.starts[0] = i;
  }

  clear(): void {
    this.starts = [];
    this.terms = [];
  }
}

/**
 * The durable Raft log of one member. Reads are synchronous and served from memory (bounds,
 * terms, hard state) or from LMDB (entries, checksummed on every read). Writes are synchronous
 * and durable (fsynced) when they return.
 *
 * Errors: raft's RaftError 'Compacted' / 'Unavailable' / 'SnapOutOfDate' exactly as MemoryStorage
 * raises them; RangeError/TypeError for misuse (as MemoryStorage); StorageError 'CORRUPT' for
 * damaged data (fatal: stop the member); StorageError from LMDB I/O, after which the store
 * refuses further writes (a failed fsync leaves the file in an unknown state).
 */
export class RaftLogStore implements RaftStorage {
  readonly dir: string;
  private readonly storage: Storage;
  private readonly ownsStorage: boolean;
  private readonly ents: Table;
  private readonly meta: Table;

  // Cache of what is on disk (see the file header).
  private compacted: LogPoint;
  private last: number;
  private lastTermCached: number;
  private readonly runs = new TermRuns();
  private hs: HardState;
  private snap: SnapshotMetadata;
  private failed: Error | undefined;
  /** Copies of the entries [recentStart, last] (when not empty), each owning its data. */
  private recent: Entry[] = [];
  private recentStart = 0;
  private recentBytes = 0;
  private readonly recentMaxEntries: number;
  private readonly recentMaxBytes: number;

  private constructor(dir: string, storage: Storage, opts: RaftLogStoreOptions, ownsStorage: boolean) {
    this.dir = dir;
    this.storage = storage;
    this.ownsStorage = ownsStorage;
    this.recentMaxEntries = opts.recentEntries?.maxEntries ?? DEFAULT_RECENT_ENTRIES;
    this.recentMaxBytes = opts.recentEntries?.maxBytes ?? DEFAULT_RECENT_BYTES;
    this.ents = storage.table(SUB_DBS.raftEntries);
    this.meta = storage.table(SUB_DBS.raftMeta);
    this.checkFormat();
    const c = this.meta.get(META_KEYS.compacted);
    this.compacted = c === undefined ? { index: 0, term: 0 } : decodeCompacted(c);
    const h = this.meta.get(META_KEYS.hardState);
    this.hs = h === undefined ? EMPTY_HARD_STATE : decodeHardState(h);
    const s = this.meta.get(META_KEYS.snapshot);
    this.snap = s === undefined ? { index: 0, term: 0, confState: EMPTY_CONF_STATE } : decodeSnapshotMetadata(s);
    this.last = this.compacted.index;
    this.lastTermCached = this.compacted.term;
    this.loadEntries();
    this.checkBookkeeping();
  }

  /**
   * Opens (creating if needed) the Raft environment in `dir`, a directory of its own (e.g.
   * `<data-dir>/raft`), and verifies every stored record. Throws StorageError 'CORRUPT' if any
   * record or the bookkeeping is damaged.
   */
  static open(dir: string, opts: RaftLogStoreOptions = {}): RaftLogStore {
    const storage = Storage.open(dir, { ...opts, subDbs: RAFT_SUB_DBS });
    try {
      return new RaftLogStore(dir, storage, opts, true);
    } catch (err) {
      void storage.close();
      throw err;
    }
  }

  /**
   * The log inside an environment it shares with the state machine (the member's one LMDB
   * environment, opened with the raft sub-databases among others), so that a Ready's log append
   * and the apply of the entries it commits can be one transaction (`Storage.batchSync`). The
   * environment stays open when the log closes: its opener closes it.
   */
  static inStorage(storage: Storage, opts: RaftLogStoreOptions = {}): RaftLogStore {
    return new RaftLogStore(storage.dir, storage, opts, false);
  }

  // ---- raft.Storage ------------------------------------------------------------------------

  initialState(): InitialState {
    return { hardState: this.hs, confState: this.snap.confState };
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.compacted.index;
    if (lo <= offset) throw new RaftError('Compacted', `entries from ${lo}, first is ${offset + 1}`);
    if (hi > this.last + 1) throw new RangeError(`raft: entries hi ${hi} beyond last index ${this.last}`);
    if (this.last === offset) throw new RaftError('Unavailable');
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let size = 0;
    // Same rule as raft's limitSize: the first entry always, then while the total fits.
    const take = (e: Entry): boolean => {
      size += entrySize(e);
      if (out.length > 0 && size > maxSize) return false;
      out.push(e);
      return true;
    };
    const recentStart = this.recent.length > 0 ? this.recentStart : this.last + 1;
    const diskEnd = Math.min(hi, recentStart);
    if (lo < diskEnd) {
      let expect = lo;
      for (const { key, value } of this.ents.range({ gte: indexKey(lo), lt: indexKey(diskEnd) })) {
        const i = decodeIndexKey(key);
        if (i !== expect) throw this.hole(expect);
        if (!take(decodeEntry(i, value, key))) return out;
        expect++;
      }
      if (expect !== diskEnd) throw this.hole(expect);
    }
    for (let i = Math.max(lo, recentStart); i < hi; i++) if (!take(this.recent[i - recentStart]!)) return out;
    return out;
  }

  term(i: number): number {
    const offset = this.compacted.index;
    if (i < offset) throw new RaftError('Compacted', `term of ${i}, first is ${offset + 1}`);
    if (i > this.last) throw new RaftError('Unavailable', `term of ${i}, last is ${this.last}`);
    if (i === offset) return this.compacted.term;
    if (i === this.last) return this.lastTermCached;
    return this.runs.at(i);
  }

  lastIndex(): number {
    return this.last;
  }

  firstIndex(): number {
    return this.compacted.index + 1;
  }

  /**
   * The latest snapshot's metadata. The data is empty: the state image is the state
   * environment, which the driver streams to a follower when raft sends it this snapshot.
   */
  snapshot(): Snapshot {
    return { data: EMPTY_BYTES, metadata: this.snap };
  }

  // ---- extra reads -------------------------------------------------------------------------

  /** The hard state last saved (as on disk). */
  hardState(): HardState {
    return this.hs;
  }

  /** Term of the last entry (of the compaction point when the log is empty). */
  lastTerm(): number {
    return this.lastTermCached;
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Persists what a Ready asks for, in ONE transaction, durable (fsynced) when this returns:
   * first `snapshot` (the log is replaced by it: every entry is dropped and the snapshot becomes
   * the compaction point), then `entries` (any stored entry at or after entries[0].index is
   * replaced; entries at or below the compaction point are ignored), then `hardState`.
   *
   * Refuses, before writing anything: an older snapshot (RaftError 'SnapOutOfDate'), entries that
   * would leave a gap (Error, like MemoryStorage), non-contiguous entries or terms going down
   * (RangeError), and a hard state that lowers the term, changes the vote within a term
   * (GUARANTEES L12) or commits past the last index (Error: raft could not restart from it).
   */
  saveSync(w: RaftLogWrite): void {
    this.assertWritable();
    let compacted = this.compacted;
    let snap = this.snap;
    let last = this.last;
    let lastTerm = this.lastTermCached;
    let dropFrom = Infinity; // stored entries at >= dropFrom are removed (before any put)
    let dropTo = this.last;
    let truncateRunsFrom = Infinity;

    if (w.snapshot !== null) {
      const m = w.snapshot.metadata;
      if (this.snap.index !== 0 && this.snap.index >= m.index) throw new RaftError('SnapOutOfDate');
      checkSafe(m.index, 'snapshot index');
      checkSafe(m.term, 'snapshot term');
      compacted = { index: m.index, term: m.term };
      snap = { index: m.index, term: m.term, confState: { voters: [...m.confState.voters], learners: [...m.confState.learners] } };
      dropFrom = this.compacted.index + 1;
      last = m.index;
      lastTerm = m.term;
    }

    let ents = w.entries;
    if (ents.length > 0) {
      checkContiguous(ents);
      const first = compacted.index + 1;
      if (ents[ents.length - 1]!.index < first) ents = [];
      else if (ents[0]!.index < first) ents = ents.slice(first - ents[0]!.index);
    }
    if (ents.length > 0) {
      const start = ents[0]!.index;
      if (start > last + 1) throw new Error(`raft: missing log entry [last: ${last}, append at: ${start}]`);
      // start - 1 is the compaction point (always, after a snapshot) or a stored entry.
      const prevTerm = start - 1 === compacted.index ? compacted.term : this.term(start - 1);
      if (ents[0]!.term < prevTerm) {
        throw new RangeError(`raft log: entry ${start} has term ${ents[0]!.term}, below the term ${prevTerm} of entry ${start - 1}`);
      }
      const end = ents[ents.length - 1]!.index;
      if (w.snapshot === null && start <= this.last) {
        // Entries in [start, end] are overwritten by the puts; the rest of the old tail goes.
        dropFrom = Math.min(dropFrom, end + 1);
        truncateRunsFrom = start;
      }
      last = end;
      lastTerm = ents[ents.length - 1]!.term;
    }

    let hs: HardState | null = w.hardState;
    if (hs !== null) {
      checkSafe(hs.term, 'hard state term');
      checkSafe(hs.commit, 'hard state commit');
      if (hs.term < this.hs.term) throw new Error(`raft log: hard state term ${hs.term} below the saved term ${this.hs.term}`);
      if (hs.term === this.hs.term && this.hs.vote !== NONE && hs.vote !== this.hs.vote) {
        throw new Error(`raft log: vote for ${hs.vote} in term ${hs.term}, which already has a saved vote for ${this.hs.vote}`);
      }
      if (hs.commit > last) throw new Error(`raft log: hard state commit ${hs.commit} beyond last index ${last}`);
      if (hs.term === this.hs.term && hs.vote === this.hs.vote && hs.commit === this.hs.commit) hs = null;
    }

    if (w.snapshot === null && ents.length === 0 && hs === null) return;
    if (w.snapshot === null && ents.length === 0 && hs !== null && w.mustSync !== true && hs.term === this.hs.term && hs.vote === this.hs.vote) {
      // Only the commit index moved. Raft never requires it durable (mustSync is false): after a
      // restart a lower commit is learned again, and every entry re-applied is skipped by its
      // index. Deferring it saves one fsync per Ready; it rides along with the next transaction.
      this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit };
      this.hsDirty = true;
      return;
    }

    // Encode everything first: a throw inside the transaction is reserved for LMDB failing.
    const puts: [Table, Uint8Array, Uint8Array][] = ents.map((e) => {
      const key = indexKey(e.index);
      return [this.ents, key, encodeEntry(e, key)];
    });
    const entryPuts = puts.length;
    if (w.snapshot !== null) {
      puts.push([this.meta, META_KEYS.compacted, encodeCompacted(compacted)]);
      puts.push([this.meta, META_KEYS.snapshot, encodeSnapshotMetadata(snap)]);
    }
    const newHs = hs ?? (this.hsDirty ? this.hs : null);
    if (newHs !== null) puts.push([this.meta, META_KEYS.hardState, encodeHardState(newHs)]);
    this.write((txn) => {
      for (let i = dropFrom; i <= dropTo; i++) txn.remove(this.ents, indexKey(i));
      for (const [t, k, v] of puts) txn.put(t, k, v);
    });

    // Committed and synced: now the cache may say so.
    if (w.snapshot !== null) {
      this.runs.clear();
      this.dropRecentFrom(0);
    } else if (truncateRunsFrom !== Infinity) {
      this.runs.truncateFrom(truncateRunsFrom);
      this.dropRecentFrom(truncateRunsFrom);
    }
    for (const e of ents) this.runs.push(e.index, e.term);
    this.compacted = compacted;
    this.snap = snap;
    this.last = last;
    this.lastTermCached = lastTerm;
    if (newHs !== null) this.hs = { term: newHs.term, vote: newHs.vote, commit: newHs.commit };
    this.hsDirty = false;
    if (ents.length > 0) this.remember(ents, puts.slice(0, entryPuts).map((p) => p[2]));
  }

  /** Forgets recent entries at index >= from (0: all). */
  private dropRecentFrom(from: number): void {
    const keep = Math.max(0, Math.min(this.recent.length, from - this.recentStart));
    for (let k = keep; k < this.recent.length; k++) this.recentBytes -= this.recent[k]!.data.byteLength;
    this.recent.length = keep;
  }

  /** Forgets recent entries at index < to. */
  private dropRecentBefore(to: number): void {
    const drop = Math.max(0, Math.min(this.recent.length, to - this.recentStart));
    if (drop === 0) return;
    for (let k = 0; k < drop; k++) this.recentBytes -= this.recent[k]!.data.byteLength;
    this.recent.splice(0, drop);
    this.recentStart += drop;
  }

  /**
   * Adds the entries just saved (ending at the new `last`) to the recent copies. Their data are
   * views of the records written, not the caller's arrays: nothing the caller does later can
   * change them, and they pin no larger buffer the caller's data might be a view of.
   */
  private remember(ents: readonly Entry[], records: Uint8Array[]): void {
    if (this.recentMaxEntries <= 0) return;
    const start = ents[0]!.index;
    // The copies stay one contiguous run ending at `last`.
    if (this.recent.length > 0 && this.recentStart + this.recent.length !== start) this.dropRecentFrom(0);
    if (this.recent.length === 0) this.recentStart = start;
    for (let k = 0; k < ents.length; k++) {
      const e = ents[k]!;
      const rec = records[k]!;
      const data = rec.subarray(rec.length - e.data.byteLength);
      this.recent.push({ index: e.index, term: e.term, type: e.type, data });
      this.recentBytes += data.byteLength;
    }
    let bytes = this.recentBytes;
    let drop = 0;
    while (drop < this.recent.length && (this.recent.length - drop > this.recentMaxEntries || bytes > this.recentMaxBytes)) {
      bytes -= this.recent[drop]!.data.byteLength;
      drop++;
    }
    this.dropRecentBefore(this.recentStart + drop);
  }

  /**
   * Drops every entry up to and including `compactIndex`, which becomes the compaction point
   * (its term is kept, so term(compactIndex) still answers). Durable when it returns.
   * Like MemoryStorage: RaftError 'Compacted' if already compacted that far, RangeError beyond
   * the last index. Also RangeError beyond the latest snapshot: a follower behind the compaction
   * point could then be caught up neither from the log nor from a snapshot.
   */
  compactSync(compactIndex: number): void {
    this.assertWritable();
    const offset = this.compacted.index;
    if (compactIndex <= offset) throw new RaftError('Compacted');
    if (compactIndex > this.last) throw new RangeError(`raft: compact ${compactIndex} beyond last index ${this.last}`);
    if (compactIndex > this.snap.index) {
      throw new RangeError(`raft log: compact ${compactIndex} beyond the latest snapshot ${this.snap.index}`);
    }
    const point = { index: compactIndex, term: this.term(compactIndex) };
    const record = encodeCompacted(point);
    this.write((txn) => {
      for (let i = offset + 1; i <= compactIndex; i++) txn.remove(this.ents, indexKey(i));
      txn.put(this.meta, META_KEYS.compacted, record);
    });
    this.runs.dropBefore(compactIndex + 1);
    this.compacted = point;
    this.dropRecentBefore(compactIndex + 1);
  }

  /**
   * Records that the state machine holds a durable image as of applied index `index`, with
   * membership `confState` (after every conf change up to `index`); the term is taken from the
   * log. Durable when it returns. Mirrors MemoryStorage.createSnapshot without the data:
   * RaftError 'SnapOutOfDate' if not newer than the current snapshot, RangeError beyond the last
   * index.
   */
  setSnapshotMetadata(index: number, confState: ConfState): SnapshotMetadata {
    this.assertWritable();
    if (index <= this.snap.index) throw new RaftError('SnapOutOfDate');
    if (index > this.last) throw new RangeError(`raft: snapshot ${index} beyond last index ${this.last}`);
    const m: SnapshotMetadata = {
      index,
      term: this.term(index),
      confState: { voters: [...confState.voters], learners: [...confState.learners] },
    };
    const record = encodeSnapshotMetadata(m);
    this.write((txn) => txn.put(this.meta, META_KEYS.snapshot, record));
    this.snap = m;
    return m;
  }

  // ---- the driver's LogStore shape (src/cluster) ---------------------------------------------
  // Promise-returning forms of the writes above, for a driver written against an asynchronous
  // log. They do the same synchronous, fsynced write, so the promise is already settled.

  /** `saveSync` as a promise (rejected on refusal or failure). `sync` is ignored: every save is flushed. */
  save(w: RaftLogWrite, sync?: boolean): Promise<void> {
    void sync;
    return settle(() => this.saveSync(w));
  }

  /**
   * Records a snapshot point like `setSnapshotMetadata`, except that a point not newer than the
   * current snapshot is a no-op (the request is already satisfied) rather than SnapOutOfDate.
   */
  createSnapshot(index: number, confState: ConfState): Promise<void> {
    return settle(() => {
      if (index > this.snap.index) this.setSnapshotMetadata(index, confState);
    });
  }

  /**
   * `compactSync`, except that an index already compacted is a no-op rather than 'Compacted', and
   * that a large compaction is done in steps of COMPACT_CHUNK entries, one synced transaction
   * each, yielding to the event loop between steps (removing 10,000 entries in one transaction
   * blocks it for 15-25 ms). Every step leaves a valid, durable compaction point. Compacting
   * past the latest snapshot or the last index is refused (before any step).
   */
  async compact(compactIndex: number): Promise<void> {
    if (compactIndex <= this.compacted.index) return;
    this.assertWritable();
    if (compactIndex > this.last) throw new RangeError(`raft: compact ${compactIndex} beyond last index ${this.last}`);
    if (compactIndex > this.snap.index) {
      throw new RangeError(`raft log: compact ${compactIndex} beyond the latest snapshot ${this.snap.index}`);
    }
    for (;;) {
      const step = Math.min(compactIndex, this.compacted.index + COMPACT_CHUNK);
      if (step <= this.compacted.index) return; // another write moved past it meanwhile
      this.compactSync(step);
      if (step === compactIndex) return;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.storage.closed) return;
    }
  }

  /** Closes the environment. Every write already returned durable, so nothing is pending. */
  close(): Promise<void> {
    if (this.hsDirty && !this.storage.closed && this.failed === undefined) {
      try {
        this.write(() => undefined);
      } catch {
        // The commit index is recoverable; a failing disk is reported by the next open.
      }
    }
    return this.ownsStorage ? this.storage.close() : Promise.resolve();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** The cached hard state holds a commit index not yet written (see saveSync). */
  private hsDirty = false;

  private write(fn: (txn: WriteTxn) => void): void {
    // A deferred commit index is written with whatever goes to disk next, so the durable commit
    // never falls behind a compaction or snapshot point written after it.
    const hs = this.hsDirty ? encodeHardState(this.hs) : null;
    try {
      this.storage.transactSync((txn) => {
        // First, so that a newer hard state written by fn replaces it.
        if (hs !== null) txn.put(this.meta, META_KEYS.hardState, hs);
        fn(txn);
      });
      this.hsDirty = false;
    } catch (err) {
      // The callbacks above only put and remove; a throw is LMDB or the disk failing.
      this.failed = err instanceof Error ? err : new Error(String(err));
      throw new StorageError('NOT_ACCESSIBLE', `raft log write failed: ${this.failed.message}`, { cause: err });
    }
  }

  private assertWritable(): void {
    if (this.storage.closed) throw new TypeError('raft log is closed');
    if (this.failed !== undefined) {
      throw new StorageError('NOT_ACCESSIBLE', `raft log refuses writes after an earlier failure: ${this.failed.message}`, {
        cause: this.failed,
      });
    }
  }

  private hole(index: number): StorageError {
    return new StorageError('CORRUPT', `raft log: entry ${index} is missing inside [${this.firstIndex()}, ${this.last}]`);
  }

  private checkFormat(): void {
    const f = this.meta.get(META_KEYS.format);
    if (f === undefined) {
      if (this.meta.count() > 0 || this.ents.count() > 0) throw new StorageError('CORRUPT', 'raft log: format record missing');
      this.storage.transactSync((txn) => txn.put(this.meta, META_KEYS.format, encodeFormat(RAFT_FORMAT_VERSION)));
      return;
    }
    const v = decodeFormat(f);
    if (v !== RAFT_FORMAT_VERSION) {
      throw new StorageError('OPEN_FAILED', `raft log format ${v} is not supported (this build reads ${RAFT_FORMAT_VERSION})`);
    }
  }

  /** Reads and verifies every entry, building the term runs. */
  private loadEntries(): void {
    let expect = this.compacted.index + 1;
    let prevTerm = this.compacted.term;
    for (const { key, value } of this.ents.range()) {
      const i = decodeIndexKey(key);
      if (i !== expect) {
        throw new StorageError(
          'CORRUPT',
          i < expect ? `raft log: entry ${i} at or below the compaction point ${this.compacted.index}` : `raft log: entry ${expect} is missing`,
        );
      }
      const e = decodeEntry(i, value, key);
      if (e.term < prevTerm) throw new StorageError('CORRUPT', `raft log: entry ${i} has term ${e.term} below its predecessor's ${prevTerm}`);
      this.runs.push(i, e.term);
      prevTerm = e.term;
      expect++;
    }
    this.last = expect - 1;
    this.lastTermCached = prevTerm;
  }

  private checkBookkeeping(): void {
    const bad = (what: string): StorageError => new StorageError('CORRUPT', `raft log: ${what}`);
    const { index, term } = this.snap;
    if (index !== 0 || this.compacted.index !== 0) {
      if (index < this.compacted.index) throw bad(`snapshot ${index} is below the compaction point ${this.compacted.index}`);
      if (index > this.last) throw bad(`snapshot ${index} is beyond the last index ${this.last}`);
      if (this.term(index) !== term) throw bad(`snapshot ${index} has term ${term} but the log has ${this.term(index)}`);
    }
    if (this.hs.commit > this.last) throw bad(`hard state commit ${this.hs.commit} is beyond the last index ${this.last}`);
  }
}

function settle(fn: () => void): Promise<void> {
  try {
    fn();
    return Promise.resolve();
  } catch (err) {
    return Promise.reject(err);
  }
}

function checkSafe(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`raft log: ${what} ${n} is not a non-negative safe integer`);
}

function checkContiguous(ents: readonly Entry[]): void {
  const first = ents[0]!;
  checkSafe(first.index, 'entry index');
  if (first.index < 1) throw new RangeError('raft log: entry index 0');
  for (let k = 0; k < ents.length; k++) {
    const e = ents[k]!;
    if (e.index !== first.index + k) throw new RangeError(`raft log: entries not contiguous at ${first.index + k}`);
    checkSafe(e.term, 'entry term');
    if (e.term < 1) throw new RangeError(`raft log: entry ${e.index} has term 0`);
    if (k > 0 && e.term < ents[k - 1]!.term) throw new RangeError(`raft log: entry terms go down at ${e.index}`);
    if (!(e.data instanceof Uint8Array)) throw new TypeError(`raft log: entry ${e.index} data is not a Uint8Array`);
  }
}

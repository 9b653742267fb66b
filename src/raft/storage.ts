// The persistent log as raft sees it. The driver owns the storage: it writes
// (append, snapshot, hard state) while handling a Ready, and raft only reads.
// Keyward implements this on LMDB in src/storage; MemoryStorage serves tests.

import { RaftError } from './errors.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';
import { EMPTY_HARD_STATE } from './types.js';
import { limitSize, EMPTY_BYTES } from './util.js';

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

/**
 * Read side of the durable raft log.
 *
 * Index space: the storage holds entries [firstIndex(), lastIndex()], and knows
 * the term of firstIndex()-1 (the index of the latest snapshot, or 0). All
 * methods are synchronous: raft is a pure state machine and cannot wait. An
 * LMDB implementation reads from a read transaction or a cache.
 *
 * Errors: RaftError 'Compacted' for an index below firstIndex()-1 (or below
 * firstIndex() for entries()), 'Unavailable' for an index past lastIndex(),
 * 'SnapshotTemporarilyUnavailable' from snapshot() while one is being built.
 */
export interface Storage {
  /** Hard state and membership saved by the driver; called once when the node starts. */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), truncated so their total size (see entrySize) stays
   * within maxSize, but always at least one entry when lo < hi.
   */
  entries(lo: number, hi: number, maxSize: number): Entry[];
  /** Term of entry i, for i in [firstIndex()-1, lastIndex()]. */
  term(i: number): number;
  /** Index of the last entry (the snapshot index when the log is empty). */
  lastIndex(): number;
  /** Index of the first retained entry (snapshot index + 1). */
  firstIndex(): number;
  /** The most recent snapshot; the leader sends it to followers that fell behind compaction. */
  snapshot(): Snapshot;
}

function emptySnapshot(confState: ConfState): Snapshot {
  return { data: EMPTY_BYTES, metadata: { index: 0, term: 0, confState } };
}

/**
 * In-memory Storage for simulation and tests.
 *
 * `ents[0]` is a dummy entry standing for the snapshot: its index and term are
 * the snapshot's, its data is unused. So with a snapshot at 10 (term 2) and
 * entries 11..13, ents = [dummy(10,t2), e11, e12, e13], firstIndex() = 11,
 * lastIndex() = 13, term(10) = 2.
 */
export class MemoryStorage implements Storage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot;
  private ents: Entry[];

  /** `confState` seeds the membership of a node that is not bootstrapped through RawNode.bootstrap. */
  constructor(confState: ConfState = { voters: [], learners: [] }) {
    this.snap = emptySnapshot(confState);
    this.ents = [{ term: 0, index: 0, type: 'normal', data: EMPTY_BYTES }];
  }

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  hardStateSaved(): HardState {
    return this.hardState;
  }

  entries(lo: number, hi: number, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw new RaftError('Compacted', `entries from ${lo}, first is ${offset + 1}`);
    if (hi > this.lastIndex() + 1) throw new RangeError(`raft: entries hi ${hi} beyond last index ${this.lastIndex()}`);
    if (this.ents.length === 1) throw new RaftError('Unavailable');
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: number): number {
    const offset = this.ents[0]!.index;
    if (i < offset) throw new RaftError('Compacted', `term of ${i}, first is ${offset + 1}`);
    if (i - offset >= this.ents.length) throw new RaftError('Unavailable', `term of ${i}, last is ${this.lastIndex()}`);
    return this.ents[i - offset]!.term;
  }

  lastIndex(): number {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  firstIndex(): number {
    return this.ents[0]!.index + 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with the snapshot (a follower installing one from the leader). */
  applySnapshot(snap: Snapshot): void {
    const cur = this.snap.metadata.index;
    if (cur !== 0 && cur >= snap.metadata.index) throw new RaftError('SnapOutOfDate');
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 'normal', data: EMPTY_BYTES }];
  }

  /**
   * Records a snapshot of the application state as of applied index `i`.
   * `confState` must be the membership after applying every conf change up to `i`.
   */
  createSnapshot(i: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw new RaftError('SnapOutOfDate');
    if (i > this.lastIndex()) throw new RangeError(`raft: snapshot ${i} beyond last index ${this.lastIndex()}`);
    const offset = this.ents[0]!.index;
    this.snap = { data, metadata: { index: i, term: this.ents[i - offset]!.term, confState } };
    return this.snap;
  }

  /**
   * Discards entries before `compactIndex` (which becomes the dummy). The
   * driver must not compact past its latest snapshot, or a lagging follower can
   * be caught up neither from the log nor from the snapshot.
   */
  compact(compactIndex: number): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw new RaftError('Compacted');
    if (compactIndex > this.lastIndex()) throw new RangeError(`raft: compact ${compactIndex} beyond last index ${this.lastIndex()}`);
    const i = compactIndex - offset;
    const keep = this.ents[i]!;
    this.ents = [{ term: keep.term, index: keep.index, type: 'normal', data: EMPTY_BYTES }, ...this.ents.slice(i + 1)];
  }

  /**
   * Appends entries, first discarding any existing entries at or after
   * entries[0].index (a new leader may overwrite an uncommitted tail).
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return;
    let ents = entries;
    if (first > ents[0]!.index) ents = ents.slice(first - ents[0]!.index);
    const offset = ents[0]!.index - this.ents[0]!.index;
    // In place is safe: every array handed out by entries() is a copy.
    if (this.ents.length >= offset) {
      this.ents.length = offset;
      for (const e of ents) this.ents.push(e);
    } else {
      throw new Error(`raft: missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    }
  }
}

// The whole log as raft reasons about it: the durable part (Storage) followed
// by the unstable tail, plus the commit and applied indexes.
//
// Invariants: firstIndex()-1 <= applied <= committed <= lastIndex(); an entry
// at or below `committed` is never overwritten (doing so throws: it would mean
// the protocol is broken or the disk is corrupt).

import { RaftError, isRaftError } from './errors.js';
import type { Storage } from './storage.js';
import { UnstableLog } from './log_unstable.js';
import type { Entry, Snapshot } from './types.js';
import { limitSize } from './util.js';

export class RaftLog {
  readonly storage: Storage;
  readonly unstable: UnstableLog;
  committed: number;
  applied: number;
  /** Bound on the size of committed entries handed out in one Ready. */
  readonly maxApplyingEntsSize: number;

  constructor(storage: Storage, maxApplyingEntsSize: number) {
    this.storage = storage;
    this.maxApplyingEntsSize = maxApplyingEntsSize;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new UnstableLog(last + 1);
    // Everything up to the snapshot is committed and applied by definition.
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  /** Last index known to be durable in the current log (what a leader may count as its own ack). */
  stableLastIndex(): number {
    if (this.unstable.snapshot !== null) return 0;
    return this.unstable.offset - 1;
  }

  /** Term of entry i, or undefined if i is compacted away or beyond the end. */
  term(i: number): number | undefined {
    const ut = this.unstable.maybeTerm(i);
    if (ut !== undefined) return ut;
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (isRaftError(e, 'Compacted') || isRaftError(e, 'Unavailable')) return undefined;
      throw e;
    }
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    if (t === undefined) throw new Error(`raft: no term for last index ${this.lastIndex()}`);
    return t;
  }

  matchTerm(i: number, term: number): boolean {
    return this.term(i) === term;
  }

  /**
   * Raft §5.4.1: a candidate's log (last entry lastIndex/lastTerm) is at least as
   * up to date as ours if its last term is higher, or equal with an index at least ours.
   */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Handles the entries of an AppendEntries whose previous entry is
   * (prevIndex, prevTerm). Returns the last index of the appended range if the
   * consistency check passes, undefined otherwise.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, ents: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) throw new Error(`raft: entry ${ci} conflicts with committed entry (committed ${this.committed})`);
      this.append(ents.slice(ci - (prevIndex + 1)));
    }
    // Only up to what this message proved we share with the leader.
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Appends (truncating any conflicting tail) and returns the new last index. */
  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) throw new Error(`raft: append after ${after} is below committed ${this.committed}`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /**
   * Index of the first entry in `ents` that is not already in our log with the
   * same term (a conflict or a new entry), or 0 if all are present.
   */
  findConflict(ents: readonly Entry[]): number {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The fast back-off hint: the largest index <= `index` whose term is <=
   * `term`, with that term (0 if unknown). Any entry after it has a term higher
   * than `term`, so it cannot match a log whose entry at `index` has `term`.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; ; i--) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
  }

  /** Unstable entries no Ready has handed out yet (see UnstableLog.offsetInProgress). */
  nextUnstableEntries(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /** Committed entries not yet applied (bounded by maxApplyingEntsSize); none while a snapshot is pending. */
  nextCommittedEnts(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (this.committed + 1 <= lo) return [];
    return this.slice(lo, this.committed + 1, this.maxApplyingEntsSize);
  }

  hasNextCommittedEnts(): boolean {
    if (this.hasPendingSnapshot()) return false;
    return this.committed + 1 > Math.max(this.applied + 1, this.firstIndex());
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  commitTo(toCommit: number): void {
    if (this.committed >= toCommit) return; // never decrease
    if (toCommit > this.lastIndex()) throw new Error(`raft: commit ${toCommit} beyond last index ${this.lastIndex()}`);
    this.committed = toCommit;
  }

  appliedTo(i: number): void {
    if (i === 0 || i <= this.applied) return;
    if (i > this.committed) throw new Error(`raft: applied ${i} beyond committed ${this.committed}`);
    this.applied = i;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  /** Leader rule (§5.4.2): advance commit only to an entry of the current term. */
  maybeCommit(maxIndex: number, term: number): boolean {
    if (maxIndex > this.committed && this.term(maxIndex) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries from i to the end, size-limited. Throws RaftError 'Compacted' if i was compacted. */
  entriesFrom(i: number, maxSize: number): Entry[] {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxSize);
  }

  /** Entries [lo, hi) across storage and the unstable tail, size-limited (at least one entry). */
  slice(lo: number, hi: number, maxSize: number): Entry[] {
    if (lo < this.firstIndex()) throw new RaftError('Compacted', `slice from ${lo}, first is ${this.firstIndex()}`);
    if (hi > this.lastIndex() + 1) throw new Error(`raft: slice [${lo},${hi}) beyond last index ${this.lastIndex()}`);
    if (lo >= hi) return [];
    const off = this.unstable.offset;
    let ents: Entry[] = [];
    if (lo < off) {
      const upper = Math.min(hi, off);
      ents = this.storage.entries(lo, upper, maxSize);
      if (ents.length < upper - lo) return ents; // size limit reached inside storage
    }
    if (hi > off) {
      const u = this.unstable.slice(Math.max(lo, off), hi);
      ents = ents.length === 0 ? u : ents.concat(u);
    }
    return limitSize(ents, maxSize);
  }
}

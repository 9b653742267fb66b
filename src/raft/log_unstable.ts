// The tail of the log that raft holds in memory and the driver has not yet
// persisted: at most one incoming snapshot, then entries from `offset` on.
//
// Example: storage holds 1..5; a leader sends 6..8: offset = 6, entries =
// [6,7,8]. If a new leader then overwrites from 4, truncateAndAppend moves
// offset back to 4 and replaces the entries; the driver's next append to
// storage truncates its own 4..5. Once the driver has persisted up to (8, t)
// and calls advance, stableTo drops 6..8 — but only if the entry at 8 still
// has term t, since it may have been overwritten meanwhile.

import type { Entry, Snapshot } from './types.js';

export class UnstableLog {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** Index of entries[0]; always storage's last index + 1 or less. */
  offset: number;

  constructor(offset: number) {
    this.offset = offset;
  }

  /** First index of the log if an unstable snapshot is pending (it replaces everything before). */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === null ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === null ? undefined : this.snapshot.metadata.index;
  }

  maybeTerm(i: number): number | undefined {
    if (i < this.offset) {
      if (this.snapshot !== null && this.snapshot.metadata.index === i) return this.snapshot.metadata.term;
      return undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** The driver persisted entries up to (index, term). */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const t = this.maybeTerm(index);
    if (t !== term) return; // overwritten since the Ready was taken; persist again next time
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) this.snapshot = null;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    if (from === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (from <= this.offset) {
      // Replaces the whole unstable tail, and (once persisted) part of storage.
      this.offset = from;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, from - this.offset);
      for (const e of ents) this.entries.push(e);
    }
  }

  /** Entries [lo, hi); both must lie within the unstable range. Returns a copy. */
  slice(lo: number, hi: number): Entry[] {
    const upper = this.offset + this.entries.length;
    if (lo > hi || lo < this.offset || hi > upper) {
      throw new Error(`raft: unstable slice [${lo},${hi}) out of bounds [${this.offset},${upper}]`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

// The tail of the log that raft holds in memory and the driver has not yet
// persisted: at most one incoming snapshot, then entries from `offset` on.
//
// Example: storage holds 1..5; a leader sends 6..8: offset = 6, entries =
// [6,7,8]. If a new leader then overwrites from 4, truncateAndAppend moves
// offset back to 4 and replaces the entries; the driver's next append to
// storage truncates its own 4..5. Once the driver has persisted up to (8, t)
// and calls advance, stableTo drops 6..8 — but only if the entry at 8 still
// has term t, since it may have been overwritten meanwhile.
//
// A driver that persists asynchronously (RawNode.accept, then RawNode.persisted once durable) may
// take the next Ready before the last write is on disk: entries from `offsetInProgress` on and a
// snapshot not `snapshotInProgress` are the ones no Ready has handed out yet. They stay here
// (raft reads them) until stableTo/stableSnapTo.

import type { Entry, Snapshot } from './types.js';

export class UnstableLog {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** Index of entries[0]; always storage's last index + 1 or less. */
  offset: number;
  /** First index not yet handed to the driver; offset <= offsetInProgress <= last + 1. */
  offsetInProgress: number;
  /** The snapshot was handed to the driver and is being persisted. */
  snapshotInProgress = false;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** Entries no Ready has handed out yet. */
  nextEntries(): Entry[] {
    const from = this.offsetInProgress - this.offset;
    return from >= this.entries.length ? [] : this.entries.slice(from);
  }

  hasNextEntries(): boolean {
    return this.offsetInProgress < this.offset + this.entries.length;
  }

  /** The snapshot, if no Ready has handed it out yet. */
  nextSnapshot(): Snapshot | null {
    return this.snapshotInProgress ? null : this.snapshot;
  }

  /** The driver took `entries` and `snapshot` (from one Ready) to persist them. */
  acceptInProgress(entries: readonly Entry[], snapshot: Snapshot | null): void {
    // Only the part still in the log: raft may have overwritten a tail since the Ready was taken
    // (the replacement must be handed out again). Log matching makes that part a prefix.
    for (let k = entries.length - 1; k >= 0; k--) {
      const e = entries[k]!;
      if (e.index >= this.offset && this.maybeTerm(e.index) === e.term) {
        this.offsetInProgress = Math.max(this.offsetInProgress, e.index + 1);
        break;
      }
    }
    if (snapshot !== null && snapshot === this.snapshot) this.snapshotInProgress = true;
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
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === index) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    if (from === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (from <= this.offset) {
      // Replaces the whole unstable tail, and (once persisted) part of storage.
      this.offset = from;
      this.offsetInProgress = from;
      this.entries = ents.slice();
    } else {
      this.entries = this.entries.slice(0, from - this.offset);
      for (const e of ents) this.entries.push(e);
      // Replaced entries must be handed out (and written) again.
      this.offsetInProgress = Math.min(this.offsetInProgress, from);
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

// What the driver needs from the durable Raft log: raft's read-only Storage plus the writes a Ready
// asks for. src/storage's LMDB log store implements it; MemoryLog (below) serves tests of the
// driver that do not care about durability.

import { MemoryStorage } from '../raft/index.js';
import type { ConfState, Entry, HardState, InitialState, Snapshot, Storage } from '../raft/index.js';

/** The durable part of one Ready. */
export interface ReadyWrite {
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly snapshot: Snapshot | null;
}

export interface LogStore extends Storage {
  /**
   * Persists a Ready's snapshot (replacing the log), entries (replacing any stored tail at or
   * after entries[0].index) and hard state in one write. With `sync` the promise resolves only
   * once the write is flushed to disk; without, once it is visible to raft's reads.
   */
  save(write: ReadyWrite, sync: boolean): Promise<void>;
  /**
   * `save`, durable when it returns (throws instead of rejecting). Optional: a log that has it can
   * join the driver's `atomically` transaction with the apply of earlier committed entries.
   */
  saveSync?(write: ReadyWrite): void;
  /** Records a snapshot point at applied index `index` (data lives in the state machine). */
  createSnapshot(index: number, confState: ConfState): Promise<void>;
  /** Discards entries before `index` (never past the latest snapshot). */
  compact(index: number): Promise<void>;
  close(): Promise<void>;
}

/** An in-memory LogStore: nothing survives the process. For driver tests only. */
export class MemoryLog implements LogStore {
  readonly mem: MemoryStorage;
  constructor(confState?: ConfState) {
    this.mem = new MemoryStorage(confState);
  }
  initialState(): InitialState {
    return this.mem.initialState();
  }
  entries(lo: number, hi: number, maxSize: number): Entry[] {
    return this.mem.entries(lo, hi, maxSize);
  }
  term(i: number): number {
    return this.mem.term(i);
  }
  lastIndex(): number {
    return this.mem.lastIndex();
  }
  firstIndex(): number {
    return this.mem.firstIndex();
  }
  snapshot(): Snapshot {
    return this.mem.snapshot();
  }
  save(w: ReadyWrite): Promise<void> {
    this.saveSync(w);
    return Promise.resolve();
  }
  saveSync(w: ReadyWrite): void {
    if (w.snapshot !== null) this.mem.applySnapshot(w.snapshot);
    this.mem.append(w.entries);
    if (w.hardState !== null) this.mem.setHardState(w.hardState);
  }
  createSnapshot(index: number, confState: ConfState): Promise<void> {
    if (index > this.mem.snapshot().metadata.index) this.mem.createSnapshot(index, confState, new Uint8Array(0));
    return Promise.resolve();
  }
  compact(index: number): Promise<void> {
    if (index >= this.mem.firstIndex()) this.mem.compact(index);
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

// Shared helpers for the Raft log store tests: entry builders, one "subject" shape over both raft's
// MemoryStorage and the LMDB RaftLogStore (so the same cases run against both), error matchers.
import assert from 'node:assert/strict';
import { MemoryStorage, isRaftError } from '../../src/raft/index.js';
import type { ConfState, Entry, EntryType, HardState, RaftErrorCode, Snapshot, SnapshotMetadata, Storage as RaftStorage } from '../../src/raft/index.js';
import { RaftLogStore, type RaftLogStoreOptions } from '../../src/storage/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

/** Entry with `size` bytes of data derived from (index, term), so content mismatches show. */
export function ent(index: number, term: number, size = 10, type: EntryType = 'normal'): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type, data };
}

/** A ~300-byte payload that is a function of (index, term), so every byte can be checked. */
export function payload(index: number, term: number): Uint8Array {
  const out = new Uint8Array(300);
  const head = new TextEncoder().encode(`entry ${index} term ${term} `);
  for (let i = 0; i < out.length; i++) out[i] = i < head.length ? head[i]! : (index + term * 13 + i) & 0xff;
  return out;
}

export function snap(index: number, term: number, confState: ConfState = CS): Snapshot {
  return { data: new Uint8Array([9, 9]), metadata: { index, term, confState } };
}

export const CS: ConfState = { voters: [1n, 2n, 3n], learners: [4n] };

/** The mutations both storages support, named after MemoryStorage's methods. */
export interface Subject {
  readonly name: string;
  readonly s: RaftStorage;
  append(ents: readonly Entry[]): void;
  applySnapshot(s: Snapshot): void;
  createSnapshot(i: number, cs: ConfState): SnapshotMetadata;
  compact(i: number): void;
  setHardState(hs: HardState): void;
  /** Where a case has set up its state: the "reopened" flavour closes and reopens the store here. */
  checkpoint(): Promise<void>;
  close(): Promise<void>;
}

export function memorySubject(): Subject {
  const m = new MemoryStorage();
  return {
    name: 'MemoryStorage',
    s: m,
    append: (ents) => m.append(ents),
    applySnapshot: (s) => m.applySnapshot(s),
    createSnapshot: (i, cs) => m.createSnapshot(i, cs, new Uint8Array(0)).metadata,
    compact: (i) => m.compact(i),
    setHardState: (hs) => m.setHardState(hs),
    checkpoint: async () => undefined,
    close: async () => undefined,
  };
}

/** A RaftLogStore in a fresh temp dir; with `reopen`, checkpoint() closes and reopens it. */
export function lmdbSubject(reopen: boolean, opts: RaftLogStoreOptions = {}, label = ''): Subject & { store(): RaftLogStore; tmp: TmpDir } {
  const tmp = makeTmpDir('keyward-raftlog-');
  const dir = tmp.sub('raft');
  let store = RaftLogStore.open(dir, opts);
  // The subject's `s` must stay the same object across reopen, so it forwards to the current store.
  const s: RaftStorage = {
    initialState: () => store.initialState(),
    entries: (lo, hi, max) => store.entries(lo, hi, max),
    term: (i) => store.term(i),
    lastIndex: () => store.lastIndex(),
    firstIndex: () => store.firstIndex(),
    snapshot: () => store.snapshot(),
  };
  return {
    name: `RaftLogStore${reopen ? ' (reopened)' : ''}${label}`,
    s,
    tmp,
    store: () => store,
    append: (ents) => store.saveSync({ hardState: null, entries: ents, snapshot: null }),
    applySnapshot: (sn) => store.saveSync({ hardState: null, entries: [], snapshot: sn }),
    createSnapshot: (i, cs) => store.setSnapshotMetadata(i, cs),
    compact: (i) => store.compactSync(i),
    setHardState: (hs) => store.saveSync({ hardState: hs, entries: [], snapshot: null }),
    checkpoint: async () => {
      if (!reopen) return;
      await store.close();
      store = RaftLogStore.open(dir, opts);
    },
    close: async () => {
      await store.close();
      tmp.cleanup();
    },
  };
}

/** A recent-entries copy of 2 entries: most reads span LMDB and memory. */
export const TINY_RECENT: RaftLogStoreOptions = { recentEntries: { maxEntries: 2 } };

export const FLAVOURS: readonly (() => Subject)[] = [
  memorySubject,
  () => lmdbSubject(false),
  () => lmdbSubject(true),
  () => lmdbSubject(false, TINY_RECENT, ', 2 recent entries in memory'),
  () => lmdbSubject(false, { recentEntries: { maxEntries: 0 } }, ', no entries in memory'),
];

export type Failure = RaftErrorCode | 'RangeError' | 'missing' | 'none';

/** What `fn` did, in terms both storages must agree on. */
export function outcome(fn: () => unknown): Failure {
  try {
    fn();
    return 'none';
  } catch (e) {
    if (isRaftError(e)) return e.code;
    if (e instanceof RangeError) return 'RangeError';
    if (e instanceof Error && /missing log entry/.test(e.message)) return 'missing';
    throw e;
  }
}

export function assertFails(fn: () => unknown, expected: Failure, what = ''): void {
  assert.equal(outcome(fn), expected, what);
}

/** Everything raft can observe through the Storage interface, as comparable plain data. */
export function observe(s: RaftStorage, maxSize = Number.MAX_SAFE_INTEGER): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const terms: (number | Failure)[] = [];
  for (let i = Math.max(0, first - 3); i <= last + 2; i++) {
    try {
      terms.push(s.term(i));
    } catch (e) {
      terms.push(outcome(() => {
        throw e;
      }));
    }
  }
  let ents: unknown;
  try {
    ents = s.entries(first, last + 1, maxSize).map(plainEntry);
  } catch (e) {
    ents = outcome(() => {
      throw e;
    });
  }
  const { hardState, confState } = s.initialState();
  return { first, last, terms, ents, meta: s.snapshot().metadata, hardState, confState };
}

export function plainEntry(e: Entry): { index: number; term: number; type: EntryType; data: number[] } {
  return { index: e.index, term: e.term, type: e.type, data: [...e.data] };
}

/** Small seeded PRNG (xorshift32), so a failing seed reproduces. */
export function rng(seed: number): { int(n: number): number; chance(p: number): boolean } {
  let x = seed >>> 0 || 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
  return { int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
}

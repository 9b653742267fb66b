// The key index: for every user key, the revisions it was written at, in memory (etcd's
// treeIndex). The history records themselves live in LMDB (`kv`, revision → record); the index is
// derived data, rebuilt from `kv` when the store opens (`KeyIndex.rebuild`), so the only key-ordered
// writes a put makes are the index's, in memory, and LMDB sees one append per change.
//
// Why in memory (format 2): with the index in two LMDB B-trees keyed by user key (`latest` and
// `keyrevs`, format 1) every put dirtied two random 4 KiB leaves and their branches — measured
// ~10 KiB written and fsynced per put at 16 connections, ~80 % of each commit's pages. etcd keeps
// the same split (bbolt keyed by revision, a B-tree index in memory).
//
// ENTRIES. A key's entries are (main, sub, tombstone) triples in ascending revision order, kept
// flat in one number array per key (three numbers per entry: cheap in V8, no object per entry).
// A key whose only entry has sub-revision 0 — most keys of a configuration store between
// compactions — is kept as one number instead: main for a put, -main for a tombstone (main ≥ 1
// always). That halves the index's heap per key (measured ~135 → ~65 bytes at 100,000 keys).
// Keys are ordered bytewise; the tree holds them as latin1 strings, whose code units are the
// bytes, so string order is byte order.
//
// INVARIANTS (every batch preserves them; test/mvcc/helpers.ts checks them against `kv`):
//   I1. For a key k, its entries in order are the revisions k was written at, ascending; a
//       tombstone ends a *generation*, the next put starts a new one.
//   I2. Every entry has a history record in `kv` at the same revision, a tombstone entry a
//       tombstone record, and every history record has its entry: the index equals the one
//       rebuilt from `kv`.
//   I3. A key with no entries is not in the tree.
//   I4. After compaction at C, a key has at most one entry with main ≤ C: a live one, or a
//       tombstone at exactly C (kept so a watch starting at C still sees that deletion).
//
// READING k at revision R: take k's last entry with main ≤ R. None, or a tombstone → k did not
// exist at R. Live → the history record at that revision is k's state at R. Entries newer than R
// are ignored, which is what lets a reader see the last committed revision while a later batch
// is still being written (pipelined persistence stages entries before their commit is visible).
//
// WORKED EXAMPLE (key "foo"; `@m.s` is revision main.s, `t` a tombstone):
//
//   rev 2  put foo=a                  foo: @2.0                    generations {2.0}
//   rev 3  put foo=b                  foo: @2.0 @3.0               {2.0 3.0}
//   rev 4  txn { put bar; del foo }   foo: ... @4.1t (bar got 4.0)  {2.0 3.0 4.1t}        — ended
//   rev 5  put foo=c                  foo: ... @5.0                {2.0 3.0 4.1t} {5.0}  — new generation
//   rev 6  put foo=d                  foo: ... @6.0                {2.0 3.0 4.1t} {5.0 6.0}
//   read @3 → 3.0 live → foo=b (create 2, version 2); read @4 → 4.1t → absent;
//   read @5 → foo=c (create 5, version 1): a new generation restarts create revision and version.
//
// COMPACTION at C removes, for every key, each entry (with its history record) superseded at or
// before C: all entries with main ≤ C except the last one, and that one too if it is a tombstone
// older than C. Reads at revisions ≥ C are unchanged. Continuing the example:
//   compact 3 → remove @2.0               foo: {3.0 4.1t} {5.0 6.0}    (read @3 still gives b)
//   compact 4 → remove @3.0               foo: {4.1t} {5.0 6.0}        (tombstone at C kept)
//   compact 5 → remove @4.1t              foo: {5.0 6.0}               (ended generation gone)
//   compact 6 → remove @5.0               foo: {6.0}
//   rev 7 del foo, compact 7 → remove @6.0; foo: {7.0t}: reads at 7 see no foo.
//   rev 8 put bar, compact 8 → remove @7.0t; foo has no entries and leaves the tree.
// test/mvcc/keyindex.test.ts replays this example.
//
// ROLLBACK. The index changes in memory while the batch's LMDB transaction may still abort, so
// every change is journaled between `begin()` and `end()`, and `rollback(mark)` takes changes back
// newest first (a failed batch, or one entry refused by a quota after it ran).
import { SortedMap } from '../adt/index.js';
import { encodeRevision, type Revision } from './revision.js';
import { CorruptError } from './errors.js';


export interface VersionAt {
  key: Uint8Array;
  rev: Revision;
  /** The 16 revision bytes: the entry's history record key in `kv`. */
  revBytes: Uint8Array;
  tombstone: boolean;
}

/** One undoable change: a triple appended to a key, or a key's oldest triples removed (compaction). */
type Change = { kind: 'append'; k: string } | { kind: 'removeHead'; k: string; triples: number[] } | { kind: 'compacted'; prev: number };

/** The tree's form of a user key: one latin1 code unit per byte, so string order is byte order. */
export function indexKey(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function userKey(k: string): Uint8Array {
  return Buffer.from(k, 'latin1');
}

/** A key's history as stored: one packed entry (see ENTRIES) or flat triples. */
type History = number | number[];

function stored(main: number, sub: number, tombstone: boolean): History {
  return sub === 0 ? (tombstone ? -main : main) : [main, sub, tombstone ? 1 : 0];
}

/** The triples of a stored history (a fresh array for a packed one). */
function triplesOf(h: History): number[] {
  return typeof h === 'number' ? [Math.abs(h), 0, h < 0 ? 1 : 0] : h;
}

function version(k: string, h: number[], i: number): VersionAt {
  const main = h[i]!;
  const sub = h[i + 1]!;
  return { key: userKey(k), rev: { main, sub }, revBytes: encodeRevision(main, sub), tombstone: h[i + 2] === 1 };
}

/** Position of the last triple of h with main ≤ atRev, or -1. */
function lastAt(h: number[], atRev: number): number {
  for (let i = h.length - 3; i >= 0; i -= 3) if (h[i]! <= atRev) return i;
  return -1;
}

export class KeyIndex {
  private readonly tree = new SortedMap<History>();
  private journal: Change[] | undefined;
  /** Entries in the index (for stats and tests). */
  private count = 0;
  private compacted = -1;

  /** k's triples for reading, if k is in the tree. */
  private read(k: string): number[] | undefined {
    const h = this.tree.get(k);
    return h === undefined ? undefined : triplesOf(h);
  }

  /** k's triples for changing in place (a packed history is unpacked into the tree first). */
  private writable(k: string): number[] | undefined {
    const h = this.tree.get(k);
    if (typeof h !== 'number') return h;
    const t = triplesOf(h);
    this.tree.set(k, t);
    return t;
  }

  get entries(): number {
    return this.count;
  }

  /**
   * The revision the index was last compacted at, possibly in a batch whose commit is not yet
   * visible: entries older than it may be gone, so reads below it must be refused as compacted
   * even while the committed meta record still shows the previous compaction.
   */
  get compactedAt(): number {
    return this.compacted;
  }

  /** Forgets everything (before a rebuild). */
  clear(compactedAt = -1): void {
    if (this.journal !== undefined) throw new Error('mvcc: key index cleared inside a batch');
    this.tree.clear();
    this.count = 0;
    this.compacted = compactedAt;
  }

  /**
   * Adds an entry while the index is rebuilt from `kv` in revision order. Refuses what `kv` can
   * only hold if it is corrupt: a revision not after the key's last one.
   */
  load(key: Uint8Array, main: number, sub: number, tombstone: boolean): void {
    const h = this.read(indexKey(key));
    if (h !== undefined) {
      const n = h.length;
      if (h[n - 3]! > main || (h[n - 3] === main && h[n - 2]! >= sub)) throw new CorruptError(`history of a key out of revision order at ${main}.${sub}`);
    }
    this.append(key, main, sub, tombstone);
  }

  // ---- journal ----------------------------------------------------------------------------------

  /** Starts journaling (a batch begins). */
  begin(): void {
    if (this.journal !== undefined) throw new Error('mvcc: key index batch already open');
    this.journal = [];
  }

  /** Stops journaling: the batch's changes are final. */
  end(): void {
    this.journal = undefined;
  }

  /** A point to roll back to. */
  mark(): number {
    return this.journal?.length ?? 0;
  }

  /** Takes back every change journaled after `mark`, newest first. */
  rollback(mark = 0): void {
    const j = this.journal;
    if (j === undefined) return;
    while (j.length > mark) {
      const c = j.pop()!;
      if (c.kind === 'compacted') {
        this.compacted = c.prev;
      } else if (c.kind === 'append') {
        const h = this.writable(c.k)!;
        h.length -= 3;
        if (h.length === 0) this.tree.delete(c.k);
        this.count--;
      } else {
        const h = this.writable(c.k);
        if (h === undefined) this.tree.set(c.k, c.triples);
        else h.unshift(...c.triples);
        this.count += c.triples.length / 3;
      }
    }
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** Appends k's entry at (main, sub): a put, or a tombstone. Revisions only grow. */
  append(key: Uint8Array, main: number, sub: number, tombstone: boolean): void {
    const k = indexKey(key);
    const h = this.writable(k);
    if (h === undefined) this.tree.set(k, stored(main, sub, tombstone));
    else h.push(main, sub, tombstone ? 1 : 0);
    this.count++;
    this.journal?.push({ kind: 'append', k });
  }

  /**
   * Compaction of one key at `to` (see COMPACTION): removes the entries superseded at or before
   * `to` and returns them, oldest first, for their history records to go too.
   */
  compactKey(key: Uint8Array, to: number): VersionAt[] {
    if (to > this.compacted) {
      this.journal?.push({ kind: 'compacted', prev: this.compacted });
      this.compacted = to;
    }
    const k = indexKey(key);
    const h = this.read(k);
    if (h === undefined) return [];
    const last = lastAt(h, to);
    if (last < 0) return [];
    // Entries [0, end) go: all with main ≤ to but the last, and the last too if a tombstone older than `to`.
    const end = h[last + 2] === 1 && h[last]! < to ? last + 3 : last;
    const out: VersionAt[] = [];
    for (let i = 0; i < end; i += 3) out.push(version(k, h, i));
    if (end === 0) return out;
    const w = this.writable(k)!;
    const triples = w.splice(0, end);
    this.journal?.push({ kind: 'removeHead', k, triples });
    this.count -= end / 3;
    if (w.length === 0) this.tree.delete(k);
    return out;
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** k's last entry with main ≤ atRev (the entry that decides k's state at atRev), if any. */
  at(key: Uint8Array, atRev: number): VersionAt | undefined {
    const k = indexKey(key);
    const h = this.read(k);
    if (h === undefined) return undefined;
    const i = lastAt(h, atRev);
    return i < 0 ? undefined : version(k, h, i);
  }

  /** k's last entry before revision `rev` (main.sub), if any. */
  before(key: Uint8Array, rev: Revision): VersionAt | undefined {
    const k = indexKey(key);
    const h = this.read(k);
    if (h === undefined) return undefined;
    for (let i = h.length - 3; i >= 0; i -= 3) {
      if (h[i]! < rev.main || (h[i] === rev.main && h[i + 1]! < rev.sub)) return version(k, h, i);
    }
    return undefined;
  }

  /**
   * The state-deciding entry at atRev of every key in [gte, lt) (lt absent = no end), in key
   * order or reversed, tombstones included.
   */
  *range(gte: Uint8Array, lt: Uint8Array | undefined, atRev: number, reverse = false): Generator<VersionAt> {
    const lo = indexKey(gte);
    const hi = lt === undefined ? undefined : indexKey(lt);
    if (!reverse) {
      for (const [k, h] of this.forward(lo, hi)) {
        const i = lastAt(h, atRev);
        if (i >= 0) yield version(k, h, i);
      }
      return;
    }
    for (const [k, value] of this.tree.entriesBelow(hi)) {
      if (k < lo) return;
      const h = triplesOf(value);
      const i = lastAt(h, atRev);
      if (i >= 0) yield version(k, h, i);
    }
  }

  /** How many keys in [gte, lt) are live at atRev. */
  countLive(gte: Uint8Array, lt: Uint8Array | undefined, atRev: number): number {
    let n = 0;
    for (const [, h] of this.forward(indexKey(gte), lt === undefined ? undefined : indexKey(lt))) {
      const i = lastAt(h, atRev);
      if (i >= 0 && h[i + 2] === 0) n++;
    }
    return n;
  }

  /** Keys in [lo, hi) (hi absent = no end) with their triples, ascending. */
  private *forward(lo: string, hi: string | undefined): Generator<[string, number[]]> {
    for (const [k, value] of this.tree.entries(lo)) {
      if (hi !== undefined && k >= hi) return;
      yield [k, triplesOf(value)];
    }
  }

  /** Every entry, in key order then revision order (tests and invariant checks). */
  *all(): Generator<VersionAt> {
    for (const [k, value] of this.tree.entries()) {
      const h = triplesOf(value);
      for (let i = 0; i < h.length; i += 3) yield version(k, h, i);
    }
  }
}

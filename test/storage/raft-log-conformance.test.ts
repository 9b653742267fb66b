// The same cases against raft's MemoryStorage (the reference the Raft core is simulated on) and the
// LMDB RaftLogStore, fresh and reopened after the case's setup: the LMDB store must answer exactly
// like MemoryStorage, errors included, and keep answering so across a restart. The cases follow
// the facts of etcd's raft storage tests (compacted / unavailable / size-limited reads, append
// with a conflicting tail, compaction, snapshots), written for this API.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY_HARD_STATE, ENTRY_OVERHEAD } from '../../src/raft/index.js';
import type { Entry } from '../../src/raft/index.js';
import {
  CS,
  FLAVOURS,
  TINY_RECENT,
  assertFails,
  ent,
  lmdbSubject,
  memorySubject,
  observe,
  outcome,
  plainEntry,
  rng,
  snap,
  type Subject,
} from './raft-helpers.js';

/** Log with the compaction point at 3 (term 3) and entries 4 (term 4), 5 (term 5). */
function base(x: Subject): void {
  x.applySnapshot(snap(3, 3));
  x.append([ent(4, 4), ent(5, 5)]);
}

const plain = (es: readonly Entry[]): unknown => es.map(plainEntry);

type Case = [string, (x: Subject) => Promise<void>];

const CASES: Case[] = [
  [
    'an empty storage: nothing stored, term(0) = 0, no snapshot',
    async (x) => {
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 1);
      assert.equal(x.s.lastIndex(), 0);
      assert.equal(x.s.term(0), 0);
      assertFails(() => x.s.term(1), 'Unavailable');
      assertFails(() => x.s.entries(1, 1, 100), 'Unavailable');
      assert.equal(x.s.snapshot().metadata.index, 0);
      assert.deepEqual(x.s.initialState(), { hardState: EMPTY_HARD_STATE, confState: { voters: [], learners: [] } });
    },
  ],
  [
    'term: Compacted below the compaction point, its own term at it, Unavailable past the end',
    async (x) => {
      base(x);
      await x.checkpoint();
      assertFails(() => x.s.term(2), 'Compacted');
      assert.equal(x.s.term(3), 3);
      assert.equal(x.s.term(4), 4);
      assert.equal(x.s.term(5), 5);
      assertFails(() => x.s.term(6), 'Unavailable');
      assert.equal(x.s.firstIndex(), 4);
      assert.equal(x.s.lastIndex(), 5);
    },
  ],
  [
    'entries: Compacted at or below the compaction point, RangeError past the end, size-limited but never empty',
    async (x) => {
      base(x);
      x.append([ent(6, 6, 10, 'confChange')]);
      await x.checkpoint();
      const size = 10 + ENTRY_OVERHEAD; // every entry here
      assertFails(() => x.s.entries(2, 6, Infinity), 'Compacted');
      assertFails(() => x.s.entries(3, 4, Infinity), 'Compacted');
      assertFails(() => x.s.entries(4, 8, Infinity), 'RangeError');
      assert.deepEqual(plain(x.s.entries(4, 5, Infinity)), plain([ent(4, 4)]));
      assert.deepEqual(plain(x.s.entries(5, 7, Infinity)), plain([ent(5, 5), ent(6, 6, 10, 'confChange')]));
      assert.deepEqual(plain(x.s.entries(4, 7, Infinity)), plain([ent(4, 4), ent(5, 5), ent(6, 6, 10, 'confChange')]));
      assert.deepEqual(x.s.entries(5, 5, Infinity), []);
      for (const [max, n] of [
        [0, 1],
        [size, 1],
        [2 * size - 1, 1],
        [2 * size, 2],
        [3 * size - 1, 2],
        [3 * size, 3],
        [Number.MAX_SAFE_INTEGER, 3],
      ] as const) {
        assert.equal(x.s.entries(4, 7, max).length, n, `maxSize ${max}`);
      }
    },
  ],
  [
    'firstIndex / lastIndex follow appends and compaction',
    async (x) => {
      base(x);
      x.append([ent(6, 5)]);
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 4);
      assert.equal(x.s.lastIndex(), 6);
      x.createSnapshot(5, CS);
      x.compact(4);
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 5);
      assert.equal(x.s.lastIndex(), 6);
    },
  ],
  [
    'compact: Compacted at or below the point; the compaction index keeps its term; RangeError past the end',
    async (x) => {
      base(x);
      x.createSnapshot(5, CS);
      assertFails(() => x.compact(2), 'Compacted');
      assertFails(() => x.compact(3), 'Compacted');
      assertFails(() => x.compact(6), 'RangeError');
      x.compact(4);
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 5);
      assert.equal(x.s.term(4), 4);
      assertFails(() => x.s.term(3), 'Compacted');
      assertFails(() => x.s.entries(4, 5, Infinity), 'Compacted');
      assert.deepEqual(plain(x.s.entries(5, 6, Infinity)), plain([ent(5, 5)]));
      x.compact(5);
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 6);
      assert.equal(x.s.lastIndex(), 5);
      assert.equal(x.s.term(5), 5);
      assertFails(() => x.s.entries(6, 6, Infinity), 'Unavailable');
      assertFails(() => x.compact(5), 'Compacted');
    },
  ],
  [
    'createSnapshot: takes the term from the log; SnapOutOfDate if not newer; RangeError past the end',
    async (x) => {
      base(x);
      assertFails(() => x.createSnapshot(3, CS), 'SnapOutOfDate');
      assertFails(() => x.createSnapshot(6, CS), 'RangeError');
      assert.deepEqual(x.createSnapshot(4, CS), { index: 4, term: 4, confState: CS });
      await x.checkpoint();
      assert.deepEqual(x.s.snapshot().metadata, { index: 4, term: 4, confState: CS });
      assert.deepEqual(x.s.initialState().confState, CS);
      assertFails(() => x.createSnapshot(4, CS), 'SnapOutOfDate');
      const cs2 = { voters: [1n, 2n], learners: [] };
      assert.deepEqual(x.createSnapshot(5, cs2), { index: 5, term: 5, confState: cs2 });
      await x.checkpoint();
      assert.deepEqual(x.s.initialState().confState, cs2);
      // Creating a snapshot does not compact.
      assert.equal(x.s.firstIndex(), 4);
    },
  ],
  ...(
    [
      ['the same entries again: unchanged', [ent(3, 3), ent(4, 4), ent(5, 5)], [ent(4, 4), ent(5, 5)]],
      ['a conflicting suffix replaces the stored one', [ent(3, 3), ent(4, 6), ent(5, 6)], [ent(4, 6), ent(5, 6)]],
      ['a longer log extends', [ent(3, 3), ent(4, 4), ent(5, 5), ent(6, 5)], [ent(4, 4), ent(5, 5), ent(6, 5)]],
      ['entries below the first are ignored; a conflict truncates', [ent(2, 3), ent(3, 3), ent(4, 5)], [ent(4, 5)]],
      ['a conflict in the middle drops everything after it', [ent(4, 5)], [ent(4, 5)]],
      ['appending right after the end', [ent(6, 5)], [ent(4, 4), ent(5, 5), ent(6, 5)]],
      ['entries all compacted: nothing changes', [ent(1, 1), ent(2, 2)], [ent(4, 4), ent(5, 5)]],
      ['an empty append: nothing changes', [], [ent(4, 4), ent(5, 5)]],
      ['different data under the same index and term is replaced too', [ent(5, 5, 40)], [ent(4, 4), ent(5, 5, 40)]],
    ] as [string, Entry[], Entry[]][]
  ).map(
    ([name, input, want]): Case => [
      `append: ${name}`,
      async (x) => {
        base(x);
        x.append(input);
        await x.checkpoint();
        assert.deepEqual(plain(x.s.entries(4, x.s.lastIndex() + 1, Infinity)), plain(want));
        assert.equal(x.s.lastIndex(), want[want.length - 1]!.index);
        assert.equal(x.s.term(x.s.lastIndex()), want[want.length - 1]!.term);
        assert.equal(x.s.firstIndex(), 4);
      },
    ],
  ),
  [
    'append: a gap after the end is refused and changes nothing',
    async (x) => {
      base(x);
      assertFails(() => x.append([ent(7, 5)]), 'missing');
      await x.checkpoint();
      assert.equal(x.s.lastIndex(), 5);
      assertFails(() => x.s.term(6), 'Unavailable');
    },
  ],
  [
    'a truncated tail is gone: Unavailable past the new end, and the new entry is served',
    async (x) => {
      base(x);
      x.append([ent(6, 5), ent(7, 5)]);
      x.append([ent(5, 6)]);
      await x.checkpoint();
      assert.equal(x.s.lastIndex(), 5);
      assertFails(() => x.s.term(6), 'Unavailable');
      assertFails(() => x.s.entries(4, 7, Infinity), 'RangeError');
      assert.deepEqual(plain(x.s.entries(4, 6, Infinity)), plain([ent(4, 4), ent(5, 6)]));
      x.append([ent(6, 6)]);
      await x.checkpoint();
      assert.deepEqual(plain(x.s.entries(6, 7, Infinity)), plain([ent(6, 6)]));
    },
  ],
  [
    'applySnapshot replaces the whole log; an older or equal snapshot is SnapOutOfDate',
    async (x) => {
      base(x);
      assertFails(() => x.applySnapshot(snap(3, 3)), 'SnapOutOfDate');
      assertFails(() => x.applySnapshot(snap(2, 2)), 'SnapOutOfDate');
      x.applySnapshot(snap(4, 4, { voters: [7n], learners: [] }));
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 5);
      assert.equal(x.s.lastIndex(), 4);
      assert.equal(x.s.term(4), 4);
      assertFails(() => x.s.term(5), 'Unavailable');
      assert.deepEqual(x.s.snapshot().metadata, { index: 4, term: 4, confState: { voters: [7n], learners: [] } });
      assert.deepEqual(x.s.initialState().confState, { voters: [7n], learners: [] });
      // A snapshot far past the end.
      x.applySnapshot(snap(100, 9));
      x.append([ent(101, 9)]);
      await x.checkpoint();
      assert.equal(x.s.firstIndex(), 101);
      assert.equal(x.s.lastIndex(), 101);
      assert.equal(x.s.term(100), 9);
      assertFails(() => x.s.term(99), 'Compacted');
    },
  ],
  [
    'initialState returns the saved hard state and the snapshot membership',
    async (x) => {
      base(x);
      x.setHardState({ term: 5, vote: 2n, commit: 4 });
      await x.checkpoint();
      assert.deepEqual(x.s.initialState(), { hardState: { term: 5, vote: 2n, commit: 4 }, confState: CS });
      x.setHardState({ term: 6, vote: 0n, commit: 5 });
      await x.checkpoint();
      assert.deepEqual(x.s.initialState().hardState, { term: 6, vote: 0n, commit: 5 });
    },
  ],
  [
    'entries handed out stay unchanged by later writes',
    async (x) => {
      base(x);
      const before = x.s.entries(4, 6, Infinity);
      const copy = plain(before);
      x.append([ent(5, 7, 10), ent(6, 7, 500)]);
      x.s.entries(4, 7, Infinity);
      assert.deepEqual(plain(before), copy);
    },
  ],
];

for (const make of FLAVOURS) {
  const name = make().name; // memory subject: cheap; the LMDB ones are closed below
  describe(`raft Storage conformance: ${name}`, () => {
    for (const [title, fn] of CASES) {
      it(title, async () => {
        const x = make();
        try {
          await fn(x);
        } finally {
          await x.close();
        }
      });
    }
  });
}

// A random walk of mutations applied to MemoryStorage and to the LMDB store side by side (with
// reopens): after every step both must have failed alike and must look identical through every
// read raft can make. Seeds reproduce.
describe('raft Storage conformance: random walk against MemoryStorage', () => {
  const seen = new Map<string, number>();
  // Seeds 1-4 keep only 2 recent entries in memory (reads mostly mix LMDB and memory), 5-6 the default.
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`seed ${seed}`, async () => {
      const r = rng(seed);
      const mem = memorySubject();
      const lm = lmdbSubject(true, seed <= 4 ? TINY_RECENT : {});
      try {
        // The walk stays within what raft does (the LMDB store refuses the rest, MemoryStorage
        // does not check): terms never go down, one vote per term, nothing at or below the
        // commit index or the snapshot is ever overwritten, a received snapshot is past commit.
        let term = 1;
        let vote = 0n;
        let commit = 0;
        for (let step = 0; step < 250; step++) {
          const first = mem.s.firstIndex();
          const last = mem.s.lastIndex();
          const si = mem.s.snapshot().metadata.index;
          const op = r.int(10);
          let run: (x: Subject) => void;
          let what: string;
          if (op < 5) {
            // Append from somewhere around the end, sometimes overwriting a tail with a newer term.
            const from = Math.max(1, commit + 1, si + 1, last + 1 - r.int(4) + (r.chance(0.05) ? 2 : 0));
            if (r.chance(0.3)) term++;
            const n = r.int(6);
            const prevTerm = from - 1 >= first - 1 && from - 1 <= last ? mem.s.term(from - 1) : 0;
            const t = Math.max(term, prevTerm);
            const ents = Array.from({ length: n }, (_, k) => ent(from + k, t, r.int(300)));
            what = `append ${from}+${n} t${t}`;
            run = (x) => x.append(ents);
          } else if (op === 5) {
            const i = first - 1 + r.int(last - first + 3);
            const cs = { voters: [BigInt(1 + r.int(5))], learners: [] };
            what = `createSnapshot ${i}`;
            run = (x) => void x.createSnapshot(i, cs);
          } else if (op === 6) {
            // Compact only up to the snapshot (the LMDB store refuses more, by design).
            const i = first - 2 + r.int(Math.max(1, si - first + 3));
            what = `compact ${i}`;
            run = (x) => x.compact(i);
          } else if (op === 7) {
            const i = Math.max(commit, si - 2 + r.int(last - si + 8));
            term = Math.max(term, r.chance(0.5) ? term + 1 : term);
            const t = Math.max(term, i <= last && i >= first - 1 ? mem.s.term(i) : 0);
            const sn = snap(i, t, { voters: [1n], learners: [BigInt(1 + r.int(3))] });
            what = `applySnapshot ${i} t${t}`;
            run = (x) => x.applySnapshot(sn);
          } else {
            if (r.chance(0.3)) {
              term++;
              vote = 0n;
            }
            if (vote === 0n && r.chance(0.5)) vote = BigInt(1 + r.int(3));
            const hs = { term, vote, commit: Math.max(commit, last - r.int(3)) };
            what = `hardState ${hs.term}/${hs.vote}/${hs.commit}`;
            run = (x) => x.setHardState(hs);
            commit = hs.commit;
          }
          const a = outcome(() => run(mem));
          const b = outcome(() => run(lm));
          assert.equal(b, a, `step ${step} ${what}`);
          const kind = `${what.split(' ')[0]}:${a}`;
          seen.set(kind, (seen.get(kind) ?? 0) + 1);
          if (r.chance(0.1)) await lm.checkpoint();
          const maxSize = r.chance(0.5) ? Number.MAX_SAFE_INTEGER : r.int(2000);
          assert.deepEqual(observe(lm.s, maxSize), observe(mem.s, maxSize), `step ${step} after ${what}`);
          // And a random window, which may start on disk and end in the in-memory recent entries.
          const f = mem.s.firstIndex();
          const l = mem.s.lastIndex();
          const lo = f - 1 + r.int(l - f + 3);
          const hi = lo + r.int(l - lo + 3);
          const slice = (x: Subject): unknown => {
            try {
              return x.s.entries(lo, hi, maxSize).map(plainEntry);
            } catch (e) {
              return outcome(() => {
                throw e;
              });
            }
          };
          assert.deepEqual(slice(lm), slice(mem), `step ${step} entries(${lo}, ${hi}, ${maxSize})`);
        }
      } finally {
        await mem.close();
        await lm.close();
      }
    });
  }
  it('the walks took every kind of step, refusals included', () => {
    for (const k of ['append:none', 'append:missing', 'createSnapshot:none', 'createSnapshot:SnapOutOfDate', 'createSnapshot:RangeError']) {
      assert.ok((seen.get(k) ?? 0) > 0, `${k} never happened: ${JSON.stringify([...seen])}`);
    }
    for (const k of ['compact:none', 'compact:Compacted', 'applySnapshot:none', 'applySnapshot:SnapOutOfDate', 'hardState:none']) {
      assert.ok((seen.get(k) ?? 0) > 0, `${k} never happened: ${JSON.stringify([...seen])}`);
    }
  });
});

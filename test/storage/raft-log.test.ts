// RaftLogStore beyond the shared conformance cases: whole-Ready saves, the refusals that protect
// raft's invariants (L12 among them), persistence, corruption detection (D11), the driver-facing
// promise API, and a real RawNode running on the store across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { RawNode, decodeConfChange, isRaftError } from '../../src/raft/index.js';
import type { ConfState, Entry, HardState, Ready } from '../../src/raft/index.js';
import { RaftLogStore, Storage, StorageError, SUB_DBS, RAFT_SUB_DBS, type Table } from '../../src/storage/index.js';
import {
  META_KEYS,
  decodeEntry,
  decodeHardState,
  decodeSnapshotMetadata,
  encodeEntry,
  encodeFormat,
  encodeHardState,
  encodeSnapshotMetadata,
  indexKey,
} from '../../src/storage/raft-codec.js';
import { withTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { CS, ent, observe, plainEntry, snap } from './raft-helpers.js';

const isCorrupt = (e: unknown): boolean => e instanceof StorageError && e.code === 'CORRUPT';

async function withStore<T>(fn: (store: RaftLogStore, dir: string, tmp: TmpDir) => Promise<T>): Promise<T> {
  return withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    const store = RaftLogStore.open(dir);
    try {
      return await fn(store, dir, tmp);
    } finally {
      await store.close();
    }
  });
}

/** Opens the raft environment raw (the store must be closed), for tests that damage it. */
async function raw(dir: string, fn: (s: Storage, ents: Table, meta: Table) => void): Promise<void> {
  const s = Storage.open(dir, { subDbs: RAFT_SUB_DBS });
  try {
    fn(s, s.table(SUB_DBS.raftEntries), s.table(SUB_DBS.raftMeta));
  } finally {
    await s.close();
  }
}

/** A log of entries 1..n (term 1 up to 3, then 2), hard state term 2 / vote 1 / commit n-1. */
function fill(store: RaftLogStore, n = 6): void {
  const ents = Array.from({ length: n }, (_, k) => ent(k + 1, k < 3 ? 1 : 2, 20));
  store.saveSync({ hardState: { term: 2, vote: 1n, commit: n - 1 }, entries: ents, snapshot: null });
}

test('the raft environment is a 0700 directory with 0600 files holding only the raft sub-databases', async () => {
  await withStore(async (store, dir) => {
    fill(store);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of ['data.mdb', 'lock.mdb']) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
    // It cannot be opened as a state environment by mistake, nor the other way round.
    assert.throws(() => Storage.open(dir), (e: unknown) => e instanceof StorageError && e.code === 'OPEN_FAILED');
  });
  await withTmpDir(async (tmp) => {
    const state = Storage.open(tmp.sub('state'));
    await state.transact('flushed', (txn) => txn.put(state.table(SUB_DBS.mvccMeta), new Uint8Array([1]), new Uint8Array([1])));
    await state.close();
    assert.throws(() => RaftLogStore.open(tmp.sub('state')), (e: unknown) => e instanceof StorageError && e.code === 'OPEN_FAILED');
  });
});

test('one save persists a received snapshot, the entries after it and the hard state together', async () => {
  await withStore(async (store, dir) => {
    fill(store);
    store.saveSync({
      snapshot: snap(10, 3),
      entries: [ent(9, 3), ent(10, 3), ent(11, 3), ent(12, 3)], // 9 and 10 are covered by the snapshot
      hardState: { term: 3, vote: 0n, commit: 10 },
    });
    const check = (s: RaftLogStore): void => {
      assert.equal(s.firstIndex(), 11);
      assert.equal(s.lastIndex(), 12);
      assert.equal(s.term(10), 3);
      assert.deepEqual(s.snapshot().metadata, { index: 10, term: 3, confState: CS });
      assert.equal(s.snapshot().data.length, 0);
      assert.deepEqual(s.initialState(), { hardState: { term: 3, vote: 0n, commit: 10 }, confState: CS });
      assert.deepEqual(s.entries(11, 13, Infinity).map(plainEntry), [ent(11, 3), ent(12, 3)].map(plainEntry));
    };
    check(store);
    await store.close();
    const again = RaftLogStore.open(dir);
    check(again);
    await again.close();
    await raw(dir, (_s, ents) => assert.deepEqual([...ents.keys()].map((k) => Buffer.from(k).readBigUInt64BE()), [11n, 12n]));
  });
});

test('refusals happen before anything is written', async () => {
  await withStore(async (store, dir) => {
    fill(store); // term 2, vote 1, commit 5, entries 1..6
    const before = observe(store);
    const refused: [string, () => void, (e: unknown) => boolean][] = [
      ['hard state term going down', () => store.saveSync({ hardState: { term: 1, vote: 0n, commit: 5 }, entries: [], snapshot: null }), isPlainError],
      // L12: a second, different vote in a term already voted in.
      ['a second vote in one term', () => store.saveSync({ hardState: { term: 2, vote: 3n, commit: 5 }, entries: [], snapshot: null }), isPlainError],
      ['withdrawing the vote in the same term', () => store.saveSync({ hardState: { term: 2, vote: 0n, commit: 5 }, entries: [], snapshot: null }), isPlainError],
      ['commit past the last index', () => store.saveSync({ hardState: { term: 2, vote: 1n, commit: 7 }, entries: [], snapshot: null }), isPlainError],
      ['entries not contiguous', () => store.saveSync({ hardState: null, entries: [ent(7, 2), ent(9, 2)], snapshot: null }), isRange],
      ['a term-0 entry', () => store.saveSync({ hardState: null, entries: [ent(7, 0)], snapshot: null }), isRange],
      ['terms going down inside a batch', () => store.saveSync({ hardState: null, entries: [ent(7, 3), ent(8, 2)], snapshot: null }), isRange],
      ['an entry older than its predecessor', () => store.saveSync({ hardState: null, entries: [ent(5, 1)], snapshot: null }), isRange],
      ['a gap', () => store.saveSync({ hardState: null, entries: [ent(8, 2)], snapshot: null }), (e) => /missing log entry/.test(String(e))],
      ['index 0', () => store.saveSync({ hardState: null, entries: [ent(0, 1)], snapshot: null }), isRange],
      ['an unsafe index', () => store.saveSync({ hardState: null, entries: [ent(2 ** 53, 2)], snapshot: null }), isRange],
      [
        // A valid hard state together with a bad entry: the hard state is not written either.
        'a good hard state with a bad entry',
        () => store.saveSync({ hardState: { term: 5, vote: 2n, commit: 5 }, entries: [ent(7, 2), ent(7, 2)], snapshot: null }),
        isRange,
      ],
      [
        'an old snapshot with entries and a hard state',
        () => {
          store.setSnapshotMetadata(4, CS);
          store.saveSync({ hardState: { term: 9, vote: 0n, commit: 4 }, entries: [ent(5, 9)], snapshot: snap(3, 1) });
        },
        (e) => isRaftError(e, 'SnapOutOfDate'),
      ],
      ['compaction past the snapshot', () => store.compactSync(5), isRange],
    ];
    for (const [what, fn, ok] of refused) {
      assert.throws(fn, ok, what);
      // The snapshot point (and the membership it carries) is moved on purpose by one case.
      const now = observe(store) as object;
      assert.deepEqual({ ...now, meta: null, confState: null }, { ...(before as object), meta: null, confState: null }, what);
    }
    await store.close();
    const again = RaftLogStore.open(dir);
    assert.deepEqual((observe(again) as { hardState: HardState }).hardState, { term: 2, vote: 1n, commit: 5 });
    assert.equal(again.lastIndex(), 6);
    // What raft does is still accepted: a vote in a new term, a new leader's entries over an uncommitted tail.
    again.saveSync({ hardState: { term: 3, vote: 3n, commit: 5 }, entries: [ent(6, 3)], snapshot: null });
    again.saveSync({ hardState: { term: 3, vote: 3n, commit: 6 }, entries: [], snapshot: null });
    assert.deepEqual(again.hardState(), { term: 3, vote: 3n, commit: 6 });
    await again.close();
  });
});

const isPlainError = (e: unknown): boolean => e instanceof Error && !(e instanceof RangeError) && !(e instanceof TypeError);
const isRange = (e: unknown): boolean => e instanceof RangeError;

test('terms of a long log with many term changes survive reopen; compaction removes the records', async () => {
  await withStore(async (store, dir) => {
    const want: number[] = [0];
    let term = 1;
    for (let i = 1; i <= 3000; ) {
      if (i % 37 === 0) term++;
      const n = 1 + (i % 9);
      const ents: Entry[] = [];
      for (let k = 0; k < n; k++, i++) {
        ents.push(ent(i, term, 30));
        want[i] = term;
      }
      store.saveSync({ hardState: { term, vote: 1n, commit: i - 2 }, entries: ents, snapshot: null });
    }
    const last = store.lastIndex();
    const check = (s: RaftLogStore, from: number): void => {
      for (let i = from; i <= last; i++) assert.equal(s.term(i), want[i], `term(${i})`);
      assert.equal(s.lastTerm(), want[last]);
    };
    check(store, 1);
    store.setSnapshotMetadata(2500, CS);
    store.compactSync(2000);
    check(store, 2000);
    await store.close();
    await raw(dir, (_s, ents) => assert.equal(ents.count(), last - 2000));
    const again = RaftLogStore.open(dir);
    check(again, 2000);
    assert.equal(again.firstIndex(), 2001);
    // A new leader overwrites the tail with a higher term; the term runs follow.
    again.saveSync({ hardState: { term: term + 1, vote: 2n, commit: 2600 }, entries: [ent(2700, term + 1)], snapshot: null });
    assert.equal(again.lastIndex(), 2700);
    assert.equal(again.term(2700), term + 1);
    assert.equal(again.term(2699), want[2699]);
    await again.close();
  });
});

test('the promise API (the driver\'s LogStore shape) is already settled and idempotent where MemoryLog is', async () => {
  await withStore(async (store) => {
    const rd = { hardState: { term: 1, vote: 1n, commit: 0 }, entries: [ent(1, 1), ent(2, 1), ent(3, 1)], snapshot: null };
    await store.save(rd, true);
    assert.equal(store.lastIndex(), 3);
    await assert.rejects(store.save({ hardState: null, entries: [ent(9, 1)], snapshot: null }, false), /missing log entry/);
    await store.createSnapshot(2, CS);
    await store.createSnapshot(2, CS); // not newer: nothing to do
    await store.createSnapshot(1, CS);
    assert.equal(store.snapshot().metadata.index, 2);
    await store.compact(2);
    await store.compact(2); // already compacted: nothing to do
    await store.compact(1);
    assert.equal(store.firstIndex(), 3);
    await assert.rejects(store.compact(3), RangeError); // past the snapshot
    await assert.rejects(store.createSnapshot(9, CS), RangeError); // past the end
  });
});

test('compact (the promise form) removes a long prefix in steps, yielding to the event loop between them', async () => {
  await withStore(async (store, dir) => {
    for (let i = 1; i <= 3500; i += 50) {
      store.saveSync({ hardState: null, entries: Array.from({ length: 50 }, (_, k) => ent(i + k, 1 + Math.floor((i + k) / 1000))), snapshot: null });
    }
    store.setSnapshotMetadata(3200, CS);
    let turns = 0;
    let ticking = true;
    const tick = (): void => {
      if (!ticking) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await store.compact(3100);
    ticking = false;
    assert.ok(turns >= 3, `only ${turns} event-loop turns during a 3100-entry compaction`);
    assert.equal(store.firstIndex(), 3101);
    assert.equal(store.term(3100), 4);
    await assert.rejects(store.compact(3300), RangeError); // past the snapshot: refused before any step
    assert.equal(store.firstIndex(), 3101);
    await store.close();
    await raw(dir, (_s, ents) => assert.equal(ents.count(), 400));
    const again = RaftLogStore.open(dir);
    assert.equal(again.firstIndex(), 3101);
    await again.close();
  });
});

test('a Ready object can be saved as is', async () => {
  await withStore(async (store) => {
    const node = new RawNode({ id: 1n, storage: store, electionTick: 10, heartbeatTick: 1, randomInt: () => 0 });
    node.bootstrap([1n]);
    const rd: Ready = node.ready();
    store.saveSync(rd);
    node.advance(rd);
    assert.equal(store.lastIndex(), 1);
    assert.deepEqual(store.hardState(), { term: 1, vote: 0n, commit: 1 });
  });
});

/** Runs a single-voter RawNode on the store until it has nothing more to do; returns what it applied. */
function drive(node: RawNode, store: RaftLogStore, applied: Entry[], onConf: (cs: ConfState) => void): void {
  while (node.hasReady()) {
    const rd = node.ready();
    store.saveSync(rd);
    for (const e of rd.committedEntries) {
      applied.push(e);
      if (e.type === 'confChange') onConf(node.applyConfChange(decodeConfChange(e.data)));
    }
    node.advance(rd);
  }
}

test('a RawNode runs on the store, snapshots, compacts, and restarts from it with the same log and hard state', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    let store = RaftLogStore.open(dir);
    const cfg = { id: 1n, electionTick: 10, heartbeatTick: 1, randomInt: () => 0 };
    let node = new RawNode({ ...cfg, storage: store });
    node.bootstrap([1n]);
    const applied: Entry[] = [];
    let conf: ConfState = { voters: [], learners: [] };
    drive(node, store, applied, (cs) => (conf = cs));
    node.campaign();
    drive(node, store, applied, (cs) => (conf = cs));
    assert.equal(node.status().role, 'leader');
    for (let i = 0; i < 200; i++) {
      node.propose(new TextEncoder().encode(`p${i}`));
      if (i % 7 === 0) drive(node, store, applied, (cs) => (conf = cs));
    }
    drive(node, store, applied, (cs) => (conf = cs));
    const lastApplied = applied[applied.length - 1]!.index;
    assert.equal(node.status().commit, lastApplied);
    store.setSnapshotMetadata(lastApplied - 10, conf);
    store.compactSync(lastApplied - 50);
    const before = node.status();
    await store.close();

    store = RaftLogStore.open(dir);
    assert.deepEqual(store.initialState(), { hardState: { term: before.term, vote: before.vote, commit: before.commit }, confState: { voters: [1n], learners: [] } });
    node = new RawNode({ ...cfg, storage: store, applied: lastApplied });
    const after = node.status();
    assert.equal(after.term, before.term);
    assert.equal(after.commit, before.commit);
    assert.equal(after.lastIndex, before.lastIndex);
    // The retained entries are the ones applied before the restart.
    const kept = store.entries(store.firstIndex(), store.lastIndex() + 1, Infinity);
    assert.deepEqual(kept.map(plainEntry), applied.filter((e) => e.index >= store.firstIndex()).map(plainEntry));
    // It leads again and commits new proposals on top.
    node.campaign();
    const more: Entry[] = [];
    drive(node, store, more, () => undefined);
    node.propose(new TextEncoder().encode('after-restart'));
    drive(node, store, more, () => undefined);
    assert.equal(new TextDecoder().decode(more[more.length - 1]!.data), 'after-restart');
    assert.ok(store.hardState().term > before.term);
    await store.close();
  });
});

// ---- D11: damaged data is detected, never served ---------------------------------------------

/** Flips one bit of every copy of `marker` in the file (LMDB keeps stale copies in free pages). */
function flipInFile(file: string, marker: Uint8Array): number {
  const buf = readFileSync(file);
  const fd = openSync(file, 'r+');
  let n = 0;
  try {
    for (let at = buf.indexOf(marker); at >= 0; at = buf.indexOf(marker, at + 1)) {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, at + 3);
      b[0]! ^= 0x10;
      writeSync(fd, b, 0, 1, at + 3);
      n++;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

test('D11: a bit flipped on disk under a running store is caught by the checksum on read, and at the next open', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    // Without the in-memory copies of recent entries (which hold what was written, not what the
    // disk now says), every read goes to LMDB.
    const store = RaftLogStore.open(dir, { recentEntries: { maxEntries: 0 } });
    fill(store);
    const marker = new TextEncoder().encode('<<entry-7-payload-marker>>');
    store.saveSync({ hardState: null, entries: [{ index: 7, term: 2, type: 'normal', data: marker }, ent(8, 2)], snapshot: null });
    assert.ok(flipInFile(join(dir, 'data.mdb'), marker) >= 1);
    // The LMDB file is memory-mapped: the damage is visible to the running store at once.
    assert.throws(() => store.entries(6, 9, Infinity), isCorrupt);
    assert.throws(() => store.entries(7, 8, Infinity), isCorrupt);
    assert.deepEqual(store.entries(8, 9, Infinity).map(plainEntry), [plainEntry(ent(8, 2))]);
    assert.deepEqual(store.entries(1, 7, Infinity).length, 6);
    await store.close();
    assert.throws(() => RaftLogStore.open(dir), isCorrupt);
  });
});

test('recent entries are served from memory within their bounds, and are copies the caller cannot change', async () => {
  await withTmpDir(async (tmp) => {
    const dir = tmp.sub('raft');
    const store = RaftLogStore.open(dir, { recentEntries: { maxEntries: 100, maxBytes: 1000 } });
    const big = Array.from({ length: 8 }, (_, k) => ent(k + 1, 1, 300)); // 2400 bytes: only 3 fit
    const given = big.map((e) => ({ ...e, data: Uint8Array.from(e.data) }));
    store.saveSync({ hardState: null, entries: given, snapshot: null });
    for (const e of given) e.data.fill(0); // the caller reuses its buffers
    const marker = new TextEncoder().encode('<<entry-9-payload-marker>>');
    store.saveSync({ hardState: null, entries: [{ index: 9, term: 1, type: 'normal', data: marker }], snapshot: null });
    assert.deepEqual(store.entries(1, 10, Infinity).map(plainEntry).slice(0, 8), big.map(plainEntry));
    // Damage on disk under entry 9, which is still in memory: reads get the intact copy, and
    // the next open refuses the damaged file.
    assert.ok(flipInFile(join(dir, 'data.mdb'), marker) >= 1);
    assert.equal(new TextDecoder().decode(store.entries(9, 10, Infinity)[0]!.data), '<<entry-9-payload-marker>>');
    await store.close();
    assert.throws(() => RaftLogStore.open(dir), isCorrupt);
  });
});

const damages: [string, (ents: Table, meta: Table, put: (t: Table, k: Uint8Array, v: Uint8Array) => void, del: (t: Table, k: Uint8Array) => void) => void, RegExp][] = [
  ['a truncated entry record', (ents, _m, put) => put(ents, indexKey(4), ents.get(indexKey(4))!.subarray(0, 20)), /entry 4/],
  ['a record shorter than its header', (ents, _m, put) => put(ents, indexKey(4), new Uint8Array(5)), /entry 4: record of 5 bytes/],
  ['an entry record under another index', (ents, _m, put) => put(ents, indexKey(5), ents.get(indexKey(4))!), /entry 5: checksum/],
  ['a hole in the log', (ents, _m, _p, del) => del(ents, indexKey(3)), /entry 3 is missing/],
  ['an entry below the compaction point', (ents, _m, put) => put(ents, indexKey(1), encodeEntry(ent(1, 1))), /at or below the compaction point/],
  ['a terms-going-down log (with valid checksums)', (ents, _m, put) => put(ents, indexKey(6), encodeEntry(ent(6, 1))), /term 1 below/],
  ['a bad key length', (ents, _m, put) => put(ents, new Uint8Array(9).fill(0xff), encodeEntry(ent(9, 2))), /key of 9 bytes/],
  [
    'a flipped bit in the hard state',
    (_e, meta, put) => {
      const v = Uint8Array.from(meta.get(META_KEYS.hardState)!);
      v[10]! ^= 1;
      put(meta, META_KEYS.hardState, v);
    },
    /hard state record: checksum/,
  ],
  [
    'a flipped bit in the snapshot metadata',
    (_e, meta, put) => {
      const v = Uint8Array.from(meta.get(META_KEYS.snapshot)!);
      v[v.length - 1]! ^= 0x80;
      put(meta, META_KEYS.snapshot, v);
    },
    /snapshot metadata record: checksum/,
  ],
  ['a commit index beyond the log', (_e, meta, put) => put(meta, META_KEYS.hardState, encodeHardState({ term: 2, vote: 1n, commit: 99 })), /commit 99/],
  [
    'a snapshot beyond the log',
    (_e, meta, put) => put(meta, META_KEYS.snapshot, encodeSnapshotMetadata({ index: 50, term: 2, confState: CS })),
    /snapshot 50 is beyond/,
  ],
  [
    'a snapshot whose term disagrees with the log',
    (_e, meta, put) => put(meta, META_KEYS.snapshot, encodeSnapshotMetadata({ index: 5, term: 1, confState: CS })),
    /snapshot 5 has term 1/,
  ],
  ['a lost format record', (_e, meta, _p, del) => del(meta, META_KEYS.format), /format record missing/],
];

for (const [what, damage, message] of damages) {
  test(`D11: the store refuses to open with ${what}`, async () => {
    await withStore(async (store, dir) => {
      fill(store);
      store.setSnapshotMetadata(3, CS);
      store.compactSync(2);
      await store.close();
      await raw(dir, (s) => {
        s.transactSync((txn) => damage(s.table(SUB_DBS.raftEntries), s.table(SUB_DBS.raftMeta), (t, k, v) => txn.put(t, k, v), (t, k) => void txn.remove(t, k)));
      });
      assert.throws(() => RaftLogStore.open(dir), (e: unknown) => isCorrupt(e) && message.test((e as Error).message));
    });
  });
}

test('an unknown format version is refused as unsupported, not as damage', async () => {
  await withStore(async (store, dir) => {
    fill(store);
    await store.close();
    await raw(dir, (s, _e, meta) => s.transactSync((txn) => txn.put(meta, META_KEYS.format, encodeFormat(2))));
    assert.throws(() => RaftLogStore.open(dir), (e: unknown) => e instanceof StorageError && e.code === 'OPEN_FAILED' && /format 2/.test(e.message));
  });
});

test('D11 codec: every single-bit flip and every truncation of a record is detected', () => {
  const e = { index: 123456789, term: 77, type: 'confChange' as const, data: new TextEncoder().encode('some entry payload') };
  const rec = encodeEntry(e);
  assert.deepEqual(plainEntry(decodeEntry(e.index, rec)), plainEntry(e));
  assert.throws(() => decodeEntry(e.index + 1, rec), isCorrupt);
  const hs = encodeHardState({ term: 2 ** 40, vote: 0xfedcba9876543210n, commit: 2 ** 52 });
  assert.deepEqual(decodeHardState(hs), { term: 2 ** 40, vote: 0xfedcba9876543210n, commit: 2 ** 52 });
  const sm = encodeSnapshotMetadata({ index: 5, term: 3, confState: { voters: [1n, 2n ** 63n], learners: [7n] } });
  assert.deepEqual(decodeSnapshotMetadata(sm), { index: 5, term: 3, confState: { voters: [1n, 2n ** 63n], learners: [7n] } });
  const decoders: [Uint8Array, (v: Uint8Array) => unknown][] = [
    [rec, (v) => decodeEntry(e.index, v)],
    [hs, decodeHardState],
    [sm, decodeSnapshotMetadata],
  ];
  for (const [good, decode] of decoders) {
    for (let bit = 0; bit < good.length * 8; bit++) {
      const bad = Uint8Array.from(good);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assert.throws(() => decode(bad), isCorrupt, `bit ${bit}`);
    }
    for (let len = 0; len < good.length; len++) assert.throws(() => decode(good.subarray(0, len)), isCorrupt, `length ${len}`);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    assert.throws(() => decode(longer), isCorrupt, 'one byte longer');
  }
});

test('a failed write poisons the store for writes; reads keep answering from what is on disk', async () => {
  await withStore(async (store) => {
    fill(store);
    // Simulate LMDB failing mid-commit (e.g. EIO from fdatasync) by breaking the environment.
    const inner = (store as unknown as { storage: Storage }).storage; // test-only reach into the private field
    const original = inner.transactSync.bind(inner);
    inner.transactSync = () => {
      throw new Error('EIO: simulated fdatasync failure');
    };
    assert.throws(
      () => store.saveSync({ hardState: null, entries: [ent(7, 2)], snapshot: null }),
      (e: unknown) => e instanceof StorageError && /EIO/.test(e.message),
    );
    inner.transactSync = original;
    assert.equal(store.lastIndex(), 6); // the cache did not move
    assert.throws(() => store.saveSync({ hardState: null, entries: [ent(7, 2)], snapshot: null }), /refuses writes after an earlier failure/);
    assert.throws(() => store.compactSync(1), /refuses writes/);
    assert.equal(store.entries(1, 7, Infinity).length, 6);
  });
});

test('use after close is misuse', async () => {
  await withTmpDir(async (tmp) => {
    const store = RaftLogStore.open(tmp.sub('raft'));
    fill(store);
    await store.close();
    assert.throws(() => store.saveSync({ hardState: null, entries: [ent(7, 2)], snapshot: null }), TypeError);
    assert.throws(() => store.setSnapshotMetadata(2, CS), TypeError);
  });
});

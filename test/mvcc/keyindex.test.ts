import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyIndex } from '../../src/mvcc/keyindex.js';
import { CorruptError, KvStore } from '../../src/mvcc/index.js';
import { Storage, SUB_DBS } from '../../src/storage/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { withFixture, w, op, putReq, delReq, txnReq, enc, rangeReq, dec } from './helpers.js';
import { mulberry32 as rng } from '../harness/prng.js';

function randomKey(r: () => number): Uint8Array {
  // Bytes drawn mostly from {0x00, 0x01, 0xff, 'a', 'b'} so prefixes and zero bytes are common.
  const alphabet = [0x00, 0x01, 0xff, 0x61, 0x62, 0x00, 0xfe, 0x80];
  const n = 1 + Math.floor(r() * 4);
  return Uint8Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]!);
}

const cmpBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex');

test('the index orders keys bytewise, whatever the bytes, and ranges are [gte, lt) in both directions', () => {
  const r = rng(42);
  const idx = new KeyIndex();
  const model = new Map<string, Uint8Array>();
  for (let i = 0; i < 400; i++) {
    const k = randomKey(r);
    idx.append(k, i + 2, 0, false);
    model.set(hex(k), k);
  }
  const sorted = [...model.values()].sort(cmpBytes);
  assert.deepEqual([...idx.range(new Uint8Array(0), undefined, Number.MAX_SAFE_INTEGER)].map((e) => hex(e.key)), sorted.map(hex));
  for (let i = 0; i < 300; i++) {
    const a = randomKey(r);
    const b = randomKey(r);
    const want = sorted.filter((k) => cmpBytes(k, a) >= 0 && cmpBytes(k, b) < 0).map(hex);
    assert.deepEqual([...idx.range(a, b, Number.MAX_SAFE_INTEGER)].map((e) => hex(e.key)), want, `[${hex(a)}, ${hex(b)})`);
    assert.deepEqual([...idx.range(a, b, Number.MAX_SAFE_INTEGER, true)].map((e) => hex(e.key)), [...want].reverse());
    assert.equal(idx.countLive(a, b, Number.MAX_SAFE_INTEGER), want.length);
  }
});

test('reading at a revision ignores newer entries (a staged batch is invisible to a reader of the committed revision)', () => {
  const idx = new KeyIndex();
  const k = enc('k');
  idx.append(k, 2, 0, false);
  idx.append(k, 5, 1, true);
  idx.append(k, 7, 0, false);
  assert.equal(idx.at(k, 1), undefined);
  assert.deepEqual(idx.at(k, 4)?.rev, { main: 2, sub: 0 });
  assert.equal(idx.at(k, 6)?.tombstone, true);
  assert.deepEqual(idx.at(k, 9)?.rev, { main: 7, sub: 0 });
  assert.equal(idx.countLive(enc('a'), enc('z'), 6), 0);
  assert.equal(idx.countLive(enc('a'), enc('z'), 7), 1);
  assert.deepEqual(idx.before(k, { main: 7, sub: 0 })?.rev, { main: 5, sub: 1 });
  assert.deepEqual(idx.before(k, { main: 5, sub: 1 })?.rev, { main: 2, sub: 0 });
  assert.equal(idx.before(k, { main: 2, sub: 0 }), undefined);
});

test('rollback takes back appends and compactions newest first, to the exact earlier index', () => {
  const r = rng(9);
  const idx = new KeyIndex();
  const keys = Array.from({ length: 12 }, () => randomKey(r));
  let rev = 2;
  for (let i = 0; i < 60; i++) idx.append(keys[Math.floor(r() * keys.length)]!, rev++, 0, r() < 0.2);
  const snapshot = (): string[] => [...idx.all()].map((e) => `${hex(e.key)}@${e.rev.main}${e.tombstone ? 't' : ''}`);
  const before = snapshot();
  idx.begin();
  idx.append(keys[0]!, rev++, 0, false);
  const mark = idx.mark();
  for (const k of keys) idx.compactKey(k, 40);
  assert.equal(idx.compactedAt, 40);
  idx.append(enc('new'), rev++, 0, false);
  idx.append(keys[1]!, rev++, 1, true);
  idx.rollback(mark);
  assert.equal(idx.compactedAt, -1);
  idx.rollback();
  idx.end();
  assert.deepEqual(snapshot(), before);
  assert.equal(idx.entries, before.length);
});

test('a rebuild refuses history out of revision order (corruption)', () => {
  const idx = new KeyIndex();
  idx.load(enc('a'), 5, 0, false);
  assert.throws(() => idx.load(enc('a'), 5, 0, false), CorruptError);
  assert.throws(() => idx.load(enc('a'), 4, 3, false), CorruptError);
});

test('reopening rebuilds the same index from kv; a format-1 directory loses only its retired index tables', async () => {
  const dir = makeTmpDir('keyward-keyindex-');
  try {
    let store = KvStore.open(dir.path);
    const r = rng(3);
    for (let i = 0; i < 200; i++) {
      const k = `k${Math.floor(r() * 30)}`;
      await store.apply([{ index: i + 1, request: r() < 0.2 ? w.del(k) : w.put(k, `v${i}`) }]);
    }
    await store.apply([{ index: 201, request: w.compact(120) }]);
    const index = store.indexEntries();
    const all = store.range(rangeReq('a', { end: 'z' })).kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}`);
    await store.close();
    // What mvcc format 1 left behind: the on-disk index tables (derived data).
    const storage = Storage.open(dir.path);
    await storage.transact('flushed', (txn) => {
      txn.put(storage.table(SUB_DBS.mvccLatest), enc('k1'), new Uint8Array(16));
      txn.put(storage.table(SUB_DBS.mvccKeyRevs), enc('junk'), Uint8Array.of(0));
    });
    await storage.close();
    store = KvStore.open(dir.path);
    assert.deepEqual(store.indexEntries(), index);
    assert.deepEqual(store.range(rangeReq('a', { end: 'z' })).kvs.map((kv) => `${dec(kv.key)}=${dec(kv.value)}`), all);
    await store.close();
    const after = Storage.open(dir.path);
    assert.equal(after.table(SUB_DBS.mvccLatest).count() + after.table(SUB_DBS.mvccKeyRevs).count(), 0);
    await after.close();
  } finally {
    dir.cleanup();
  }
});

test('worked example of src/mvcc/keyindex.ts: generations, reads and compaction', async () => {
  await withFixture(async (f) => {
    await f.ok(w.put('foo', 'a')); // rev 2
    await f.ok(w.put('foo', 'b')); // rev 3
    await f.ok(w.txn(txnReq([], [op.put(putReq('bar', 'x')), op.del(delReq('foo'))]))); // rev 4
    await f.ok(w.put('foo', 'c')); // rev 5
    await f.ok(w.put('foo', 'd')); // rev 6
    const foo = (): string[] => f.index().filter((e) => e.startsWith('foo@'));
    assert.deepEqual(foo(), ['foo@2.0', 'foo@3.0', 'foo@4.1t', 'foo@5.0', 'foo@6.0']);
    assert.deepEqual(f.index(), ['bar@4.0', ...foo()]);
    assert.equal(f.get('foo'), 'foo=d@5/6/v2');
    assert.equal(f.get('foo', 2), 'foo=a@2/2/v1');
    assert.equal(f.get('foo', 3), 'foo=b@2/3/v2');
    assert.equal(f.get('foo', 4), '-');
    assert.equal(f.get('foo', 5), 'foo=c@5/5/v1');
    f.checkInvariants();

    await f.ok(w.compact(3));
    assert.deepEqual(foo(), ['foo@3.0', 'foo@4.1t', 'foo@5.0', 'foo@6.0']);
    assert.equal(f.get('foo', 3), 'foo=b@2/3/v2');
    f.checkInvariants();

    await f.ok(w.compact(4));
    assert.deepEqual(foo(), ['foo@4.1t', 'foo@5.0', 'foo@6.0']);
    assert.equal(f.get('foo', 4), '-');
    assert.equal(f.get('bar', 4), 'bar=x@4/4/v1');
    f.checkInvariants();

    await f.ok(w.compact(5));
    assert.deepEqual(foo(), ['foo@5.0', 'foo@6.0']);
    await f.ok(w.compact(6));
    assert.deepEqual(foo(), ['foo@6.0']);
    assert.equal(f.get('foo', 6), 'foo=d@5/6/v2');
    f.checkInvariants();

    await f.ok(w.del('foo')); // rev 7
    await f.ok(w.compact(7));
    assert.deepEqual(f.index(), ['bar@4.0', 'foo@7.0t']);
    assert.deepEqual(f.history(), ['4.0', '7.0']);
    assert.equal(f.get('foo'), '-');
    assert.equal(f.get('foo', 7), '-');
    f.checkInvariants();

    await f.ok(w.put('bar', 'y')); // rev 8
    await f.ok(w.compact(8));
    assert.deepEqual(f.index(), ['bar@8.0']);
    assert.deepEqual(f.history(), ['8.0']);
    f.checkInvariants();
  });
});

test('a batch staged on the write worker stays invisible to reads until its commit; a staged compaction refuses reads below it at once', async () => {
  await withFixture(async (f) => {
    await f.batch([w.put('a', '1'), w.put('a', '2'), w.put('b', '1')]);
    let windows = 0;
    for (let attempt = 0; attempt < 30 && windows < 3; attempt++) {
      let staged = false;
      const rev = f.store.currentRevision;
      const before = f.get('a');
      const { committed } = f.storage.batchAsync(() => {
        f.store.applyInBatch([
          { index: f.nextIndex++, request: w.put('a', `staged${attempt}`) },
          { index: f.nextIndex++, request: w.compact(rev) },
        ]);
        staged = true;
      });
      while (!staged) await new Promise((r) => setImmediate(r));
      // Staged: reads below the compaction are refused whether or not its commit is visible yet.
      assert.throws(() => f.store.range(rangeReq('a', { revision: rev - 1 })), (e: Error & { code?: string }) => e.code === 'COMPACTED');
      if (f.store.currentRevision === rev) {
        // Between the staging and the commit: the committed value, not the staged one.
        assert.equal(f.get('a'), before);
        windows++;
      }
      await committed;
      assert.match(f.get('a'), new RegExp(`^a=staged${attempt}@`));
    }
    assert.ok(windows > 0, 'never observed a staged batch before its commit');
    f.checkInvariants();
  });
});

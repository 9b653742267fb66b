import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeEntry,
  encodeEntry,
  entriesEnd,
  entryPrefix,
  escapeKey,
  isTombstone,
} from '../../src/mvcc/keyindex.js';
import { CorruptError } from '../../src/mvcc/index.js';
import { withFixture, w, op, putReq, delReq, txnReq, enc } from './helpers.js';
import { mulberry32 as rng } from '../harness/prng.js';


function randomKey(r: () => number): Uint8Array {
  // Bytes drawn mostly from {0x00, 0x01, 0xff, 'a', 'b'} so prefixes and zero bytes are common.
  const alphabet = [0x00, 0x01, 0xff, 0x61, 0x62, 0x00, 0xfe];
  const n = 1 + Math.floor(r() * 4);
  return Uint8Array.from({ length: n }, () => alphabet[Math.floor(r() * alphabet.length)]!);
}

const cmpBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(a, b);

test('entry encoding orders by (user key bytewise, revision), whatever the bytes', () => {
  const r = rng(42);
  const items = Array.from({ length: 400 }, () => ({
    key: randomKey(r),
    main: Math.floor(r() * 5) + (r() < 0.1 ? 2 ** 40 : 0),
    sub: Math.floor(r() * 3),
  }));
  const byModel = [...items].sort((a, b) => cmpBytes(a.key, b.key) || a.main - b.main || a.sub - b.sub);
  const byEncoding = [...items].sort((a, b) => cmpBytes(encodeEntry(a.key, a.main, a.sub), encodeEntry(b.key, b.main, b.sub)));
  assert.deepEqual(byEncoding, byModel);
});

test('user-key bounds map onto entry bounds: k >= s iff entry >= escape(s); k < e iff entry < escape(e)', () => {
  const r = rng(7);
  for (let i = 0; i < 2000; i++) {
    const k = randomKey(r);
    const s = randomKey(r);
    const entry = encodeEntry(k, 5, 1);
    assert.equal(cmpBytes(k, s) >= 0, cmpBytes(entry, escapeKey(s)) >= 0, `k=${Buffer.from(k).toString('hex')} s=${Buffer.from(s).toString('hex')}`);
    assert.equal(cmpBytes(k, s) < 0, cmpBytes(entry, escapeKey(s)) < 0);
    // All entries of k lie in [prefix(k), end(k)) and no entry of another key does.
    const other = encodeEntry(s, 5, 1);
    assert.ok(cmpBytes(entryPrefix(k), entry) <= 0 && cmpBytes(entry, entriesEnd(k)) < 0);
    if (cmpBytes(k, s) !== 0) assert.ok(!(cmpBytes(entryPrefix(k), other) <= 0 && cmpBytes(other, entriesEnd(k)) < 0));
  }
});

test('entries decode back to key and revision; malformed entries are corruption', () => {
  const key = Uint8Array.of(0, 0x61, 0, 0, 0xff);
  const d = decodeEntry(encodeEntry(key, 123456789, 7));
  assert.deepEqual([...d.key], [...key]);
  assert.deepEqual(d.rev, { main: 123456789, sub: 7 });
  const good = encodeEntry(enc('ab'), 3, 0);
  assert.throws(() => decodeEntry(good.subarray(0, 10)), CorruptError);
  const badEscape = Uint8Array.from(good);
  badEscape[2] = 0;
  badEscape[3] = 0x05; // 00 05 is neither an escape nor the terminator
  assert.throws(() => decodeEntry(badEscape), CorruptError);
  assert.throws(() => decodeEntry(Uint8Array.from([0x61, ...new Uint8Array(16)])), CorruptError);
  assert.equal(isTombstone(Uint8Array.of(1)), true);
  assert.equal(isTombstone(Uint8Array.of(0)), false);
  assert.throws(() => isTombstone(Uint8Array.of(2)), CorruptError);
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

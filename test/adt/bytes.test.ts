import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteString, compareBytes, equalBytes, hasPrefix, NO_END, prefixEnd, successor } from '../../src/adt/index.js';

const b = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const s = (u: Uint8Array): string => Buffer.from(u).toString('latin1');

test('compareBytes is bytewise with a proper prefix first (Buffer.compare agrees)', () => {
  const xs = ['', '\0', '\0\0', '\x01', 'a', 'a\0', 'ab', 'b', '\x7f', '\x80', '\xff', '\xff\xff'];
  for (const x of xs) {
    for (const y of xs) {
      assert.equal(Math.sign(compareBytes(b(x), b(y))), Buffer.compare(b(x), b(y)), `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
      assert.equal(equalBytes(b(x), b(y)), x === y);
    }
  }
});

test('prefixEnd follows etcd: increment the last byte below 0xff, drop the rest; none -> "\\0"', () => {
  assert.equal(s(prefixEnd(b('a/'))), 'a0');
  assert.equal(s(prefixEnd(b('a\xff'))), 'b');
  assert.equal(s(prefixEnd(b('a\xff\xff'))), 'b');
  assert.equal(s(prefixEnd(b('\xff\xff'))), '\0');
  assert.equal(prefixEnd(b('')), NO_END);
  const p = b('ab');
  prefixEnd(p);
  assert.equal(s(p), 'ab', 'the prefix itself is not modified');
  // Every key with the prefix sorts below the end, and the end itself does not have the prefix.
  for (const key of ['a/', 'a/x', 'a/\xff\xff']) assert.ok(compareBytes(b(key), prefixEnd(b('a/'))) < 0);
  assert.ok(!hasPrefix(prefixEnd(b('a/')), b('a/')));
});

test('successor is the next key; hasPrefix; byteString keeps order and distinctness', () => {
  assert.equal(s(successor(b('k'))), 'k\0');
  assert.ok(hasPrefix(b('abc'), b('ab')) && hasPrefix(b('abc'), b('')) && !hasPrefix(b('ab'), b('abc')));
  const keys = ['', '\0', 'a', 'a\0', '\xff', '\xff\0'];
  const strs = keys.map((k) => byteString(b(k)));
  assert.equal(new Set(strs).size, keys.length);
  assert.deepEqual([...strs].sort(), strs);
  const big = new Uint8Array(10_000).map((_, i) => i % 256);
  assert.equal(byteString(big), Buffer.from(big).toString('latin1'));
});

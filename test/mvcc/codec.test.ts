import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMeta, decodeRecord, encodeMeta, encodeRecord, type StoredRecord } from '../../src/mvcc/codec.js';
import { decodeRevision, encodeRevision, readU64 } from '../../src/mvcc/revision.js';
import { CorruptError } from '../../src/mvcc/index.js';
import { enc } from './helpers.js';

const rec: StoredRecord = {
  key: Uint8Array.of(0, 1, 2, 0xff),
  createRevision: 3,
  modRevision: 2 ** 53 - 1,
  version: 42,
  value: enc('hello'),
  lease: -7587869402553040003n,
  tombstone: false,
};

const plain = (r: StoredRecord): unknown => ({ ...r, key: [...r.key], value: [...r.value] });

test('history records round-trip, including extreme revisions, negative leases and tombstones', () => {
  assert.deepEqual(plain(decodeRecord(encodeRecord(rec))), plain(rec));
  const tomb = { ...rec, createRevision: 0, version: 0, value: new Uint8Array(0), lease: 0n, tombstone: true };
  assert.deepEqual(plain(decodeRecord(encodeRecord(tomb))), plain(tomb));
  const big = { ...rec, value: new Uint8Array(1_572_864).fill(9) };
  assert.equal(decodeRecord(encodeRecord(big)).value.length, 1_572_864);
  const d = decodeRecord(encodeRecord(rec), false);
  assert.equal(d.value.length, 0);
  assert.deepEqual([...d.key], [...rec.key]);
  // Decoded bytes are plain Uint8Arrays, not Buffers.
  assert.equal(Object.getPrototypeOf(decodeRecord(Buffer.from(encodeRecord(rec))).key), Uint8Array.prototype);
});

test('any single flipped bit, truncation or extension of a record is detected as corruption', () => {
  const bytes = encodeRecord(rec);
  for (let i = 0; i < bytes.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Uint8Array.from(bytes);
      bad[i]! ^= 1 << bit;
      assert.throws(() => decodeRecord(bad), CorruptError, `byte ${i} bit ${bit}`);
    }
  }
  for (let n = 0; n < bytes.length; n++) assert.throws(() => decodeRecord(bytes.subarray(0, n)), CorruptError);
  assert.throws(() => decodeRecord(Uint8Array.from([...bytes, 0])), CorruptError);
});

test('meta record round-trips; the compact revision may be -1; corruption is detected', () => {
  for (const m of [
    { appliedIndex: 0, currentRevision: 1, compactRevision: -1 },
    { appliedIndex: 99, currentRevision: 50, compactRevision: 0 },
    { appliedIndex: 2 ** 53 - 1, currentRevision: 2 ** 40, compactRevision: 2 ** 40 },
  ]) {
    assert.deepEqual(decodeMeta(encodeMeta(m)), m);
  }
  const bytes = encodeMeta({ appliedIndex: 5, currentRevision: 4, compactRevision: 2 });
  for (let i = 0; i < bytes.length; i++) {
    const bad = Uint8Array.from(bytes);
    bad[i]! ^= 0x10;
    assert.throws(() => decodeMeta(bad), CorruptError);
  }
  assert.throws(() => decodeMeta(bytes.subarray(1)), CorruptError);
  // Well-formed but impossible: compaction beyond the current revision.
  assert.throws(() => decodeMeta(encodeMeta({ appliedIndex: 1, currentRevision: 3, compactRevision: 4 })), CorruptError);
});

test('revisions encode big-endian so byte order is numeric order; beyond 2^53 is corruption', () => {
  const revs = [
    [0, 0],
    [1, 0],
    [1, 1],
    [255, 0],
    [256, 0],
    [2 ** 32 - 1, 5],
    [2 ** 32, 0],
    [2 ** 53 - 1, 2 ** 53 - 1],
  ] as const;
  for (let i = 1; i < revs.length; i++) {
    const a = encodeRevision(revs[i - 1]![0], revs[i - 1]![1]);
    const b = encodeRevision(revs[i]![0], revs[i]![1]);
    assert.ok(Buffer.compare(a, b) < 0);
    assert.deepEqual(decodeRevision(b), { main: revs[i]![0], sub: revs[i]![1] });
  }
  assert.throws(() => readU64(Uint8Array.of(0, 0x20, 0, 0, 0, 0, 0, 0), 0, 'x'), CorruptError);
  assert.throws(() => decodeRevision(new Uint8Array(15)), CorruptError);
});

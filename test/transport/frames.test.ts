import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessage, isTransportError, TransportError } from '../../src/transport/index.js';
import { encodeFrame } from '../../src/transport/codec.js';
import { crc32, crc32Fallback, FrameReader, KEEPALIVE_FRAME } from '../../src/transport/frames.js';
import { Prng } from '../harness/simnet.js';
import { fixtures } from './helpers.js';

test('frames reassemble across every possible chunk split, keep-alives skipped', () => {
  const msgs = fixtures(1n, 2n);
  const stream = Buffer.concat(msgs.flatMap((m) => [KEEPALIVE_FRAME, encodeFrame(m)]));
  for (let cut = 1; cut <= 64; cut++) {
    const r = new FrameReader(1 << 20);
    const out = [];
    for (let i = 0; i < stream.length; i += cut) out.push(...r.push(stream.subarray(i, i + cut)));
    assert.ok(r.atBoundary);
    assert.deepEqual(out.map((p) => decodeMessage(p)), msgs, `chunk size ${cut}`);
  }
});

test('a frame header over the cap is refused before its payload is allocated', () => {
  const r = new FrameReader(1000);
  const header = Uint8Array.from([0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => r.push(header), (e: unknown) => isTransportError(e, 'TooLarge'));
  const ok = new FrameReader(3);
  assert.deepEqual(ok.push(Uint8Array.from([0, 0, 0, 3, 1, 2, 3])), [Uint8Array.from([1, 2, 3])]);
});

test('a partial frame leaves the reader off a boundary', () => {
  const r = new FrameReader(100);
  r.push(Uint8Array.from([0, 0]));
  assert.equal(r.atBoundary, false);
  r.push(Uint8Array.from([0, 2, 9]));
  assert.equal(r.atBoundary, false);
  assert.deepEqual(r.push(Uint8Array.from([9])), [Uint8Array.from([9, 9])]);
  assert.equal(r.atBoundary, true);
});

test('fuzz: random streams through the frame reader and decoder only raise TransportError', () => {
  const rng = new Prng(7);
  for (let i = 0; i < 3000; i++) {
    const r = new FrameReader(512);
    try {
      for (let c = 0; c < 8; c++) {
        const chunk = new Uint8Array(rng.int(64));
        for (let j = 0; j < chunk.length; j++) chunk[j] = rng.chance(0.3) ? 0 : rng.int(256);
        for (const p of r.push(chunk)) decodeMessage(p, 512);
      }
    } catch (e) {
      assert.ok(e instanceof TransportError, String(e));
    }
  }
});

test('CRC-32: known vector, chaining, and the table fallback agrees with zlib', () => {
  const v = new TextEncoder().encode('123456789');
  assert.equal(crc32(v), 0xcbf43926);
  assert.equal(crc32Fallback(v, 0), 0xcbf43926);
  assert.equal(crc32(v.subarray(4), crc32(v.subarray(0, 4))), 0xcbf43926);
  const rng = new Prng(1);
  const b = new Uint8Array(10_000).map(() => rng.int(256));
  assert.equal(crc32Fallback(b.subarray(5000), crc32Fallback(b.subarray(0, 5000), 0)), crc32(b));
});

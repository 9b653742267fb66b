import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Message } from '../../src/raft/index.js';
import { CODEC_VERSION, decodeMessage, encodeMessage, isTransportError, TransportError } from '../../src/transport/index.js';
import { encodeFrame, encodeSnapshotHead } from '../../src/transport/codec.js';
import { Prng } from '../harness/simnet.js';
import { fixtures } from './helpers.js';

const U64_MAX = (1n << 64n) - 1n;

function expectCode(fn: () => unknown, code: TransportError['code']): void {
  assert.throws(fn, (e: unknown) => isTransportError(e, code), `expected TransportError ${code}`);
}

test('every message variant survives encode → decode unchanged', () => {
  const all = fixtures(1n, U64_MAX);
  assert.equal(all.length, 19);
  for (const m of all) assert.deepEqual(decodeMessage(encodeMessage(m)), m, m.type);
});

test('the documented example encodes byte for byte', () => {
  const bytes = encodeMessage({ type: 'voteResp', from: 1n, to: 2n, term: 5, reject: false });
  assert.equal(Buffer.from(bytes).toString('hex'), '010a' + '0000000000000001' + '0000000000000002' + '05' + '00');
  assert.equal(bytes[0], CODEC_VERSION);
});

test('a frame is the u32 length followed by the message', () => {
  for (const m of fixtures(3n, 4n)) {
    const f = encodeFrame(m);
    const body = encodeMessage(m);
    assert.equal(new DataView(f.buffer, f.byteOffset).getUint32(0), body.byteLength);
    assert.deepEqual(f.subarray(4), body);
  }
});

test('snapshot head followed by its data is exactly the full encoding', () => {
  const m = fixtures(1n, 2n).find((x) => x.type === 'snap')!;
  assert.equal(m.type, 'snap');
  if (m.type !== 'snap') return;
  const head = encodeSnapshotHead(m);
  assert.deepEqual(Buffer.concat([head, m.snapshot.data]), Buffer.from(encodeMessage(m)));
});

test('encoding a message no correct caller builds is a TypeError (local bug, not peer input)', () => {
  const ok: Message = { type: 'appResp', from: 1n, to: 2n, term: 1, index: 1, reject: false, rejectHint: 0, logTerm: 0 };
  const bad: unknown[] = [
    { ...ok, term: -1 },
    { ...ok, index: 2 ** 53 },
    { ...ok, logTerm: 1.5 },
    { ...ok, from: -1n },
    { ...ok, to: U64_MAX + 1n },
    { ...ok, reject: 1 },
    { ...ok, type: 'nope' },
    { type: 'app', from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, commit: 0, entries: [{ term: 1, index: 1, type: 'weird', data: new Uint8Array() }] },
    { type: 'readIndex', from: 1n, to: 2n, term: 0, context: 'not bytes' },
  ];
  for (const m of bad) assert.throws(() => encodeMessage(m as Message), TypeError, JSON.stringify(m, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
});

test('GUARANTEES D10: huge numbers, bogus lengths and counts are rejected before any allocation', () => {
  const base = encodeMessage({ type: 'app', from: 1n, to: 2n, term: 1, index: 0, logTerm: 0, commit: 0, entries: [] });
  const head = base.subarray(0, 18); // version, type, from, to

  // term = 2^53 (one past the largest safe integer): 8-byte varint
  const huge = Uint8Array.from([...head, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10, 0, 0, 0, 0]);
  expectCode(() => decodeMessage(huge), 'Malformed');
  // a 9-byte varint
  expectCode(() => decodeMessage(Uint8Array.from([...head, 0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])), 'Malformed');
  // overlong varint (0x80 0x00 means 0)
  expectCode(() => decodeMessage(Uint8Array.from([...head, 0x80, 0x00, 0, 0, 0, 0])), 'Malformed');
  // entry count of 2^40 with 0 bytes behind it
  expectCode(() => decodeMessage(Uint8Array.from([...head, 1, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20])), 'Truncated');
  // one entry whose data claims 2^50 bytes
  expectCode(() => decodeMessage(Uint8Array.from([...head, 1, 0, 0, 0, 1, 1, 1, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02])), 'Truncated');
  // snapshot with a voter count far beyond the bytes present
  const snap = encodeMessage({ type: 'snap', from: 1n, to: 2n, term: 1, snapshot: { data: new Uint8Array(0), metadata: { index: 1, term: 1, confState: { voters: [], learners: [] } } } });
  const bogus = Uint8Array.from(snap);
  bogus[21] = 0x7f; // voters.length, after term(1), index(1), term(1)
  expectCode(() => decodeMessage(bogus), 'Truncated');
});

test('decode refuses wrong versions, unknown types, bad flags, trailing bytes and oversize input', () => {
  const m = encodeMessage({ type: 'vote', from: 1n, to: 2n, term: 3, index: 4, logTerm: 5, transfer: false });
  expectCode(() => decodeMessage(new Uint8Array(0)), 'Truncated');
  expectCode(() => decodeMessage(m.subarray(0, m.length - 1)), 'Truncated');
  expectCode(() => decodeMessage(Uint8Array.from([2, ...m.subarray(1)])), 'UnsupportedVersion');
  expectCode(() => decodeMessage(Uint8Array.from([1, 0, ...m.subarray(2)])), 'Malformed');
  expectCode(() => decodeMessage(Uint8Array.from([1, 200, ...m.subarray(2)])), 'Malformed');
  expectCode(() => decodeMessage(Uint8Array.from([...m.subarray(0, m.length - 1), 2])), 'Malformed');
  expectCode(() => decodeMessage(Uint8Array.from([...m, 0])), 'Malformed');
  expectCode(() => decodeMessage(m, m.length - 1), 'TooLarge');
  assert.deepEqual(decodeMessage(m, m.length).type, 'vote');
});

/** Everything decode may throw: TransportError. Anything it accepts re-encodes to the same bytes (only canonical encodings are valid). */
function checkDecode(bytes: Uint8Array): boolean {
  let m: Message;
  try {
    m = decodeMessage(bytes, 4096);
  } catch (e) {
    if (!(e instanceof TransportError)) throw new Error(`decode threw ${String(e)} for ${Buffer.from(bytes).toString('hex')}`);
    return false;
  }
  assert.deepEqual(Buffer.from(encodeMessage(m)), Buffer.from(bytes), 'accepted input is canonical');
  return true;
}

test('fuzz: random byte strings only ever raise TransportError', () => {
  const rng = new Prng(0x5eed);
  for (let i = 0; i < 20_000; i++) {
    const len = rng.int(i % 10 === 0 ? 5000 : 80);
    const b = new Uint8Array(len);
    for (let j = 0; j < len; j++) b[j] = rng.int(256);
    // Bias half of them towards a valid prefix so decoding gets past the first bytes.
    if (len >= 2 && rng.chance(0.5)) {
      b[0] = CODEC_VERSION;
      b[1] = 1 + rng.int(19);
    }
    checkDecode(b);
  }
});

test('fuzz: mutations of valid encodings only ever raise TransportError', () => {
  const rng = new Prng(42);
  const seeds = fixtures(7n, 9n).map(encodeMessage);
  let accepted = 0;
  for (let i = 0; i < 30_000; i++) {
    let b = Uint8Array.from(rng.pick(seeds));
    const edits = 1 + rng.int(4);
    for (let k = 0; k < edits; k++) {
      const op = rng.int(5);
      const at = rng.int(Math.max(1, b.length));
      if (op === 0 && b.length > 0) b[at] = rng.int(256);
      else if (op === 1 && b.length > 0) b[at] = b[at]! ^ (1 << rng.int(8));
      else if (op === 2) b = b.subarray(0, at);
      else if (op === 3) b = Uint8Array.from([...b.subarray(0, at), rng.int(256), ...b.subarray(at)]);
      else b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1 + rng.int(8))]);
    }
    if (checkDecode(b)) accepted++;
  }
  // Some mutations land on value bytes and still decode; most must not.
  assert.ok(accepted > 0 && accepted < 30_000);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  base64Decode,
  base64Encode,
  bytesFromString,
  bytesToString,
  EMPTY_BYTES,
  prefixEnd,
} from '../../src/wire/index.js';
import { assertDecodeError, bytesOf, Rng } from './helpers.js';

// Go's base64.StdEncoding grammar without CR/LF: the oracle the fast paths are checked against.
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

test('base64 round-trips every length on both the short and the long path', () => {
  const rng = new Rng(2);
  for (let len = 0; len < 300; len++) {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = rng.int(256);
    const text = base64Encode(b);
    assert.equal(text, Buffer.from(b).toString('base64'), `encode length ${len}`);
    assert.deepEqual(base64Decode(text), b, `decode length ${len}`);
  }
});

test('base64 encoding reads only the view it is given', () => {
  const whole = bytesOf('xxabcxx');
  assert.equal(base64Encode(whole.subarray(2, 5)), 'YWJj');
  const big = new Uint8Array(100).fill(7);
  assert.equal(base64Encode(big.subarray(10, 50)), Buffer.from(big.subarray(10, 50)).toString('base64'));
});

test('decoded bytes are plain Uint8Arrays that own their memory', () => {
  for (const text of ['YQ==', Buffer.alloc(100, 1).toString('base64'), Buffer.alloc(10_000, 2).toString('base64')]) {
    const b = base64Decode(text);
    assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
    assert.equal(b.byteOffset, 0);
    assert.equal(b.buffer.byteLength, b.byteLength, 'no shared pool slab');
  }
  assert.equal(base64Decode(''), EMPTY_BYTES);
});

test('bad base64 is refused with the byte offset Go reports (API.md section 2)', () => {
  const cases: [string, number][] = [
    ['YQ', 0], // unpadded: the short final quantum is reported at its start
    ['YWJjYQ', 4],
    ['-_8=', 0], // URL-safe alphabet
    ['YW-j', 2],
    ['!!!', 0],
    ['Y', 0],
    ['YQ=', 3], // one `=` where two are needed: reported at the end
    ['YQ=x', 2], // the first `=` of a broken pair
    ['Y===', 1],
    ['====', 0],
    ['YQ==YQ==', 4], // data after the padding
    ['YWJj YQ==', 4],
    ['YWJj\nYQ==', 4], // Go skips CR/LF; Keyward does not
    ['YWJjé', 4],
    ['éYWJj', 0],
    ['YWJjYWJjé', 8],
    ['YWJj'.repeat(30) + '-', 120], // the long path
    ['YWJj'.repeat(30) + 'YQ', 120],
    ['€€' + 'YWJj'.repeat(30), 0],
    ['YWJj'.repeat(30) + '€', 120],
    ['€YWJj' + 'YWJj'.repeat(30), 0],
  ];
  for (const [text, at] of cases) {
    assertDecodeError(() => base64Decode(text), 'BASE64', `illegal base64 data at input byte ${at}`);
  }
  // Offsets are UTF-8 byte offsets, as Go counts: `é` is two bytes.
  assertDecodeError(() => base64Decode('éé!'), 'BASE64', 'illegal base64 data at input byte 0');
  assertDecodeError(() => base64Decode('YWJ' + 'é'), 'BASE64', 'illegal base64 data at input byte 3');
});

test('non-zero trailing bits are accepted, as Go (non-strict) does', () => {
  assert.deepEqual(base64Decode('YR=='), bytesOf('a'));
  assert.deepEqual(base64Decode('YWJ='), bytesOf('ab'));
  const long = 'YWJj'.repeat(30) + 'YR==';
  assert.deepEqual(base64Decode(long), bytesOf('abc'.repeat(30) + 'a'));
});

test('the decoder accepts exactly the padded standard grammar (fuzz against a regex oracle)', () => {
  const rng = new Rng(3);
  const letters = 'ABCDYZabyz0189+/=-_ \n!é';
  for (let i = 0; i < 20_000; i++) {
    const len = rng.pick([rng.int(9), rng.int(80)]);
    let text = '';
    for (let k = 0; k < len; k++) text += letters[rng.int(letters.length)];
    let ok = true;
    try {
      base64Decode(text);
    } catch {
      ok = false;
    }
    assert.equal(ok, STD_BASE64.test(text), JSON.stringify(text));
    if (ok) assert.deepEqual(Buffer.from(base64Decode(text)), Buffer.from(text, 'base64'), JSON.stringify(text));
  }
});

test('prefixEnd is etcd GetPrefixRangeEnd', () => {
  assert.deepEqual(prefixEnd(bytesOf('a/')), bytesOf('a0'));
  assert.deepEqual(prefixEnd(bytesOf('foo')), bytesOf('fop'));
  assert.deepEqual(prefixEnd(new Uint8Array([0x61, 0xff])), bytesOf('b'));
  assert.deepEqual(prefixEnd(new Uint8Array([0x61, 0xfe, 0xff, 0xff])), new Uint8Array([0x61, 0xff]));
  assert.deepEqual(prefixEnd(new Uint8Array([0xff, 0xff])), new Uint8Array([0]));
  assert.deepEqual(prefixEnd(new Uint8Array([])), new Uint8Array([0]));
  assert.deepEqual(prefixEnd(new Uint8Array([0])), new Uint8Array([1]));
});

test('prefixEnd never writes into its argument, even a Buffer', () => {
  const key = Buffer.from('abc');
  const end = prefixEnd(key);
  assert.equal(key.toString(), 'abc');
  assert.deepEqual(end, bytesOf('abd'));
  const view = bytesOf('xxab').subarray(2);
  prefixEnd(view);
  assert.equal(bytesToString(view), 'ab');
});

test('bytesFromString and bytesToString are UTF-8', () => {
  for (const s of ['', 'foo', 'é€😀', 'a\u0000b']) {
    const b = bytesFromString(s);
    assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
    assert.deepEqual(Buffer.from(b), Buffer.from(s, 'utf8'));
    assert.equal(bytesToString(b), s);
  }
  assert.equal(bytesToString(new Uint8Array([0xff])), '\ufffd');
});

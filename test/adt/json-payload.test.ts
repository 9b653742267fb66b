import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJsonPayload, encodeJsonPayload } from '../../src/adt/index.js';

test('a versioned JSON payload round-trips; anything else decodes to undefined', () => {
  const p = encodeJsonPayload(1, { type: 'create', id: 'acme' });
  assert.equal(p[0], 1);
  assert.deepEqual(decodeJsonPayload(p, 1), { type: 'create', id: 'acme' });
  assert.equal(decodeJsonPayload(p, 2), undefined, 'another version');
  assert.equal(decodeJsonPayload(Uint8Array.of(1), 1), undefined, 'no body');
  assert.equal(decodeJsonPayload(encodeJsonPayload(1, [1, 2]), 1), undefined, 'not an object');
  assert.equal(decodeJsonPayload(Uint8Array.of(1, 0x7b, 0xff, 0x7d), 1), undefined, 'not UTF-8');
  assert.equal(decodeJsonPayload(Uint8Array.of(1, 0x7b), 1), undefined, 'not JSON');
});

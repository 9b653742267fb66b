import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, encodeEntry, type AuthStamp, type EntryBody } from '../../src/server/entry.js';

// The auth stamp a client entry carries into the log (server/entry.ts): who was authorized at the
// edge and at which auth revision, so that every member re-checks it alike at apply (A11).

const id = { member: 0x1234n, seq: 99n };
const te = new TextEncoder();
const bodies: EntryBody[] = [
  { kind: 'write', request: { type: 'put', put: { key: te.encode('k'), value: te.encode('v'), lease: 7n, prevKv: true, ignoreValue: false, ignoreLease: false } } },
  { kind: 'write', request: { type: 'deleteRange', deleteRange: { key: te.encode('a'), rangeEnd: te.encode('b'), prevKv: false } } },
  { kind: 'lease', op: { type: 'revoke', id: -5n } },
  { kind: 'auth', op: { type: 'roleAdd', name: 'app' } },
  { kind: 'memberUpdate', update: { id: 3n, peerUrls: ['https://10.0.0.1:2380'] } },
];
const stamps: Array<AuthStamp | undefined> = [
  undefined,
  { user: '', tenant: '', revision: 0 },
  { user: 'alice', tenant: '', revision: 17 },
  { user: 'ünïcødé-user', tenant: 'acme', revision: 2 ** 40 },
  { user: 'bob', tenant: '', revision: 9, token: true },
  { user: 'carol', tenant: 'acme', revision: 3, token: true },
];

test('every entry kind round-trips with and without a stamp', () => {
  for (const body of bodies) {
    for (const stamp of stamps) {
      const d = decodeEntry(encodeEntry(id, body, stamp));
      assert.ok(d !== null);
      assert.deepEqual(d.id, id);
      assert.deepEqual(d.body, body);
      assert.deepEqual(d.stamp, stamp);
    }
  }
});

test('an unstamped entry keeps the version-1 layout (entries written before stamps still decode)', () => {
  const bytes = encodeEntry(id, bodies[0]!);
  assert.equal(bytes[0], 1);
  assert.equal(encodeEntry(id, bodies[0]!, { user: 'a', tenant: '', revision: 1 })[0], 2);
  // A token's stamp is version 3 with the same layout: a member that knows only 2 would refuse it
  // as malformed rather than apply it without the token rule.
  const token = encodeEntry(id, bodies[0]!, { user: 'a', tenant: '', revision: 1, token: true });
  assert.equal(token[0], 3);
  assert.deepEqual(token.subarray(1), encodeEntry(id, bodies[0]!, { user: 'a', tenant: '', revision: 1 }).subarray(1));
});

test('a truncated stamp is corruption, not input: decoding throws', () => {
  const full = encodeEntry(id, bodies[3]!, { user: 'alice', tenant: 'acme', revision: 5 });
  for (const cut of [19, 27, 29, 33]) assert.throws(() => decodeEntry(full.subarray(0, cut)), /malformed|unknown|auth/);
});

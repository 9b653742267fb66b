import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntry, encodeEntry, type AuthStamp, type EntryBody } from '../../src/server/entry.js';
import { UNLIMITED_QUOTAS } from '../../src/tenants/index.js';

// The 'tenant' log entry kind (server/entry.ts): every tenant op round-trips with and without a
// stamp, the existing kinds keep their bytes (entries already in logs still decode), and a
// malformed tenant payload is corruption (decoding throws; the member stops).

const id = { member: 0xabcdn, seq: 12345n };
const stamps: Array<AuthStamp | undefined> = [undefined, { user: 'root', tenant: '', revision: 9 }];
const ops: EntryBody[] = [
  { kind: 'tenant', op: { type: 'create', id: 'acme', quotas: { ...UNLIMITED_QUOTAS, maxKeys: 10, maxBytes: 1 << 20 } } },
  { kind: 'tenant', op: { type: 'setQuotas', id: 'acme', quotas: { ...UNLIMITED_QUOTAS, maxLeases: 3 } } },
  { kind: 'tenant', op: { type: 'suspend', id: 'acme' } },
  { kind: 'tenant', op: { type: 'resume', id: 'acme-2' } },
  { kind: 'tenant', op: { type: 'delete', id: 'acme2' } },
];

test('every tenant op round-trips through a log entry, stamped or not', () => {
  for (const body of ops) {
    for (const stamp of stamps) {
      const d = decodeEntry(encodeEntry(id, body, stamp));
      assert.ok(d !== null);
      assert.deepEqual(d.id, id);
      assert.deepEqual(d.body, body);
      assert.deepEqual(d.stamp, stamp);
    }
  }
});

test('tenant entries are kind 9; the kinds before it keep their numbers and bytes', () => {
  assert.equal(encodeEntry(id, ops[2]!)[1], 9);
  // A put entry as encoded before tenants existed (version 1, kind 1, member, seq, flags, lease, key length, key, value).
  const put: EntryBody = { kind: 'write', request: { type: 'put', put: { key: Uint8Array.of(0x6b), value: Uint8Array.of(0x76), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } } };
  const bytes = Buffer.from(encodeEntry(id, put)).toString('hex');
  assert.equal(bytes, '0101' + '000000000000abcd' + '0000000000003039' + '00' + '0000000000000000' + '00000001' + '6b' + '76');
  assert.equal(encodeEntry(id, { kind: 'lease', op: { type: 'revoke', id: 5n } })[1], 7);
  assert.equal(encodeEntry(id, { kind: 'auth', op: { type: 'enable' } })[1], 8);
});

test('a malformed tenant payload is corruption: decoding throws', () => {
  const good = encodeEntry(id, ops[2]!);
  const header = good.subarray(0, 18);
  const bad = (payload: string | Uint8Array): Uint8Array => {
    const p = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
    const out = new Uint8Array(18 + p.byteLength);
    out.set(header);
    out.set(p, 18);
    return out;
  };
  for (const p of [new Uint8Array(0), Uint8Array.of(2, 0x7b, 0x7d), '\u0001{"type":"create","id":"a"}', '\u0001{"type":"explode","id":"a"}', '\u0001not json']) {
    assert.throws(() => decodeEntry(bad(p)), /malformed tenant entry/);
  }
});

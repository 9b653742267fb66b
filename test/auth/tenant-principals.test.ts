// Tenant users and roles in the auth table, on real LMDB (docs/tenancy-plan.md, TS2): internal
// names "<tenant>\0<name>", scoped ops, tenantPurge, and the checker's fence (T1) and tenant
// administrator (T2). The fence is exercised with hand-crafted internal ranges that no edge would
// produce, so a translation bug elsewhere still fails closed.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyAuthOp,
  authTokenValid,
  decodeAuthOp,
  encodeAuthOp,
  internalName,
  parseLoginName,
  rootRoleOf,
  splitInternalName,
  type AuthOp,
  type ApplyAuthOptions,
} from '../../src/auth/index.js';
import { KeyMapper } from '../../src/tenants/index.js';
import { AuthFixture } from './helpers.js';
import { enc } from '../mvcc/helpers.js';

const f = new AuthFixture();
after(() => f.close());

const TENANTS = new Set(['acme', 'acme2']);
const exists = { tenantExists: (id: string): boolean => TENANTS.has(id) };
/** Applies with the tenants above existing; 'ok', 'noop' or the refusal's code. */
function run(op: AuthOp, opts: ApplyAuthOptions = exists): string {
  const r = f.storage.transactSync((txn) => applyAuthOp(f.table, txn, op, opts));
  return r.ok ? (r.changed ? 'ok' : 'noop') : r.error.code;
}
const A = (n: string): string => internalName('acme', n)!;
const A2 = (n: string): string => internalName('acme2', n)!;
const NONE = new Uint8Array(0);
const FROM = Uint8Array.of(0);

test('internal names: "<tenant>\\0<name>"; control characters and invalid tenant ids name nobody; login names split at the first "/"', () => {
  assert.equal(internalName(undefined, 'alice'), 'alice');
  assert.equal(internalName('acme', 'alice'), 'acme\u0000alice');
  assert.equal(internalName(undefined, 'acme\u0000alice'), undefined, 'a cluster name cannot spell a tenant user');
  assert.equal(internalName('acme', 'a\u0007b'), undefined);
  assert.equal(internalName('Acme', 'alice'), undefined);
  assert.equal(internalName('acme/x', 'alice'), undefined);
  assert.deepEqual(splitInternalName('acme\u0000a/b'), { tenant: 'acme', name: 'a/b' });
  assert.deepEqual(splitInternalName('root'), { tenant: undefined, name: 'root' });
  assert.equal(rootRoleOf('acme'), 'acme\u0000root');
  assert.deepEqual(parseLoginName('alice'), { tenant: undefined, name: 'alice' });
  assert.deepEqual(parseLoginName('acme/alice'), { tenant: 'acme', name: 'alice' });
  assert.deepEqual(parseLoginName('acme/a/b'), { tenant: 'acme', name: 'a/b' });
  for (const bad of ['Acme/alice', 'acme/', '/alice', 'acme/a\u0000b', 'a\u0000b']) assert.equal(parseLoginName(bad), undefined, JSON.stringify(bad));
});

test('scoped adds: need the tenant to exist at apply (fail closed without the option); names no edge accepts are refused', () => {
  assert.equal(run({ type: 'userAdd', name: A('alice'), noPassword: true }, {}), 'INVALID_AUTH_MGMT', 'no tenantExists: no tenant exists');
  assert.equal(run({ type: 'userAdd', name: internalName('gone', 'alice')!, noPassword: true }), 'INVALID_AUTH_MGMT');
  assert.equal(run({ type: 'roleAdd', name: internalName('gone', 'r')! }), 'INVALID_AUTH_MGMT');
  assert.equal(run({ type: 'userAdd', name: 'acme\u0000', noPassword: true }), 'INVALID_AUTH_MGMT', 'empty relative name');
  assert.equal(run({ type: 'userAdd', name: 'a/b', noPassword: true }), 'INVALID_AUTH_MGMT', 'a cluster user name with "/"');
  assert.equal(run({ type: 'userAdd', name: 'a\u0001b', noPassword: true }), 'INVALID_AUTH_MGMT');
  assert.equal(run({ type: 'roleAdd', name: 'ops/readers' }), 'ok', 'role names may contain "/"');
  assert.equal(f.table.revision(), 1);
  for (const t of ['acme', 'acme2']) {
    const n = (x: string): string => internalName(t, x)!;
    assert.equal(run({ type: 'userAdd', name: n('alice'), noPassword: false, passwordHash: 'h' }), 'ok');
    assert.equal(run({ type: 'userAdd', name: n('admin'), noPassword: true }), 'ok');
    assert.equal(run({ type: 'roleAdd', name: n('reader') }), 'ok');
  }
  assert.equal(run({ type: 'userAdd', name: 'alice', noPassword: true }), 'ok', 'the cluster has its own alice');
  assert.deepEqual(f.table.scopeUsers(undefined), ['alice']);
  assert.deepEqual(f.table.scopeUsers('acme'), [A('admin'), A('alice')]);
  assert.deepEqual(f.table.scopeUsers('acme2'), [A2('admin'), A2('alice')], 'acme2 is not inside acme\'s range');
  assert.deepEqual(f.table.scopeRoles('acme'), [A('reader')]);
  assert.deepEqual(f.table.scopeRoles(undefined), ['ops/readers']);
});

test('grants stay inside a scope: another scope\'s role does not exist for the user; "<tenant>\\0root" needs no record; the cluster root protections are the cluster\'s', () => {
  assert.equal(run({ type: 'userGrantRole', user: A('alice'), role: A2('reader') }), 'ROLE_NOT_FOUND');
  assert.equal(run({ type: 'userGrantRole', user: A('alice'), role: 'ops/readers' }), 'ROLE_NOT_FOUND');
  assert.equal(run({ type: 'userGrantRole', user: A('alice'), role: 'root' }), 'ROLE_NOT_FOUND', 'the cluster root role is not grantable to a tenant user');
  assert.equal(run({ type: 'userGrantRole', user: 'alice', role: A('reader') }), 'ROLE_NOT_FOUND');
  assert.equal(run({ type: 'userGrantRole', user: A('admin'), role: rootRoleOf('acme') }), 'ok');
  assert.equal(run({ type: 'userGrantRole', user: A('alice'), role: A('reader') }), 'ok');
  assert.equal(run({ type: 'userGrantRole', user: A2('admin'), role: rootRoleOf('acme2') }), 'ok');
  // Role and user "root" of a tenant are ordinary records (enabled or not).
  f.must({ type: 'userAdd', name: 'root', noPassword: true }, { type: 'roleAdd', name: 'root' }, { type: 'userGrantRole', user: 'root', role: 'root' }, { type: 'enable' });
  assert.equal(run({ type: 'roleAdd', name: rootRoleOf('acme2') }), 'ok');
  assert.equal(run({ type: 'roleDelete', role: rootRoleOf('acme2') }), 'ok');
  assert.deepEqual(f.table.getUser(A2('admin'))?.roles, [], 'deleting the tenant root role revoked it');
  assert.equal(run({ type: 'roleDelete', role: 'root' }), 'INVALID_AUTH_MGMT', 'the cluster root role stays protected');
});

test('T1: a tenant user is fenced to its keyspace even when a role (hand-crafted, past the edge) grants more', () => {
  // A role whose stored permissions reach outside acme: the API can never write this (grants are
  // translated in), so it stands for a translation bug.
  f.must(
    { type: 'roleGrantPermission', name: A('reader'), perm: { permType: 'READWRITE', key: enc('/t/'), rangeEnd: FROM } },
    { type: 'roleGrantPermission', name: A('reader'), perm: { permType: 'READ', key: enc(''), rangeEnd: FROM } },
  );
  const alice = A('alice');
  assert.equal(f.checker.canRead(alice, enc('/t/acme/x'), NONE), true, 'inside: the role allows it');
  assert.equal(f.checker.canWrite(alice, enc('/t/acme/x'), NONE), true);
  for (const [key, end] of [
    ['/t/acme2/x', ''],
    ['/t/acme2/', '/t/acme20'],
    ['/t/acme', ''],
    ['/t/acme/', '\0'],
    ['/t/acme/a', '/t/acme2/'],
    ['/t/', '/t0'],
    ['x', ''],
    ['', '\0'],
  ] as const) {
    const k = enc(key);
    const e = end === '\0' ? FROM : enc(end);
    assert.equal(f.checker.canRead(alice, k, e), false, `read [${JSON.stringify(key)}, ${JSON.stringify(end)})`);
    assert.equal(f.checker.canWrite(alice, k, e), false);
    assert.throws(() => f.checker.checkRange(alice, { key: k, rangeEnd: e } as never), { code: 'PERMISSION_DENIED' });
    assert.throws(() => f.checker.checkWatch(alice, k, e), { code: 'PERMISSION_DENIED' });
  }
  // A nested txn reaching one key outside, in the branch not taken, is refused as a whole.
  const txn = {
    compare: [],
    success: [{ type: 'put', put: { key: enc('/t/acme/a'), value: enc('1'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } }],
    failure: [{ type: 'txn', txn: { compare: [], success: [{ type: 'range', range: { key: enc('/t/acme2/a'), rangeEnd: NONE } }], failure: [] } }],
  };
  assert.throws(() => f.checker.checkTxn(alice, txn as never), { code: 'PERMISSION_DENIED' });
  assert.throws(() => f.checker.checkKeysWritable(alice, [enc('/t/acme/a'), enc('/t/acme2/a')]), { code: 'PERMISSION_DENIED' });
  // The cluster's alice holds no role and so may not read acme's keys either.
  assert.equal(f.checker.canRead('alice', enc('/t/acme/x'), NONE), false);
});

test('T2: a tenant administrator covers exactly its tenant, administers it and no other, and is no cluster administrator', () => {
  const admin = A('admin');
  const acme = new KeyMapper('acme');
  assert.equal(f.checker.canWrite(admin, acme.prefix, acme.end), true, 'the whole tenant [/t/acme/, /t/acme0)');
  assert.equal(f.checker.canRead(admin, enc('/t/acme/\xff'), NONE), true);
  assert.equal(f.checker.canRead(admin, enc('/t/acme2/x'), NONE), false);
  assert.equal(f.checker.canRead(admin, enc('/t/acme/'), FROM), false, 'open-ended reaches past the tenant');
  assert.equal(f.checker.isAdmin(admin), false);
  assert.throws(() => f.checker.checkAdmin(admin), { code: 'PERMISSION_DENIED' });
  assert.doesNotThrow(() => f.checker.checkTenantAdmin(admin, 'acme'));
  assert.throws(() => f.checker.checkTenantAdmin(admin, 'acme2'), { code: 'PERMISSION_DENIED' });
  assert.throws(() => f.checker.checkTenantAdmin(A('alice'), 'acme'), { code: 'PERMISSION_DENIED' });
  assert.doesNotThrow(() => f.checker.checkTenantAdmin('root', 'acme'), 'the cluster root administers every tenant');
  assert.throws(() => f.checker.checkTenantAdmin('alice', 'acme'), { code: 'PERMISSION_DENIED' });
});

test('tokens are looked up by (tenant, name): acme\'s alice and the cluster\'s alice are different users', () => {
  const rev = f.table.revision();
  assert.equal(authTokenValid(f.table, { user: 'alice', tenant: 'acme', revision: rev }), true);
  assert.equal(authTokenValid(f.table, { user: 'alice', revision: rev }), true);
  assert.equal(authTokenValid(f.table, { user: 'alice', tenant: 'globex', revision: rev }), false);
  assert.equal(authTokenValid(f.table, { user: 'acme\u0000alice', revision: rev }), false, 'a crafted cluster name does not reach acme');
});

test('tenantPurge: removes every user and role of that tenant only (not acme2), as one revision; a second purge is a no-op; round-trips as a payload', () => {
  const op: AuthOp = { type: 'tenantPurge', tenant: 'acme' };
  assert.deepEqual(decodeAuthOp(encodeAuthOp(op)), op);
  const rev = f.table.revision();
  const tokenRev = rev;
  assert.equal(run(op), 'ok');
  assert.equal(f.table.revision(), rev + 1);
  assert.deepEqual(f.table.scopeUsers('acme'), []);
  assert.deepEqual(f.table.scopeRoles('acme'), []);
  assert.deepEqual(f.table.scopeUsers('acme2'), [A2('admin'), A2('alice')]);
  assert.deepEqual(f.table.scopeRoles('acme2'), [A2('reader')]);
  assert.deepEqual(f.table.scopeUsers(undefined), ['alice', 'root']);
  assert.equal(authTokenValid(f.table, { user: 'alice', tenant: 'acme', revision: tokenRev }), false, 'its users\' tokens die');
  assert.equal(f.checker.canRead(A('admin'), enc('/t/acme/x'), NONE), false, 'and so do their permissions');
  assert.equal(run(op), 'noop');
  assert.equal(f.table.revision(), rev + 1);
  assert.equal(run({ type: 'tenantPurge', tenant: 'Not-An-Id' }), 'INVALID_AUTH_MGMT');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { authTokenValid, decodeAuthOp, encodeAuthOp, type AuthOp } from '../../src/auth/index.js';
import { KvStore, type Entry } from '../../src/mvcc/index.js';
import { applyAuthOp } from '../../src/auth/index.js';
import { dec, enc, putReq } from '../mvcc/helpers.js';
import { AuthFixture, perm } from './helpers.js';

// The auth ops on real LMDB: etcd 3.4's rules and errors for every op (API.md section 10 and the
// section 4 catalogue), the auth revision, and the token-invalidation rules built on it (A13).

async function withFixture(fn: (f: AuthFixture) => Promise<void> | void): Promise<void> {
  const f = new AuthFixture();
  try {
    await fn(f);
  } finally {
    await f.close();
  }
}

const rootSetup: AuthOp[] = [
  { type: 'userAdd', name: 'root', passwordHash: '$argon2id$fake-root', noPassword: false },
  { type: 'roleAdd', name: 'root' },
  { type: 'userGrantRole', user: 'root', role: 'root' },
];

test('a fresh store: disabled, revision 0, no users or roles', () =>
  withFixture((f) => {
    assert.equal(f.table.enabled(), false);
    assert.equal(f.table.revision(), 0);
    assert.equal(f.table.enabledRevision(), 0);
    assert.deepEqual(f.table.listUsers(), []);
    assert.deepEqual(f.table.listRoles(), []);
  }));

test('enable: needs user root (ROOT_USER_NOT_EXIST) holding role root (ROOT_ROLE_NOT_EXIST); twice is a no-op', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'enable' }), 'ROOT_USER_NOT_EXIST');
    f.must({ type: 'userAdd', name: 'root', noPassword: true });
    assert.equal(f.do({ type: 'enable' }), 'ROOT_ROLE_NOT_EXIST');
    f.must({ type: 'roleAdd', name: 'root' }, { type: 'userGrantRole', user: 'root', role: 'root' });
    assert.equal(f.table.revision(), 3, 'refused enables did not count');
    assert.equal(f.do({ type: 'enable' }), 'ok');
    assert.equal(f.table.enabled(), true);
    assert.equal(f.table.enabledRevision(), 4);
    assert.equal(f.do({ type: 'enable' }), 'noop');
    assert.equal(f.table.revision(), 4);
    assert.equal(f.table.enabledRevision(), 4);
  }));

test('enable: role root may be granted without a role record, as etcd 3.4 allows', () =>
  withFixture((f) => {
    f.must({ type: 'userAdd', name: 'root', noPassword: true }, { type: 'userGrantRole', user: 'root', role: 'root' });
    assert.deepEqual(f.table.getUser('root')?.roles, ['root']);
    assert.equal(f.do({ type: 'enable' }), 'ok');
  }));

test('disable: when disabled it is a no-op success; when enabled it changes the revision, not enabledRevision', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'disable' }), 'noop');
    assert.equal(f.table.revision(), 0);
    f.must(...rootSetup, { type: 'enable' });
    assert.equal(f.do({ type: 'disable' }), 'ok');
    assert.equal(f.table.enabled(), false);
    assert.equal(f.table.revision(), 5);
    assert.equal(f.table.enabledRevision(), 4);
  }));

test('userAdd: empty name USER_EMPTY, duplicate USER_ALREADY_EXIST, unstorable name INVALID_AUTH_MGMT; only the hash is stored', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'userAdd', name: '', noPassword: true }), 'USER_EMPTY');
    assert.equal(f.do({ type: 'userAdd', name: 'alice', passwordHash: '$argon2id$h1', noPassword: false }), 'ok');
    assert.equal(f.do({ type: 'userAdd', name: 'alice', noPassword: true }), 'USER_ALREADY_EXIST');
    assert.equal(f.do({ type: 'userAdd', name: 'x'.repeat(513), noPassword: true }), 'INVALID_AUTH_MGMT');
    assert.equal(f.do({ type: 'userAdd', name: 'bad\uD800', noPassword: true }), 'INVALID_AUTH_MGMT');
    assert.deepEqual(f.table.getUser('alice'), { name: 'alice', roles: [], noPassword: false, passwordHash: '$argon2id$h1', credentialRevision: 1 });
    // A noPassword user keeps no hash even if one was sent.
    f.must({ type: 'userAdd', name: 'bob', passwordHash: '$argon2id$ignored', noPassword: true });
    assert.equal(f.table.getUser('bob')?.passwordHash, undefined);
    assert.equal(f.table.getUser('bob')?.noPassword, true);
    assert.equal(f.table.revision(), 2);
  }));

test('userDelete: unknown USER_NOT_FOUND; root only while auth is enabled INVALID_AUTH_MGMT (etcd)', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'userDelete', name: 'nobody' }), 'USER_NOT_FOUND');
    f.must(...rootSetup, { type: 'userAdd', name: 'alice', noPassword: true }, { type: 'enable' });
    assert.equal(f.do({ type: 'userDelete', name: 'root' }), 'INVALID_AUTH_MGMT');
    assert.ok(f.table.getUser('root'));
    assert.equal(f.do({ type: 'userDelete', name: 'alice' }), 'ok');
    assert.equal(f.table.getUser('alice'), undefined);
    f.must({ type: 'disable' });
    assert.equal(f.do({ type: 'userDelete', name: 'root' }), 'ok');
    assert.deepEqual(f.table.listUsers(), []);
  }));

test('userChangePassword: unknown USER_NOT_FOUND; replaces the hash, keeps roles and noPassword, moves credentialRevision', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'userChangePassword', name: 'ghost', passwordHash: '$h' }), 'USER_NOT_FOUND');
    f.must({ type: 'userAdd', name: 'alice', passwordHash: '$h1', noPassword: false }, { type: 'roleAdd', name: 'r' });
    f.must({ type: 'userGrantRole', user: 'alice', role: 'r' });
    f.must({ type: 'userChangePassword', name: 'alice', passwordHash: '$h2' });
    assert.deepEqual(f.table.getUser('alice'), { name: 'alice', roles: ['r'], noPassword: false, passwordHash: '$h2', credentialRevision: 4 });
    f.must({ type: 'userAdd', name: 'np', noPassword: true }, { type: 'userChangePassword', name: 'np', passwordHash: '$h3' });
    assert.equal(f.table.getUser('np')?.noPassword, true, 'etcd keeps the user options');
  }));

test('userGrantRole: USER_NOT_FOUND, ROLE_NOT_FOUND; roles kept sorted; an already-granted role is a no-op without a revision', () =>
  withFixture((f) => {
    f.must({ type: 'userAdd', name: 'alice', noPassword: true }, { type: 'roleAdd', name: 'zeta' }, { type: 'roleAdd', name: 'alpha' });
    assert.equal(f.do({ type: 'userGrantRole', user: 'ghost', role: 'zeta' }), 'USER_NOT_FOUND');
    assert.equal(f.do({ type: 'userGrantRole', user: 'alice', role: 'nope' }), 'ROLE_NOT_FOUND');
    f.must({ type: 'userGrantRole', user: 'alice', role: 'zeta' }, { type: 'userGrantRole', user: 'alice', role: 'alpha' });
    assert.deepEqual(f.table.getUser('alice')?.roles, ['alpha', 'zeta']);
    const rev = f.table.revision();
    assert.equal(f.do({ type: 'userGrantRole', user: 'alice', role: 'zeta' }), 'noop');
    assert.equal(f.table.revision(), rev);
    assert.equal(f.table.getUser('alice')?.credentialRevision, rev);
  }));

test('userRevokeRole: USER_NOT_FOUND, ROLE_NOT_GRANTED; root from root while enabled INVALID_AUTH_MGMT', () =>
  withFixture((f) => {
    f.must(...rootSetup, { type: 'userAdd', name: 'alice', noPassword: true }, { type: 'roleAdd', name: 'r' });
    f.must({ type: 'userGrantRole', user: 'alice', role: 'r' });
    assert.equal(f.do({ type: 'userRevokeRole', name: 'ghost', role: 'r' }), 'USER_NOT_FOUND');
    assert.equal(f.do({ type: 'userRevokeRole', name: 'root', role: 'r' }), 'ROLE_NOT_GRANTED');
    assert.equal(f.do({ type: 'userRevokeRole', name: 'alice', role: 'r' }), 'ok');
    assert.deepEqual(f.table.getUser('alice')?.roles, []);
    assert.equal(f.table.getUser('alice')?.credentialRevision, f.table.revision());
    f.must({ type: 'enable' });
    assert.equal(f.do({ type: 'userRevokeRole', name: 'root', role: 'root' }), 'INVALID_AUTH_MGMT');
    assert.deepEqual(f.table.getUser('root')?.roles, ['root']);
  }));

test('roleAdd: empty ROLE_EMPTY, duplicate ROLE_ALREADY_EXIST; listRoles and listUsers sorted by bytes', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'roleAdd', name: '' }), 'ROLE_EMPTY');
    for (const n of ['b', 'a', 'B', '\u00e9', 'aa']) f.must({ type: 'roleAdd', name: n }, { type: 'userAdd', name: n, noPassword: true });
    assert.equal(f.do({ type: 'roleAdd', name: 'a' }), 'ROLE_ALREADY_EXIST');
    assert.deepEqual(f.table.listRoles(), ['B', 'a', 'aa', 'b', '\u00e9']);
    assert.deepEqual(f.table.listUsers(), ['B', 'a', 'aa', 'b', '\u00e9']);
  }));

test('roleDelete: ROLE_NOT_FOUND; root while enabled INVALID_AUTH_MGMT; removes the role from every user', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'roleDelete', role: 'r' }), 'ROLE_NOT_FOUND');
    f.must(...rootSetup, { type: 'roleAdd', name: 'r' }, { type: 'roleAdd', name: 's' });
    f.must({ type: 'userAdd', name: 'u1', noPassword: true }, { type: 'userAdd', name: 'u2', noPassword: true });
    f.must({ type: 'userGrantRole', user: 'u1', role: 'r' }, { type: 'userGrantRole', user: 'u1', role: 's' }, { type: 'userGrantRole', user: 'u2', role: 'r' });
    const rootBefore = f.table.getUser('root')!.credentialRevision;
    f.must({ type: 'roleDelete', role: 'r' });
    const rev = f.table.revision();
    assert.deepEqual(f.table.getUser('u1')?.roles, ['s']);
    assert.deepEqual(f.table.getUser('u2')?.roles, []);
    assert.equal(f.table.getUser('u1')?.credentialRevision, rev, 'losing a role is a revoke');
    assert.equal(f.table.getUser('root')?.credentialRevision, rootBefore, 'users without the role are untouched');
    assert.deepEqual(f.table.listRoles(), ['root', 's']);
    f.must({ type: 'enable' });
    assert.equal(f.do({ type: 'roleDelete', role: 'root' }), 'INVALID_AUTH_MGMT');
  }));

test('roleGrantPermission: ROLE_NOT_FOUND; perms sorted by key; the same (key, range_end) replaces the type', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'a') }), 'ROLE_NOT_FOUND');
    f.must({ type: 'roleAdd', name: 'r' });
    f.must({ type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'm', 'n') });
    f.must({ type: 'roleGrantPermission', name: 'r', perm: perm('WRITE', 'c') });
    f.must({ type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'm', '\0') });
    const show = (): string[] => f.table.getRole('r')!.perms.map((p) => `${p.permType}:${dec(p.key)}-${dec(p.rangeEnd)}`);
    assert.deepEqual(show(), ['WRITE:c-', 'READ:m-\0', 'READ:m-n']);
    const rev = f.table.revision();
    assert.equal(f.do({ type: 'roleGrantPermission', name: 'r', perm: perm('READWRITE', 'm', 'n') }), 'ok');
    assert.deepEqual(show(), ['WRITE:c-', 'READ:m-\0', 'READWRITE:m-n']);
    assert.equal(f.table.revision(), rev + 1);
    assert.equal(f.do({ type: 'roleGrantPermission', name: 'r', perm: perm('READWRITE', 'm', 'n') }), 'noop');
    assert.equal(f.table.revision(), rev + 1);
  }));

test('roleRevokePermission: ROLE_NOT_FOUND; needs the exact (key, range_end) else PERMISSION_NOT_GRANTED', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'roleRevokePermission', role: 'r', key: enc('a'), rangeEnd: enc('b') }), 'ROLE_NOT_FOUND');
    f.must({ type: 'roleAdd', name: 'r' }, { type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'a', 'c') });
    assert.equal(f.do({ type: 'roleRevokePermission', role: 'r', key: enc('a'), rangeEnd: enc('b') }), 'PERMISSION_NOT_GRANTED');
    assert.equal(f.do({ type: 'roleRevokePermission', role: 'r', key: enc('a'), rangeEnd: new Uint8Array(0) }), 'PERMISSION_NOT_GRANTED');
    assert.equal(f.do({ type: 'roleRevokePermission', role: 'r', key: enc('a'), rangeEnd: enc('c') }), 'ok');
    assert.deepEqual(f.table.getRole('r')?.perms, []);
  }));

test('bootstrap: on a never-initialised store creates root (no password) + role root + grant + enable, at one revision', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'bootstrap' }), 'ok');
    assert.equal(f.table.revision(), 1);
    assert.equal(f.table.enabled(), true);
    assert.equal(f.table.enabledRevision(), 1);
    assert.deepEqual(f.table.getUser('root'), { name: 'root', roles: ['root'], noPassword: true, credentialRevision: 1 });
    assert.deepEqual(f.table.getRole('root'), { name: 'root', perms: [] });
    // Every member proposes it: the later copies are no-ops.
    assert.equal(f.do({ type: 'bootstrap' }), 'noop');
    assert.equal(f.table.revision(), 1);
  }));

test('bootstrap: a no-op once users exist, or once auth was ever enabled (even if disabled and emptied since)', () =>
  withFixture((f) => {
    f.must({ type: 'userAdd', name: 'alice', noPassword: true });
    assert.equal(f.do({ type: 'bootstrap' }), 'noop');
    assert.equal(f.table.enabled(), false);
    f.must({ type: 'userDelete', name: 'alice' }, ...rootSetup, { type: 'enable' }, { type: 'disable' }, { type: 'userDelete', name: 'root' });
    assert.deepEqual(f.table.listUsers(), []);
    assert.equal(f.do({ type: 'bootstrap' }), 'noop');
    assert.equal(f.table.enabled(), false);
  }));

test('a refused op writes nothing and every state survives a reopen', async () =>
  withFixture(async (f) => {
    f.must(...rootSetup, { type: 'roleAdd', name: 'r' }, { type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'a', '\0') }, { type: 'enable' });
    const before = { users: f.table.allUsers(), roles: f.table.listRoles().map((r) => f.table.getRole(r)), state: f.table.state() };
    for (const o of [
      { type: 'userDelete', name: 'root' },
      { type: 'roleDelete', role: 'root' },
      { type: 'userRevokeRole', name: 'root', role: 'root' },
      { type: 'userAdd', name: 'root', noPassword: true },
      { type: 'roleRevokePermission', role: 'r', key: enc('a'), rangeEnd: enc('b') },
    ] satisfies AuthOp[]) {
      assert.equal(f.apply(o).ok, false, o.type);
    }
    await f.reopen();
    assert.deepEqual({ users: f.table.allUsers(), roles: f.table.listRoles().map((r) => f.table.getRole(r)), state: f.table.state() }, before);
  }));

test('auth ops commit in mvcc\'s batch transaction without moving the KV revision', async () =>
  withFixture(async (f) => {
    const kv = KvStore.inStorage(f.storage);
    try {
      let index = 0;
      const ext = (o: AuthOp): Entry['request'] => ({
        type: 'external',
        external: {
          apply: (ctx) => {
            const r = applyAuthOp(f.table, ctx.txn, o);
            return r.ok ? { ok: true, value: r } : r;
          },
        },
      });
      const res = await kv.apply([
        { index: ++index, request: { type: 'put', put: putReq('k', 'v') } },
        { index: ++index, request: ext({ type: 'userAdd', name: 'alice', noPassword: true }) },
        { index: ++index, request: ext({ type: 'userAdd', name: 'alice', noPassword: true }) },
      ]);
      const [, added, dup] = res.results;
      assert.equal(added?.ok, true);
      assert.equal(dup?.ok === false && !dup.skipped && dup.error.code, 'USER_ALREADY_EXIST');
      assert.equal(kv.currentRevision, 2, 'only the put moved the KV revision');
      assert.equal(kv.appliedIndex, 3);
      assert.equal(f.table.revision(), 1);
    } finally {
      await kv.close();
    }
  }));

test('encodeAuthOp/decodeAuthOp round-trip every op; corrupt payloads throw plain Errors', () => {
  const ops: AuthOp[] = [
    { type: 'bootstrap' },
    { type: 'enable' },
    { type: 'disable' },
    { type: 'userAdd', name: 'al\u00efce', passwordHash: '$argon2id$v=19$m=19456,t=2,p=1$x$y', noPassword: false },
    { type: 'userAdd', name: 'np', noPassword: true },
    { type: 'userDelete', name: 'a' },
    { type: 'userChangePassword', name: 'a', passwordHash: '$h' },
    { type: 'userGrantRole', user: 'a', role: 'r' },
    { type: 'userRevokeRole', name: 'a', role: 'r' },
    { type: 'roleAdd', name: 'r' },
    { type: 'roleDelete', role: 'r' },
    { type: 'roleGrantPermission', name: 'r', perm: { permType: 'READWRITE', key: Uint8Array.of(0, 0xff, 1), rangeEnd: Uint8Array.of(0) } },
    { type: 'roleRevokePermission', role: 'r', key: enc('a'), rangeEnd: new Uint8Array(0) },
  ];
  for (const o of ops) assert.deepEqual(decodeAuthOp(encodeAuthOp(o)), o);
  const json = (s: string): Uint8Array => {
    const b = enc(s);
    const out = new Uint8Array(b.length + 1);
    out[0] = 1;
    out.set(b, 1);
    return out;
  };
  for (const badPayload of [
    new Uint8Array(0),
    Uint8Array.of(2, 0x7b, 0x7d),
    json('{'),
    json('[]'),
    json('{"type":"nuke"}'),
    json('{"type":"userAdd","name":"a"}'),
    json('{"type":"userDelete","name":5}'),
    json('{"type":"enable","extra":1}'),
    json('{"type":"roleGrantPermission","name":"r","perm":{"t":"ALL","k":"","e":""}}'),
    json('{"type":"roleRevokePermission","role":"r","k":"**","e":""}'),
    Uint8Array.of(1, 0xff, 0xfe),
  ]) {
    assert.throws(
      () => decodeAuthOp(badPayload),
      (e: unknown) => e instanceof Error && e.constructor === Error && /malformed/.test(e.message),
    );
  }
});

test('A13: a token dies on password change, user deletion, role grant/revoke, role deletion and auth disable/enable', () =>
  withFixture((f) => {
    f.must(...rootSetup, { type: 'roleAdd', name: 'r' }, { type: 'roleAdd', name: 's' }, { type: 'userAdd', name: 'alice', passwordHash: '$h', noPassword: false }, { type: 'enable' });
    const issue = (): { user: string; revision: number } => ({ user: 'alice', revision: f.table.revision() });
    let tok = issue();
    assert.equal(authTokenValid(f.table, tok), true);
    assert.equal(authTokenValid(f.table, { user: 'bob', revision: f.table.revision() }), false, 'unknown user');
    // Changes that do not touch alice leave her token alone.
    f.must({ type: 'roleGrantPermission', name: 'r', perm: perm('READ', 'x') }, { type: 'userAdd', name: 'bob', noPassword: true });
    assert.equal(authTokenValid(f.table, tok), true);

    f.must({ type: 'userChangePassword', name: 'alice', passwordHash: '$h2' });
    assert.equal(authTokenValid(f.table, tok), false, 'password change');
    tok = issue();
    f.must({ type: 'userGrantRole', user: 'alice', role: 'r' });
    assert.equal(authTokenValid(f.table, tok), false, 'role grant');
    tok = issue();
    f.must({ type: 'userGrantRole', user: 'alice', role: 's' });
    tok = issue();
    f.must({ type: 'userRevokeRole', name: 'alice', role: 'r' });
    assert.equal(authTokenValid(f.table, tok), false, 'role revoke');
    tok = issue();
    f.must({ type: 'roleDelete', role: 's' });
    assert.equal(authTokenValid(f.table, tok), false, 'role deletion');
    tok = issue();
    f.must({ type: 'disable' });
    assert.equal(authTokenValid(f.table, tok), false, 'auth disabled');
    f.must({ type: 'enable' });
    assert.equal(authTokenValid(f.table, tok), false, 'issued before the last enable');
    tok = issue();
    assert.equal(authTokenValid(f.table, tok), true);
    f.must({ type: 'userDelete', name: 'alice' }, { type: 'userAdd', name: 'alice', passwordHash: '$h3', noPassword: false });
    assert.equal(authTokenValid(f.table, tok), false, 'deleted and re-created');
  }));

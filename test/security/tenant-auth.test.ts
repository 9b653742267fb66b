// Tenant principals in authorization, through the real HTTP API of a real member (docs/tenancy-plan.md,
// TS2; GUARANTEES section (c) with tenants acme and acme2, whose prefixes "/t/acme/" and "/t/acme2/"
// would overlap without the trailing slash). Tenants are real records made through the server's
// tenant operations; tokens come from /v3/auth/authenticate with "<tenant>/<name>"; one listener
// with mutual TLS shows a certificate's O naming the tenant. Every refusal is checked for its exact
// answer and for having changed nothing.
//
// KV requests of tenant principals are made with keys that hold whether or not the edge translates
// them (a tenant's "/t/acme2/x" is either refused by the checker's fence or, translated, acme's own
// "/t/acme//t/acme2/x"): the assertion is that acme2's data is never reached.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createApi, HttpListener, requestPrincipal } from '../../src/api/index.js';
import { AuthTable, internalName } from '../../src/auth/index.js';
import type { RequestAuth } from '../../src/server/index.js';
import type { Storage } from '../../src/storage/index.js';
import { KeyMapper } from '../../src/tenants/index.js';
import { TlsReloader } from '../../src/tls/index.js';
import { decodeRangeRequest } from '../../src/wire/index.js';
import { writeTestPki } from '../harness/certs.js';
import { callTls } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { AuthedWatch, BAD_TOKEN, DENIED, b64, call, denied, login, ok, refused, startAuthMember, type AuthedMember, type Json } from './helpers.js';

let m: AuthedMember;
let url: string;
let root: string;
const ROOT: RequestAuth = { principal: { user: 'root' } };
const PW = 'tenant-secret-pw';
const SUSPENDED = { status: 403, code: 7, message: 'keyward: tenant is suspended' } as const;
const TENANT_NOT_FOUND = { status: 404, code: 5, message: 'keyward: tenant not found' } as const;
const BAD_NAME = { status: 400, code: 3, message: 'keyward: invalid user or role name (no control characters; no "/" in a cluster user name)' } as const;
const AUTH_FAILED = { status: 400, code: 3, message: 'etcdserver: authentication failed, invalid user ID or password' } as const;

/** The member's auth table, read directly (the same LMDB environment) to see internal names. */
function authTable(): AuthTable {
  // The server keeps its Storage private; the test reads the replicated tables it holds.
  return new AuthTable((m.server as unknown as { state: Storage }).state);
}

async function authRevision(): Promise<number> {
  return Number((await ok(url, '/v3/auth/status', {}, root))['authRevision']);
}

async function kvRevision(): Promise<number> {
  return Number((await ok(url, '/v3/kv/range', { key: b64('\0'), range_end: b64('\0'), count_only: true }, root))['header']['revision']);
}

async function valueOf(key: string): Promise<string | undefined> {
  const r = await ok(url, '/v3/kv/range', { key: b64(key) }, root);
  const kv = (r['kvs'] as Json[] | undefined)?.[0];
  return kv === undefined ? undefined : Buffer.from(String(kv['value'] ?? ''), 'base64').toString();
}

/** The claims of a JWT (only to look at `ten`; the server verifies). */
function claims(token: string): Json {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Json;
}

/** Makes tenant `id` with an administrator `admin` (tenant role root) through the cluster root's `tenant` field. */
async function tenantWithAdmin(id: string): Promise<string> {
  await m.server.tenantCreate({ id }, ROOT);
  await ok(url, '/v3/auth/user/add', { name: 'admin', password: PW, tenant: id }, root);
  await ok(url, '/v3/auth/user/grant', { user: 'admin', role: 'root', tenant: id }, root);
  return login(url, `${id}/admin`, PW);
}

let acmeAdmin: string;
let acme2Admin: string;

before(async () => {
  m = await startAuthMember();
  url = m.url;
  await ok(url, '/v3/auth/user/add', { name: 'root', password: PW });
  await ok(url, '/v3/auth/role/add', { name: 'root' });
  await ok(url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok(url, '/v3/auth/enable', {});
  root = await login(url, 'root', PW);
  // The cluster has its own admin and alice: names are per scope.
  await ok(url, '/v3/auth/user/add', { name: 'admin', password: PW }, root);
  await ok(url, '/v3/auth/user/add', { name: 'alice', password: PW }, root);
  acmeAdmin = await tenantWithAdmin('acme');
  acme2Admin = await tenantWithAdmin('acme2');
  await ok(url, '/v3/kv/put', { key: b64('/t/acme2/secret'), value: b64('acme2-data') }, root);
  await ok(url, '/v3/kv/put', { key: b64('/t/acme/secret'), value: b64('acme-data') }, root);
});
after(async () => {
  await m?.dispose();
});

describe('tenant administrators manage their own tenant', () => {
  test('login as "<tenant>/<name>" (or with a tenant field) gives a token with the ten claim; the cluster\'s admin is another user', async () => {
    assert.equal(claims(acmeAdmin)['sub'], 'admin');
    assert.equal(claims(acmeAdmin)['ten'], 'acme');
    const viaField = (await ok(url, '/v3/auth/authenticate', { name: 'admin', password: PW, tenant: 'acme2' }))['token'] as string;
    assert.equal(claims(viaField)['ten'], 'acme2');
    const clusterAdmin = await login(url, 'admin', PW);
    assert.equal(claims(clusterAdmin)['ten'], undefined);
    // The cluster's admin holds no role: it administers nothing.
    await denied(url, '/v3/auth/user/list', {}, clusterAdmin);
    await denied(url, '/v3/auth/user/list', { tenant: 'acme' }, clusterAdmin);
  });

  test('users, roles and grants, with names relative to the tenant and keys relative to its root; stored internally inside the prefix', async () => {
    await ok(url, '/v3/auth/role/add', { name: 'reader' }, acmeAdmin);
    await ok(url, '/v3/auth/role/grant', { name: 'reader', perm: { permType: 'READ', key: b64('app/'), range_end: b64('app0') } }, acmeAdmin);
    await ok(url, '/v3/auth/role/grant', { name: 'reader', perm: { permType: 'READWRITE', key: b64('w/'), range_end: b64('\0') } }, acmeAdmin);
    await ok(url, '/v3/auth/user/add', { name: 'alice', password: PW }, acmeAdmin);
    await ok(url, '/v3/auth/user/grant', { user: 'alice', role: 'reader' }, acmeAdmin);
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'alice' }, acmeAdmin))['roles'], ['reader']);
    assert.deepEqual((await ok(url, '/v3/auth/user/list', {}, acmeAdmin))['users'], ['admin', 'alice']);
    assert.deepEqual((await ok(url, '/v3/auth/role/list', {}, acmeAdmin))['roles'], ['reader']);
    // READ is the proto default and so not written (etcd's gateway does the same).
    const perms = [
      { key: b64('app/'), range_end: b64('app0') },
      { permType: 'READWRITE', key: b64('w/'), range_end: b64('\0') },
    ];
    assert.deepEqual((await ok(url, '/v3/auth/role/get', { role: 'reader' }, acmeAdmin))['perm'], perms);
    // The cluster root sees the same through the tenant field; its own lists hold only cluster names.
    assert.deepEqual((await ok(url, '/v3/auth/role/get', { role: 'reader', tenant: 'acme' }, root))['perm'], perms);
    assert.deepEqual((await ok(url, '/v3/auth/user/list', {}, root))['users'], ['admin', 'alice', 'root']);
    assert.deepEqual((await ok(url, '/v3/auth/user/list', { tenant: 'acme' }, root))['users'], ['admin', 'alice']);
    // (An empty list is left out of the JSON, as etcd's gateway does.)
    assert.equal((await ok(url, '/v3/auth/user/get', { name: 'alice' }, root))['roles'], undefined, 'the cluster\'s alice is untouched');
    // Inside the table: internal names and absolute ranges, the "\0" end stopped at the tenant's edge.
    const t = authTable();
    const role = t.getRole(internalName('acme', 'reader')!)!;
    const acme = new KeyMapper('acme');
    assert.deepEqual(
      role.perms.map((p) => [Buffer.from(p.key).toString(), Buffer.from(p.rangeEnd).toString()]),
      [['/t/acme/app/', '/t/acme/app0'], ['/t/acme/w/', '/t/acme0']],
    );
    for (const p of role.perms) assert.ok(acme.containsRange(p.key, p.rangeEnd));
    assert.deepEqual(t.getUser(internalName('acme', 'alice')!)?.roles, [internalName('acme', 'reader')]);
  });

  test('a grant cannot leave the tenant: "\\0" ends at its edge, a key naming another prefix stays inside; revoke by the same relative range', async () => {
    await ok(url, '/v3/auth/role/add', { name: 'wide' }, acmeAdmin);
    await ok(url, '/v3/auth/role/grant', { name: 'wide', perm: { permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') } }, acmeAdmin);
    await ok(url, '/v3/auth/role/grant', { name: 'wide', perm: { permType: 'READ', key: b64('/t/acme2/'), range_end: b64('/t/acme20') } }, acmeAdmin);
    const stored = authTable().getRole(internalName('acme', 'wide')!)!.perms.map((p) => [Buffer.from(p.key).toString('latin1'), Buffer.from(p.rangeEnd).toString('latin1')]);
    assert.deepEqual(stored, [['/t/acme/\0', '/t/acme0'], ['/t/acme//t/acme2/', '/t/acme//t/acme20']]);
    await ok(url, '/v3/auth/role/revoke', { role: 'wide', key: b64('/t/acme2/'), range_end: b64('/t/acme20') }, acmeAdmin);
    assert.deepEqual((await ok(url, '/v3/auth/role/get', { role: 'wide' }, acmeAdmin))['perm'], [{ permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') }]);
    await ok(url, '/v3/auth/user/grant', { user: 'alice', role: 'wide' }, acmeAdmin);
    const alice = await login(url, 'acme/alice', PW);
    // Whatever the key, acme2's value is never read and never overwritten (fence or translation).
    for (const key of ['/t/acme2/secret', '/t/acme2/']) {
      const r = await call(url, '/v3/kv/range', { key: b64(key), range_end: b64('\0') }, alice);
      assert.ok(!r.text.includes(b64('acme2-data')), `${key}: ${r.text}`);
      assert.ok(r.status === 403 || r.status === 200, r.text);
      await call(url, '/v3/kv/put', { key: b64('/t/acme2/secret'), value: b64('overwritten') }, alice);
      await call(url, '/v3/kv/deleterange', { key: b64('/t/acme2/'), range_end: b64('\0') }, alice);
    }
    assert.equal(await valueOf('/t/acme2/secret'), 'acme2-data');
    await ok(url, '/v3/auth/user/revoke', { name: 'alice', role: 'wide' }, acmeAdmin);
  });

  test('A21: acme\'s administrator cannot see or touch acme2 (nor a missing tenant): the same 403 for existing and missing names, nothing changed', async () => {
    const rev = await authRevision();
    for (const tenant of ['acme2', 'nosuch']) {
      for (const name of ['admin', 'ghost']) {
        await denied(url, '/v3/auth/user/get', { name, tenant }, acmeAdmin);
        await denied(url, '/v3/auth/user/delete', { name, tenant }, acmeAdmin);
        await denied(url, '/v3/auth/user/changepw', { name, password: 'new-password-1', tenant }, acmeAdmin);
        await denied(url, '/v3/auth/user/grant', { user: name, role: 'root', tenant }, acmeAdmin);
        await denied(url, '/v3/auth/role/get', { role: name, tenant }, acmeAdmin);
        await denied(url, '/v3/auth/role/delete', { role: name, tenant }, acmeAdmin);
        await denied(url, '/v3/auth/role/grant', { name, perm: { permType: 'READ', key: b64('a') }, tenant }, acmeAdmin);
      }
      await denied(url, '/v3/auth/user/add', { name: 'eve', password: PW, tenant }, acmeAdmin);
      await denied(url, '/v3/auth/user/list', { tenant }, acmeAdmin);
      await denied(url, '/v3/auth/role/list', { tenant }, acmeAdmin);
    }
    // Names are relative: acme's "admin" is acme's own, and a role of another scope is not there.
    await refused(url, '/v3/auth/user/grant', { user: 'alice', role: 'reader' }, acme2Admin, 412, 9, 'etcdserver: user name not found');
    await refused(url, '/v3/auth/role/get', { role: 'reader' }, acme2Admin, 412, 9, 'etcdserver: role name not found');
    assert.deepEqual((await ok(url, '/v3/auth/user/list', {}, acme2Admin))['users'], ['admin']);
    assert.equal(await authRevision(), rev);
    // A tenant user that is no administrator: refused alike for existing and missing names.
    const alice = await login(url, 'acme/alice', PW);
    for (const name of ['admin', 'ghost']) {
      await denied(url, '/v3/auth/user/get', { name }, alice);
      await denied(url, '/v3/auth/role/get', { role: name }, alice);
    }
    // etcd's self-reads hold inside the tenant.
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'alice' }, alice))['roles'], ['reader']);
    assert.equal(((await ok(url, '/v3/auth/role/get', { role: 'reader' }, alice))['perm'] as Json[]).length, 2);
  });

  test('A9: a tenant administrator is no cluster administrator', async () => {
    const rev = await kvRevision();
    const arev = await authRevision();
    await denied(url, '/v3/auth/disable', {}, acmeAdmin);
    await denied(url, '/v3/auth/enable', {}, acmeAdmin);
    await denied(url, '/v3/cluster/member/list', {}, acmeAdmin);
    await denied(url, '/v3/maintenance/status', {}, acmeAdmin);
    await denied(url, '/v3/kv/compaction', { revision: 1 }, acmeAdmin);
    await denied(url, '/v3/lease/leases', {}, acmeAdmin);
    assert.equal((await ok(url, '/v3/auth/status', {}, acmeAdmin))['enabled'], true, 'status is readable by anyone authenticated');
    // Its user calls stay in its tenant: a "root" it adds is acme's, not the cluster's.
    await ok(url, '/v3/auth/user/add', { name: 'root', password: PW }, acmeAdmin);
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'root' }, root))['roles'], ['root']);
    await ok(url, '/v3/auth/user/delete', { name: 'root' }, acmeAdmin);
    assert.equal(await kvRevision(), rev);
    assert.equal(await authRevision(), arev + 2);
  });
});

describe('names and scopes at the edge', () => {
  test('control characters in any name, "/" in a new cluster user name: 400/3, nothing changed; a cluster call cannot spell an internal name', async () => {
    const rev = await authRevision();
    const bad = async (path: string, body: unknown, token: string): Promise<void> => refused(url, path, body, token, BAD_NAME.status, BAD_NAME.code, BAD_NAME.message);
    await bad('/v3/auth/user/add', { name: 'acme\u0000alice', password: PW }, root);
    await bad('/v3/auth/user/add', { name: 'tab\tname', password: PW }, root);
    await bad('/v3/auth/user/add', { name: 'acme/bob', password: PW }, root);
    await bad('/v3/auth/role/add', { name: 'r\u007f' }, root);
    await bad('/v3/auth/user/get', { name: 'acme\u0000alice' }, root);
    await bad('/v3/auth/user/delete', { name: 'acme\u0000admin' }, root);
    await bad('/v3/auth/user/add', { name: 'x\u0000y', password: PW }, acmeAdmin);
    // In a tenant, "/" is allowed in user names (the first "/" of a login ends the tenant id).
    await ok(url, '/v3/auth/user/add', { name: 'ci/bot', password: PW }, acmeAdmin);
    assert.equal(claims(await login(url, 'acme/ci/bot', PW))['sub'], 'ci/bot');
    await ok(url, '/v3/auth/user/delete', { name: 'ci/bot' }, acmeAdmin);
    await ok(url, '/v3/auth/role/add', { name: 'ops/readers' }, root);
    await ok(url, '/v3/auth/role/delete', { name: 'ops/readers', role: 'ops/readers' }, root);
    assert.equal(await authRevision(), rev + 4);
  });

  test('a cluster administrator naming a tenant that does not exist is told so; a non-admin cluster user is refused first', async () => {
    const clusterAlice = await login(url, 'alice', PW);
    await refused(url, '/v3/auth/user/add', { name: 'x', password: PW, tenant: 'nosuch' }, root, TENANT_NOT_FOUND.status, TENANT_NOT_FOUND.code, TENANT_NOT_FOUND.message);
    await refused(url, '/v3/auth/user/list', { tenant: 'nosuch' }, root, TENANT_NOT_FOUND.status, TENANT_NOT_FOUND.code, TENANT_NOT_FOUND.message);
    await refused(url, '/v3/auth/user/list', { tenant: 'Not_An_Id' }, root, TENANT_NOT_FOUND.status, TENANT_NOT_FOUND.code, TENANT_NOT_FOUND.message);
    await denied(url, '/v3/auth/user/list', { tenant: 'nosuch' }, clusterAlice);
    await denied(url, '/v3/auth/user/list', { tenant: 'acme' }, clusterAlice);
    // A tenant field that is not a string is a malformed request.
    const r = await call(url, '/v3/auth/user/list', { tenant: 7 }, root);
    assert.deepEqual([r.status, r.json['code']], [400, 3], r.text);
  });

  test('authenticate: a tenant that does not exist, an invalid id and a wrong password answer alike', async () => {
    for (const name of ['nosuch/admin', 'Bad_Id/admin', 'acme/ghost', 'acme/', '/admin']) {
      await refused(url, '/v3/auth/authenticate', { name, password: PW }, undefined, AUTH_FAILED.status, AUTH_FAILED.code, AUTH_FAILED.message);
    }
    await refused(url, '/v3/auth/authenticate', { name: 'acme/admin', password: 'wrong-password' }, undefined, AUTH_FAILED.status, AUTH_FAILED.code, AUTH_FAILED.message);
    await refused(url, '/v3/auth/authenticate', { name: 'admin', password: PW, tenant: 'x/y' }, undefined, AUTH_FAILED.status, AUTH_FAILED.code, AUTH_FAILED.message);
  });
});

describe('admission: suspended and missing tenants', () => {
  test('suspended: every request of its principals is 403 "keyward: tenant is suspended" (login too, once the password is right), its watches end; resume restores', async () => {
    await m.server.tenantCreate({ id: 'paused' }, ROOT);
    await ok(url, '/v3/auth/user/add', { name: 'admin', password: PW, tenant: 'paused' }, root);
    await ok(url, '/v3/auth/user/grant', { user: 'admin', role: 'root', tenant: 'paused' }, root);
    const token = await login(url, 'paused/admin', PW);
    const w = new AuthedWatch(url, token);
    w.send({ create_request: { key: b64('/t/paused/w'), watch_id: 1 } });
    assert.equal((await w.next())['created'], true);
    const rev = await kvRevision();
    await m.server.tenantSuspend({ id: 'paused' }, ROOT);
    const ended = await w.next(2000);
    assert.equal(ended['canceled'], true);
    assert.equal(ended['cancel_reason'], SUSPENDED.message);
    w.close();
    const no = async (path: string, body: unknown): Promise<void> => refused(url, path, body, token, SUSPENDED.status, SUSPENDED.code, SUSPENDED.message);
    await no('/v3/kv/range', { key: b64('/t/paused/a') });
    await no('/v3/kv/put', { key: b64('/t/paused/a'), value: b64('1') });
    await no('/v3/lease/grant', { TTL: 60 });
    await no('/v3/auth/status', {});
    await no('/v3/auth/user/list', {});
    await no('/v3/auth/user/add', { name: 'eve', password: PW });
    await refused(url, '/v3/auth/authenticate', { name: 'paused/admin', password: PW }, undefined, SUSPENDED.status, SUSPENDED.code, SUSPENDED.message);
    await refused(url, '/v3/auth/authenticate', { name: 'paused/admin', password: 'wrong-password' }, undefined, AUTH_FAILED.status, AUTH_FAILED.code, AUTH_FAILED.message);
    assert.equal(await kvRevision(), rev);
    // The cluster root still manages it.
    assert.deepEqual((await ok(url, '/v3/auth/user/list', { tenant: 'paused' }, root))['users'], ['admin']);
    await m.server.tenantResume({ id: 'paused' }, ROOT);
    await ok(url, '/v3/auth/user/list', {}, token);
    await login(url, 'paused/admin', PW);
  });

  test('missing (deleted): refused exactly as a forbidden request (A21); its users and roles are purged and their tokens die (tenantPurge)', async () => {
    await m.server.tenantCreate({ id: 'doomed' }, ROOT);
    await ok(url, '/v3/auth/user/add', { name: 'admin', password: PW, tenant: 'doomed' }, root);
    await ok(url, '/v3/auth/user/grant', { user: 'admin', role: 'root', tenant: 'doomed' }, root);
    await ok(url, '/v3/auth/role/add', { name: 'r', tenant: 'doomed' }, root);
    const token = await login(url, 'doomed/admin', PW);
    const arev = await authRevision();
    await m.server.tenantDelete({ id: 'doomed' }, ROOT);
    assert.equal(await authRevision(), arev + 1, 'the purge is one auth revision');
    const t = authTable();
    assert.deepEqual([t.scopeUsers('doomed'), t.scopeRoles('doomed')], [[], []]);
    assert.deepEqual(t.scopeUsers('acme'), [internalName('acme', 'admin'), internalName('acme', 'alice')], 'other tenants keep theirs');
    // The token names a user that no longer exists: dead (401), as any deleted user's.
    await refused(url, '/v3/kv/range', { key: b64('a') }, token, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    await refused(url, '/v3/auth/authenticate', { name: 'doomed/admin', password: PW }, undefined, AUTH_FAILED.status, AUTH_FAILED.code, AUTH_FAILED.message);
    // A re-created tenant of the same id starts with nobody: the old token stays dead.
    await m.server.tenantCreate({ id: 'doomed' }, ROOT);
    await ok(url, '/v3/auth/user/add', { name: 'admin', password: PW, tenant: 'doomed' }, root);
    await refused(url, '/v3/kv/range', { key: b64('a') }, token, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    await m.server.tenantDelete({ id: 'doomed' }, ROOT);
  });

  test('a principal of a tenant without a record (a certificate, no token) answers as forbidden, byte-identical to a denied request', async () => {
    const ghost: RequestAuth = { principal: { user: 'admin', tenant: 'ghost' } };
    const forbidden: RequestAuth = { principal: { user: 'alice', tenant: 'acme' } };
    const errOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'allowed', (e: Error & { code?: string }) => `${e.name}:${e.code}`);
    const a = await errOf(m.server.range(decodeRangeRequest({ key: b64('/t/ghost/a') }), ghost));
    const b = await errOf(m.server.range(decodeRangeRequest({ key: b64('/t/acme/b') }), forbidden));
    assert.equal(a, 'AuthError:PERMISSION_DENIED');
    assert.equal(b, a);
  });
});

describe('certificates', () => {
  test('a client certificate with O=acme is acme\'s user of its CN, not the cluster\'s user of that name', async () => {
    const dir = makeTmpDir('keyward-tenant-auth-');
    const { store, init } = writeTestPki(dir.sub('certs'), ['m1']);
    const reloader = new TlsReloader({ certFile: init.members[0]!.server.cert, keyFile: init.members[0]!.server.key, caFile: init.clientCa.cert, watch: false });
    const api = createApi(m.server, { maxRequestBytes: 1572864, clientIdentity: requestPrincipal, logger: { error: () => {} } });
    const https = await HttpListener.listen(api, 'https://127.0.0.1:0', { tls: { reloader } });
    try {
      await ok(url, '/v3/auth/user/add', { name: 'carol', options: { no_password: true } }, acmeAdmin);
      await ok(url, '/v3/auth/user/grant', { user: 'carol', role: 'reader' }, acmeAdmin);
      const files = (c: { cert: string; key: string }) => ({ ca: init.clientCa.cert, cert: c.cert, key: c.key });
      const acmeCarol = files(store.issueClient('carol', 'acme'));
      const r = await callTls(https.url, '/v3/auth/user/get', { name: 'carol' }, acmeCarol);
      assert.deepEqual([r.status, r.json['roles']], [200, ['reader']]);
      // The same CN without O is the cluster's carol, who does not exist: a forbidden request.
      const clusterCarol = await callTls(https.url, '/v3/auth/user/get', { name: 'carol' }, files(store.issueClient('carol')));
      assert.deepEqual([clusterCarol.status, clusterCarol.json], [DENIED.status, { error: DENIED.message, message: DENIED.message, code: DENIED.code }]);
      // O naming a tenant without that user, or no such tenant: forbidden alike.
      for (const t of ['acme2', 'nosuch']) {
        const x = await callTls(https.url, '/v3/auth/user/get', { name: 'carol' }, files(store.issueClient('carol', t)));
        assert.deepEqual([x.status, x.json], [clusterCarol.status, clusterCarol.json], t);
      }
      // acme's administrator by certificate manages acme and nothing of the cluster.
      const admin = files(store.issueClient('admin', 'acme'));
      assert.deepEqual((await callTls(https.url, '/v3/auth/user/list', {}, admin)).json['users'], ['admin', 'alice', 'carol']);
      assert.equal((await callTls(https.url, '/v3/cluster/member/list', {}, admin)).status, DENIED.status);
      await ok(url, '/v3/auth/user/delete', { name: 'carol' }, acmeAdmin);
    } finally {
      await https.close();
      reloader.close();
      dir.cleanup();
    }
  });
});

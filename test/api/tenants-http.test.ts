import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { toWireFailure } from '../../src/api/errors.js';
import { TenantError } from '../../src/tenants/index.js';
import { DENIED, USER_EMPTY, b64, call, login, ok, refused, startAuthMember, type AuthedMember, type Json } from '../security/helpers.js';

// /v1/tenants/* on a real member with auth on (docs/tenancy-plan.md): the routes as a cluster
// administrator, the exact error for every kind of bad input (status, gRPC code, message), and
// that a refused call changes nothing (the tenant list and the store's revision stay as they were).

let m: AuthedMember;
let url: string;
let root: string;
let alice: string;

const UNLIMITED = { max_keys: '0', max_bytes: '0', max_leases: '0', max_watchers: '0', max_streams: '0', max_requests_per_second: '0' };

async function state(): Promise<{ tenants: Json; revision: string }> {
  const list = await ok(url, '/v1/tenants/list', {}, root);
  const r = await ok(url, '/v3/kv/range', { key: b64('\0'), range_end: b64('\0'), count_only: true }, root);
  return { tenants: list['tenants'] ?? [], revision: r['header']['revision'] as string };
}

/** A refusal with etcd's envelope, after which nothing changed. */
async function refusedUnchanged(path: string, body: unknown, token: string | undefined, status: number, code: number, message: string): Promise<void> {
  const before = await state();
  await refused(url, path, body, token, status, code, message);
  assert.deepEqual(await state(), before, `${path} ${JSON.stringify(body)} changed something`);
}

before(async () => {
  m = await startAuthMember();
  url = m.url;
  await ok(url, '/v3/auth/user/add', { name: 'root', password: 'root-secret-pw' });
  await ok(url, '/v3/auth/role/add', { name: 'root' });
  await ok(url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok(url, '/v3/auth/enable', {});
  root = await login(url, 'root', 'root-secret-pw');
  await ok(url, '/v3/auth/user/add', { name: 'alice', password: 'alice-secret-pw' }, root);
  alice = await login(url, 'alice', 'alice-secret-pw');
});
after(async () => {
  await m?.dispose();
});

describe('routes', () => {
  test('create, get, list, quotas, suspend, resume, delete: the tenant record with decimal-string numbers', async () => {
    const c = await ok(url, '/v1/tenants/create', { id: 'acme', quotas: { max_keys: 10, maxBytes: '1000' } }, root);
    assert.deepEqual(c['tenant'], {
      id: 'acme',
      status: 'active',
      quotas: { ...UNLIMITED, max_keys: '10', max_bytes: '1000' },
      usage: { keys: '0', bytes: '0', leases: '0' },
      created_revision: c['tenant']['created_revision'],
    });
    assert.match(c['tenant']['created_revision'], /^[1-9][0-9]*$/);
    assert.match(c['header']['revision'], /^[0-9]+$/);

    await ok(url, '/v3/kv/put', { key: b64('/t/acme/k'), value: b64('12345') }, root);
    const g = await ok(url, '/v1/tenants/get', { id: 'acme' }, root);
    assert.deepEqual(g['tenant']['usage'], { keys: '1', bytes: '6', leases: '0' });

    const q = await ok(url, '/v1/tenants/quotas', { id: 'acme', quotas: { max_leases: '2' } }, root);
    assert.deepEqual(q['tenant']['quotas'], { ...UNLIMITED, max_keys: '10', max_bytes: '1000', max_leases: '2' });

    assert.equal((await ok(url, '/v1/tenants/suspend', { id: 'acme' }, root))['tenant']['status'], 'suspended');
    assert.equal((await ok(url, '/v1/tenants/get', { id: 'acme' }, root))['tenant']['status'], 'suspended');
    assert.equal((await ok(url, '/v1/tenants/resume', { id: 'acme' }, root))['tenant']['status'], 'active');

    await ok(url, '/v1/tenants/create', { id: 'globex' }, root);
    const list = await ok(url, '/v1/tenants/list', {}, root);
    assert.deepEqual((list['tenants'] as Json[]).map((t) => [t['id'], t['status']]), [['acme', 'active'], ['globex', 'active']]);

    const d = await ok(url, '/v1/tenants/delete', { id: 'acme' }, root);
    assert.equal(d['deleted'], '1');
    const r = await ok(url, '/v3/kv/range', { key: b64('/t/acme/'), range_end: b64('/t/acme0') }, root);
    assert.equal(r['kvs'], undefined);
    await refused(url, '/v1/tenants/get', { id: 'acme' }, root, 404, 5, 'keyward: tenant not found');
  });

  test('unknown fields are ignored, as the v3 API ignores them', async () => {
    const c = await ok(url, '/v1/tenants/create', { id: 'initech', colour: 'red', quotas: { max_keys: 5, max_kees: 7 } }, root);
    assert.equal(c['tenant']['quotas']['max_keys'], '5');
    await ok(url, '/v1/tenants/delete', { id: 'initech' }, root);
  });

  test('other methods are 405, unknown paths 404', async () => {
    const get = await fetch(url + '/v1/tenants/list');
    assert.equal(get.status, 405);
    const none = await fetch(url + '/v1/tenants/nope', { method: 'POST', body: '{}' });
    assert.equal(none.status, 404);
  });
});

describe('bad input: the precise error, and nothing changes', () => {
  test('invalid ids: 400/3', async () => {
    const msg = 'keyward: invalid tenant id (1-63 characters of a-z, 0-9 and "-", not starting with "-")';
    for (const id of ['', 'ACME', '-acme', 'a/b', 'a'.repeat(64), 'a\u0000b']) await refusedUnchanged('/v1/tenants/create', { id }, root, 400, 3, msg);
    await refusedUnchanged('/v1/tenants/create', {}, root, 400, 3, msg);
  });

  test('wrong JSON types and values: 400/3 with the decoder\'s message', async () => {
    await refusedUnchanged('/v1/tenants/create', { id: 7 }, root, 400, 3, 'json: cannot unmarshal number into Go value of type string');
    await refusedUnchanged('/v1/tenants/create', { id: 'x', quotas: { max_keys: -1 } }, root, 400, 3, 'json: cannot unmarshal number -1 into Go value of type uint64');
    await refusedUnchanged('/v1/tenants/create', { id: 'x', quotas: { max_keys: 'many' } }, root, 400, 3, 'json: invalid use of ,string struct tag, trying to unmarshal "many" into uint64');
    await refusedUnchanged('/v1/tenants/create', { id: 'x', quotas: { max_keys: 1.5 } }, root, 400, 3, 'json: cannot unmarshal number 1.5 into Go value of type uint64');
    await refusedUnchanged('/v1/tenants/create', { id: 'x', quotas: [] }, root, 400, 3, 'json: cannot unmarshal array into Go value of type map[string]json.RawMessage');
    await refusedUnchanged('/v1/tenants/create', '{"id":', root, 400, 3, 'unexpected EOF');
    await refusedUnchanged('/v1/tenants/quotas', { id: 'globex', quotas: {} }, root, 400, 3, 'keyward: no quota given (quotas: {max_keys, max_bytes, max_leases, max_watchers, max_streams, max_requests_per_second})');
    await refusedUnchanged('/v1/tenants/quotas', { id: 'globex' }, root, 400, 3, 'keyward: no quota given (quotas: {max_keys, max_bytes, max_leases, max_watchers, max_streams, max_requests_per_second})');
  });

  test('an existing id is 412/9, a missing one 404/5', async () => {
    await refusedUnchanged('/v1/tenants/create', { id: 'globex' }, root, 412, 9, 'keyward: tenant already exists');
    for (const path of ['/v1/tenants/get', '/v1/tenants/suspend', '/v1/tenants/resume', '/v1/tenants/delete']) {
      await refusedUnchanged(path, { id: 'nosuch' }, root, 404, 5, 'keyward: tenant not found');
    }
    await refusedUnchanged('/v1/tenants/quotas', { id: 'nosuch', quotas: { max_keys: 1 } }, root, 404, 5, 'keyward: tenant not found');
  });

  test('administrators only: a user without root is 403/7, nobody is "user name is empty"', async () => {
    for (const [path, body] of [
      ['/v1/tenants/create', { id: 'mine' }],
      ['/v1/tenants/list', {}],
      ['/v1/tenants/get', { id: 'globex' }],
      ['/v1/tenants/suspend', { id: 'globex' }],
      ['/v1/tenants/resume', { id: 'globex' }],
      ['/v1/tenants/quotas', { id: 'globex', quotas: { max_keys: 1 } }],
      ['/v1/tenants/delete', { id: 'globex' }],
    ] as const) {
      await refusedUnchanged(path, body, alice, DENIED.status, DENIED.code, DENIED.message);
      await refusedUnchanged(path, body, undefined, USER_EMPTY.status, USER_EMPTY.code, USER_EMPTY.message);
    }
    const r = await call(url, '/v1/tenants/get', { id: 'globex' }, root);
    assert.equal(r.status, 200);
  });
});

describe('quota refusals reach the client as 429/8', () => {
  test('maxKeys exactly at the boundary: the Nth key is stored, the next is refused and nothing is written', async () => {
    await ok(url, '/v1/tenants/create', { id: 'small', quotas: { max_keys: 2 } }, root);
    await ok(url, '/v3/kv/put', { key: b64('/t/small/a'), value: b64('1') }, root);
    await ok(url, '/v3/kv/put', { key: b64('/t/small/b'), value: b64('1') }, root);
    await refusedUnchanged('/v3/kv/put', { key: b64('/t/small/c'), value: b64('1') }, root, 429, 8, 'keyward: tenant quota exceeded: maxKeys (2)');
    // An overwrite does not add a key.
    await ok(url, '/v3/kv/put', { key: b64('/t/small/a'), value: b64('2') }, root);
  });
});

describe('the status table', () => {
  test('every TenantError code has its status, gRPC code and message; OUTSIDE_TENANT names nothing and is logged', () => {
    const f = (e: TenantError): [number, number, string, boolean] => {
      const w = toWireFailure(e, 0);
      return [w.status, w.body.code, w.body.message, w.internal];
    };
    assert.deepEqual(f(new TenantError('OUTSIDE_TENANT')), [403, 7, 'etcdserver: permission denied', true]);
    assert.deepEqual(f(new TenantError('TENANT_SUSPENDED')), [403, 7, 'keyward: tenant is suspended', false]);
    assert.deepEqual(f(new TenantError('TENANT_NOT_FOUND')), [404, 5, 'keyward: tenant not found', false]);
    assert.deepEqual(f(new TenantError('TENANT_EXISTS')), [412, 9, 'keyward: tenant already exists', false]);
    assert.deepEqual(f(new TenantError('INVALID_QUOTA')), [400, 3, 'keyward: invalid quota (quotas are non-negative integers; 0 means unlimited)', false]);
    assert.deepEqual(f(new TenantError('QUOTA_EXCEEDED', { limit: 'maxBytes', value: 100 })), [429, 8, 'keyward: tenant quota exceeded: maxBytes (100)', false]);
    assert.deepEqual(f(new TenantError('TOO_MANY_REQUESTS', { limit: 'maxRequestsPerSecond', value: 5 })), [429, 8, 'keyward: tenant request rate exceeded', false]);
    assert.deepEqual(f(new TenantError('TOO_MANY_REQUESTS', { limit: 'maxStreams', value: 5 })), [429, 8, 'keyward: tenant stream limit reached', false]);
    assert.deepEqual(f(new TenantError('TOO_MANY_REQUESTS', { limit: 'maxWatchers', value: 5 })), [429, 8, 'keyward: tenant watcher limit reached', false]);
  });
});

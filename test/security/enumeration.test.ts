import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { AuthedWatch, b64, call, login, ok, startAuthMember, type Answer, type AuthedMember, type Json } from './helpers.js';

// GUARANTEES A21 (tenant enumeration) against a real member with auth enabled: a user limited to
// app/ learns nothing about keys outside it or about other users and roles. For every call, the
// answer about a forbidden key that exists and one that does not are byte-identical (status and
// body), no error body names a key or a value, and nothing moves the revision.

let m: AuthedMember;
let url: string;
let root: string;
let alice: string;

const SECRET_VALUE = 'v-s3cr3t-value';
/** Forbidden to alice: `secret` exists (with a lease attached), `nosuch` never did. */
const EXISTING = 'secret';
const MISSING = 'nosuch';
/** Substrings no answer to alice may contain. */
const LEAKS = [EXISTING, MISSING, SECRET_VALUE, b64(EXISTING), b64(MISSING), b64(SECRET_VALUE)];

let secretLease = '';

before(async () => {
  m = await startAuthMember();
  url = m.url;
  await ok(url, '/v3/auth/user/add', { name: 'root', password: 'root-secret-pw' });
  await ok(url, '/v3/auth/role/add', { name: 'root' });
  await ok(url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok(url, '/v3/auth/enable', {});
  root = await login(url, 'root', 'root-secret-pw');
  for (const name of ['alice', 'bob']) await ok(url, '/v3/auth/user/add', { name, password: `${name}-secret-pw` }, root);
  for (const role of ['app', 'other']) await ok(url, '/v3/auth/role/add', { name: role }, root);
  await ok(url, '/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') } }, root);
  await ok(url, '/v3/auth/role/grant', { name: 'other', perm: { permType: 'READWRITE', key: b64('secret'), range_end: b64('secreu') } }, root);
  await ok(url, '/v3/auth/user/grant', { user: 'alice', role: 'app' }, root);
  await ok(url, '/v3/auth/user/grant', { user: 'bob', role: 'other' }, root);
  alice = await login(url, 'alice', 'alice-secret-pw');
  secretLease = String((await ok(url, '/v3/lease/grant', { TTL: 600 }, root))['ID']);
  await ok(url, '/v3/kv/put', { key: b64(EXISTING), value: b64(SECRET_VALUE), lease: secretLease }, root);
  await ok(url, '/v3/kv/put', { key: b64('app/mine'), value: b64('1') }, root);
});
after(async () => {
  await m?.dispose();
});

async function revision(): Promise<number> {
  return Number((await ok(url, '/v3/kv/range', { key: b64('app/mine') }, root))['header']['revision']);
}

function noLeak(r: Answer | string, what: string): void {
  const text = typeof r === 'string' ? r : r.text;
  for (const s of LEAKS) assert.ok(!text.includes(s), `${what}: answer ${text} contains ${s}`);
}

/** The same call about the existing and the missing key: identical status and bytes, refused, no leak. */
async function same(path: string, body: (key: string) => Json, token = alice): Promise<Answer> {
  const a = await call(url, path, body(EXISTING), token);
  const b = await call(url, path, body(MISSING), token);
  const what = `${path} ${JSON.stringify(body('K'))}`;
  assert.deepEqual({ status: b.status, text: b.text }, { status: a.status, text: a.text }, what);
  assert.notEqual(a.status, 200, `${what} was allowed`);
  noLeak(a, what);
  return a;
}

const DENIED_TEXT = JSON.stringify({ error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 });

describe('A21 KV calls on a forbidden key: existing and missing keys are indistinguishable', () => {
  test('range in every shape', async () => {
    const rev = await revision();
    for (const extra of [{}, { count_only: true }, { keys_only: true }, { limit: 1 }, { serializable: true }, { revision: rev }, { revision: rev + 1000 }, { revision: 1 }, { min_mod_revision: 1 }, { sort_order: 'DESCEND', sort_target: 'VALUE' }]) {
      const r = await same('/v3/kv/range', (k) => ({ key: b64(k), ...extra }));
      assert.equal(r.text, DENIED_TEXT, JSON.stringify(extra));
      // A range that starts at the key (prefix-like) is refused the same way.
      await same('/v3/kv/range', (k) => ({ key: b64(k), range_end: b64(k + '\xff'), ...extra }));
    }
  });

  test('put, with prev_kv, ignore_value, ignore_lease and an attached lease', async () => {
    const rev = await revision();
    for (const extra of [{ value: b64('x') }, { value: b64('x'), prev_kv: true }, { ignore_value: true }, { ignore_lease: true, value: b64('x') }, { value: b64('x'), lease: secretLease }, { value: b64('x'), lease: '12345' }]) {
      const r = await same('/v3/kv/put', (k) => ({ key: b64(k), ...extra }));
      assert.equal(r.text, DENIED_TEXT, JSON.stringify(extra));
    }
    assert.equal(await revision(), rev);
  });

  test('deleterange, with prev_kv and as a prefix', async () => {
    const rev = await revision();
    for (const extra of [{}, { prev_kv: true }]) {
      await same('/v3/kv/deleterange', (k) => ({ key: b64(k), ...extra }));
      await same('/v3/kv/deleterange', (k) => ({ key: b64(k), range_end: b64(k + '\xff'), ...extra }));
    }
    assert.equal(await revision(), rev);
    const left = await ok(url, '/v3/kv/range', { key: b64(EXISTING) }, root);
    assert.equal(left['count'], '1');
  });

  test('txn: forbidden compares (value, version, create, mod, lease), ops in either branch, nested', async () => {
    const rev = await revision();
    const mine = { request_put: { key: b64('app/mine'), value: b64('2') } };
    const bodies: ((k: string) => Json)[] = [
      (k) => ({ compare: [{ key: b64(k), target: 'VALUE', result: 'EQUAL', value: b64(SECRET_VALUE) }], success: [mine] }),
      (k) => ({ compare: [{ key: b64(k), target: 'VERSION', result: 'GREATER', version: '0' }], success: [mine] }),
      (k) => ({ compare: [{ key: b64(k), target: 'CREATE', result: 'EQUAL', create_revision: '0' }], failure: [mine] }),
      (k) => ({ compare: [{ key: b64(k), target: 'MOD', result: 'LESS', mod_revision: '1000' }], success: [mine] }),
      (k) => ({ compare: [{ key: b64(k), target: 'LEASE', result: 'EQUAL', lease: secretLease }], success: [mine] }),
      (k) => ({ success: [{ request_range: { key: b64(k) } }] }),
      (k) => ({ failure: [{ request_delete_range: { key: b64(k), prev_kv: true } }] }),
      (k) => ({ success: [mine, { request_put: { key: b64(k), value: b64('x'), prev_kv: true } }] }),
      (k) => ({ success: [{ request_txn: { success: [{ request_range: { key: b64(k) } }] } }] }),
    ];
    for (const body of bodies) assert.equal((await same('/v3/kv/txn', body)).text, DENIED_TEXT);
    assert.equal(await revision(), rev);
  });

  test('lease time-to-live with keys and revoke of the lease holding the forbidden key are refused without naming it', async () => {
    const ttl = await call(url, '/v3/lease/timetolive', { ID: secretLease, keys: true }, alice);
    assert.equal(ttl.text, DENIED_TEXT);
    const revoke = await call(url, '/v3/lease/revoke', { ID: secretLease }, alice);
    assert.equal(revoke.text, DENIED_TEXT);
    noLeak(ttl, 'timetolive');
    assert.equal((await ok(url, '/v3/kv/range', { key: b64(EXISTING) }, root))['count'], '1');
  });
});

describe('A21 watches on a forbidden key', () => {
  /** Everything a POST /v3/watch stream answers to one create request, as text with the status. */
  async function postWatch(create: Json): Promise<string> {
    const w = new AuthedWatch(url, alice);
    // The member answers the headers once the first request is in.
    w.send({ create_request: create });
    const res = await w.response;
    const first = await w.lines.next(5000, 'the answer to a forbidden watch');
    // Anything else that arrives shortly (nothing is written meanwhile).
    const rest = await w.lines.quiet(200);
    w.close();
    return `${res.statusCode} ${JSON.stringify([first, ...rest])}`;
  }

  async function wsWatch(create: Json): Promise<string> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v3/watch', { headers: { authorization: alice } });
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      // Whatever arrives within a moment of the request (nothing is written meanwhile).
      const done = setTimeout(() => ws.terminate(), 1000);
      ws.on('open', () => ws.send(JSON.stringify({ create_request: create })));
      ws.on('message', (d) => {
        got.push(String(d));
        setTimeout(() => ws.close(), 200).unref();
      });
      ws.on('close', (code) => {
        clearTimeout(done);
        got.push(`close ${code}`);
        resolve();
      });
      ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on('error', reject);
    });
    return got.join('\n');
  }

  test('POST and WebSocket: the same bytes for an existing and a missing key, in every variant', async () => {
    const rev = await revision();
    for (const extra of [{}, { prev_kv: true }, { start_revision: 1 }, { start_revision: rev + 100 }, { progress_notify: true }]) {
      for (const watch of [postWatch, wsWatch]) {
        for (const range of [(k: string) => ({ key: b64(k) }), (k: string) => ({ key: b64(k), range_end: b64(k + '\xff') })]) {
          const a = await watch({ ...range(EXISTING), ...extra });
          const b = await watch({ ...range(MISSING), ...extra });
          assert.equal(b, a, `${watch.name} ${JSON.stringify(extra)}`);
          assert.match(a, /permission denied/, `${watch.name} ${JSON.stringify(extra)}`);
          noLeak(a, `${watch.name} ${JSON.stringify(extra)}`);
        }
      }
    }
  });

  test('a write to the forbidden key after a refused watch reaches nobody', async () => {
    const w = new AuthedWatch(url, alice);
    w.send({ create_request: { key: b64(EXISTING) } });
    await w.lines.next(5000, 'the refusal');
    await ok(url, '/v3/kv/put', { key: b64(EXISTING), value: b64(SECRET_VALUE), lease: secretLease }, root);
    const after = await w.lines.quiet(300);
    w.close();
    assert.deepEqual(after, []);
  });
});

describe('A21 users and roles: a non-admin cannot tell which exist', () => {
  test('user get / delete / grant / revoke / change password of an existing and a missing user: the same answer', async () => {
    const rev = await revision();
    const calls: [string, (name: string) => Json][] = [
      ['/v3/auth/user/get', (n) => ({ name: n })],
      ['/v3/auth/user/delete', (n) => ({ name: n })],
      ['/v3/auth/user/grant', (n) => ({ user: n, role: 'app' })],
      ['/v3/auth/user/revoke', (n) => ({ name: n, role: 'other' })],
      ['/v3/auth/user/changepw', (n) => ({ name: n, password: 'a-new-password' })],
    ];
    for (const [path, body] of calls) {
      const a = await call(url, path, body('bob'), alice);
      const b = await call(url, path, body('nobody'), alice);
      assert.deepEqual({ status: b.status, text: b.text }, { status: a.status, text: a.text }, path);
      assert.equal(a.text, DENIED_TEXT, path);
      assert.ok(!a.text.includes('bob'), path);
    }
    assert.equal(await revision(), rev);
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'bob' }, root))['roles'], ['other']);
  });

  test('role get / delete / grant / revoke of a role not held, existing or missing: the same answer', async () => {
    const calls: [string, (name: string) => Json][] = [
      ['/v3/auth/role/get', (n) => ({ role: n })],
      ['/v3/auth/role/delete', (n) => ({ role: n })],
      ['/v3/auth/role/grant', (n) => ({ name: n, perm: { permType: 'READ', key: b64('secret') } })],
      ['/v3/auth/role/revoke', (n) => ({ role: n, key: b64('secret'), range_end: b64('secreu') })],
      ['/v3/auth/user/grant', (n) => ({ user: 'alice', role: n })],
    ];
    for (const [path, body] of calls) {
      const a = await call(url, path, body('other'), alice);
      const b = await call(url, path, body('nosuchrole'), alice);
      assert.deepEqual({ status: b.status, text: b.text }, { status: a.status, text: a.text }, path);
      assert.equal(a.text, DENIED_TEXT, path);
    }
    assert.deepEqual((await ok(url, '/v3/auth/role/get', { role: 'other' }, root))['perm'].length, 1);
  });

  test('user list and role list are admin-only; a user may read itself and its own roles', async () => {
    assert.equal((await call(url, '/v3/auth/user/list', {}, alice)).text, DENIED_TEXT);
    assert.equal((await call(url, '/v3/auth/role/list', {}, alice)).text, DENIED_TEXT);
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'alice' }, alice))['roles'], ['app']);
    assert.equal((await ok(url, '/v3/auth/role/get', { role: 'app' }, alice))['perm'].length, 1);
  });

  test('authenticate: an unknown user and a wrong password give the same answer', async () => {
    const a = await call(url, '/v3/auth/authenticate', { name: 'bob', password: 'wrong-password' });
    const b = await call(url, '/v3/auth/authenticate', { name: 'nobody', password: 'wrong-password' });
    assert.deepEqual({ status: b.status, text: b.text }, { status: a.status, text: a.text });
    assert.equal(a.status, 400);
    assert.ok(!a.text.includes('bob'));
  });
});

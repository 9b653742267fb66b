import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import {
  AuthedWatch,
  BAD_TOKEN,
  DENIED,
  USER_EMPTY,
  b64,
  call,
  denied,
  login,
  ok,
  refused,
  startAuthMember,
  type AuthedMember,
  type Json,
} from './helpers.js';

// Users, roles, tokens and key-range permissions through the real HTTP API of a real member
// (GUARANTEES section (c), A1–A16 without tenants: "tenant" read as "another user's range").
// Every refusal is checked for etcd's exact answer and for having changed nothing.

let m: AuthedMember;
let url: string;
let root: string;
let alice: string;

const PASSWORDS = { root: 'root-secret-pw', alice: 'alice-secret-pw', bob: 'bob-secret-pw', carol: 'carol-secret-pw' };

const grant = (role: string, permType: string, key: string, rangeEnd?: string): Promise<Json> =>
  ok(url, '/v3/auth/role/grant', { name: role, perm: { permType, key: b64(key), ...(rangeEnd !== undefined ? { range_end: b64(rangeEnd) } : {}) } }, root);

async function revision(): Promise<number> {
  return Number((await ok(url, '/v3/kv/range', { key: b64('\0'), range_end: b64('\0'), count_only: true }, root))['header']['revision']);
}

async function valueOf(key: string): Promise<string | undefined> {
  const r = await ok(url, '/v3/kv/range', { key: b64(key) }, root);
  const kv = (r['kvs'] as Json[] | undefined)?.[0];
  return kv === undefined ? undefined : Buffer.from(String(kv['value'] ?? ''), 'base64').toString();
}

before(async () => {
  m = await startAuthMember();
  url = m.url;
  // etcd: enabling needs user root holding role root.
  await refused(url, '/v3/auth/enable', {}, undefined, 412, 9, 'etcdserver: root user does not exist');
  await ok(url, '/v3/auth/user/add', { name: 'root', password: PASSWORDS.root });
  await refused(url, '/v3/auth/enable', {}, undefined, 412, 9, 'etcdserver: root user does not have root role');
  await ok(url, '/v3/auth/role/add', { name: 'root' });
  await ok(url, '/v3/auth/user/grant', { user: 'root', role: 'root' });
  await ok(url, '/v3/auth/enable', {});
  root = await login(url, 'root', PASSWORDS.root);
  for (const name of ['alice', 'bob', 'carol'] as const) await ok(url, '/v3/auth/user/add', { name, password: PASSWORDS[name] }, root);
  // API.md's worked example: [app/, app0) READWRITE + [app0, b) READ.
  for (const role of ['app', 'ro', 'wo', 'watcher']) await ok(url, '/v3/auth/role/add', { name: role }, root);
  await grant('app', 'READWRITE', 'app/', 'app0');
  await grant('ro', 'READ', 'app0', 'b');
  await grant('wo', 'WRITE', 'w/', 'w0');
  await grant('watcher', 'READ', 'watched/', 'watched0');
  for (const role of ['app', 'ro', 'wo']) await ok(url, '/v3/auth/user/grant', { user: 'alice', role }, root);
  await ok(url, '/v3/auth/user/grant', { user: 'bob', role: 'watcher' }, root);
  alice = await login(url, 'alice', PASSWORDS.alice);
  await ok(url, '/v3/kv/put', { key: b64('secret'), value: b64('s3cr3t') }, root);
  await ok(url, '/v3/kv/put', { key: b64('app/x'), value: b64('1') }, root);
  await ok(url, '/v3/kv/put', { key: b64('w/x'), value: b64('old') }, root);
});
after(async () => {
  await m?.dispose();
});

describe('identity', () => {
  test('auth enabled and no credential: etcd\'s "user name is empty" on KV, watch and lease calls', async () => {
    await refused(url, '/v3/kv/range', { key: b64('app/x') }, undefined, USER_EMPTY.status, USER_EMPTY.code, USER_EMPTY.message);
    await refused(url, '/v3/kv/put', { key: b64('app/x'), value: b64('2') }, undefined, USER_EMPTY.status, USER_EMPTY.code, USER_EMPTY.message);
    await refused(url, '/v3/lease/grant', { TTL: 60 }, undefined, USER_EMPTY.status, USER_EMPTY.code, USER_EMPTY.message);
    const w = new AuthedWatch(url, undefined);
    const res = await w.response;
    assert.equal(res.statusCode, 400);
    w.close();
    assert.equal(await valueOf('app/x'), '1');
  });

  test('a token works raw (etcd) and as Bearer, in any casing of the scheme', async () => {
    for (const t of [alice, `Bearer ${alice}`, `bearer ${alice}`, `BEARER ${alice}`]) {
      const r = await ok(url, '/v3/kv/range', { key: b64('app/x') }, t);
      assert.equal(r['count'], '1');
    }
  });

  test('A18: identity headers are never read', async () => {
    const r = await call(url, '/v3/kv/range', { key: b64('secret') }, undefined, { 'x-user': 'root', 'x-forwarded-client-cert': 'CN=root', 'x-tenant': 'a' });
    assert.deepEqual(r.json, { error: USER_EMPTY.message, message: USER_EMPTY.message, code: USER_EMPTY.code });
  });
});

describe('A1 ranges that straddle a permission edge are refused whole', () => {
  test('the union of roles covers [app/a, b): allowed; every straddle is 403', async () => {
    await ok(url, '/v3/kv/range', { key: b64('app/a'), range_end: b64('b') }, alice);
    await ok(url, '/v3/kv/range', { key: b64('app/x') }, alice);
    const straddles: Json[] = [
      { key: b64('app/'), range_end: b64('c') }, // past the upper edge
      { key: b64('a'), range_end: b64('app0') }, // below the lower edge
      { key: b64('app'), range_end: b64('apq') }, // prefix "app" without the slash
      { key: b64('app/'), range_end: b64('\0') }, // from-key
      { key: b64('\0'), range_end: b64('\0') }, // everything
      { key: b64('b') }, // the exclusive end itself
      { key: b64('secret') },
    ];
    for (const r of straddles) {
      for (const variant of [{}, { count_only: true }, { keys_only: true }, { limit: 1 }, { revision: 1 }, { serializable: true }]) {
        await denied(url, '/v3/kv/range', { ...r, ...variant }, alice);
      }
    }
  });
});

describe('A2 A3 A4 txn and prev_kv', () => {
  test('A2: a compare on a forbidden key is refused (its outcome is itself a leak)', async () => {
    const rev = await revision();
    for (const target of ['VALUE', 'VERSION', 'MOD', 'CREATE', 'LEASE']) {
      const field = { VALUE: { value: b64('x') }, VERSION: { version: 1 }, MOD: { mod_revision: 1 }, CREATE: { create_revision: 1 }, LEASE: { lease: 1 } }[target];
      await denied(url, '/v3/kv/txn', { compare: [{ key: b64('secret'), target, result: 'EQUAL', ...field }], success: [{ request_put: { key: b64('app/x'), value: b64('leak') } }] }, alice);
    }
    assert.equal(await revision(), rev);
    assert.equal(await valueOf('app/x'), '1');
  });

  test('A3: a forbidden op in the branch not taken, or nested at any depth, is refused', async () => {
    const rev = await revision();
    await denied(url, '/v3/kv/txn', { success: [{ request_put: { key: b64('app/x'), value: b64('2') } }], failure: [{ request_delete_range: { key: b64('secret') } }] }, alice);
    let nested: Json = { request_put: { key: b64('secret'), value: b64('pwned') } };
    for (let depth = 0; depth < 5; depth++) nested = { request_txn: { success: [nested] } };
    await denied(url, '/v3/kv/txn', { success: [{ request_put: { key: b64('app/y'), value: b64('ok') } }, nested] }, alice);
    await denied(url, '/v3/kv/txn', { failure: [{ request_range: { key: b64('secret') } }] }, alice);
    assert.equal(await revision(), rev);
    assert.equal(await valueOf('secret'), 's3cr3t');
    // The same txn without the forbidden part goes through.
    await ok(url, '/v3/kv/txn', { success: [{ request_put: { key: b64('app/y'), value: b64('ok') } }] }, alice);
  });

  test('A4: write-only users get no previous values, top-level or in a txn', async () => {
    await ok(url, '/v3/kv/put', { key: b64('w/x'), value: b64('new') }, alice);
    const rev = await revision();
    await denied(url, '/v3/kv/put', { key: b64('w/x'), value: b64('newer'), prev_kv: true }, alice);
    await denied(url, '/v3/kv/deleterange', { key: b64('w/'), range_end: b64('w0'), prev_kv: true }, alice);
    await denied(url, '/v3/kv/txn', { success: [{ request_put: { key: b64('w/x'), value: b64('t'), prev_kv: true } }] }, alice);
    await denied(url, '/v3/kv/range', { key: b64('w/x') }, alice);
    assert.equal(await revision(), rev);
    assert.equal(await valueOf('w/x'), 'new');
  });
});

describe('A5 A6 leases', () => {
  let lease: string;
  before(async () => {
    lease = String((await ok(url, '/v3/lease/grant', { TTL: 600 }, root))['ID']);
    await ok(url, '/v3/kv/put', { key: b64('secret/leased'), value: b64('v'), lease }, root);
  });

  test('A5: attaching to, revoking or keeping alive a lease holding keys one may not write is refused', async () => {
    const rev = await revision();
    await denied(url, '/v3/kv/put', { key: b64('app/z'), value: b64('v'), lease }, alice);
    await denied(url, '/v3/kv/txn', { success: [{ request_put: { key: b64('app/z'), value: b64('v'), lease } }] }, alice);
    await denied(url, '/v3/lease/revoke', { ID: lease }, alice);
    const ka = await call(url, '/v3/lease/keepalive', JSON.stringify({ ID: lease }), alice);
    assert.match(ka.text, /permission denied/);
    assert.equal(await revision(), rev);
    assert.equal(await valueOf('secret/leased'), 'v');
  });

  test('A6: time-to-live lists keys only to who may read them all; without keys it answers', async () => {
    await denied(url, '/v3/lease/timetolive', { ID: lease, keys: true }, alice);
    const r = await ok(url, '/v3/lease/timetolive', { ID: lease }, alice);
    assert.equal(r['keys'], undefined);
    await denied(url, '/v3/lease/leases', {}, alice);
    const own = String((await ok(url, '/v3/lease/grant', { TTL: 600 }, alice))['ID']);
    await ok(url, '/v3/kv/put', { key: b64('app/leased'), value: b64('v'), lease: own }, alice);
    const mine = await ok(url, '/v3/lease/timetolive', { ID: own, keys: true }, alice);
    assert.deepEqual(mine['keys'], [b64('app/leased')]);
    await ok(url, '/v3/lease/revoke', { ID: own }, alice);
  });
});

describe('A7 A8 watches', () => {
  test('A7: a watch on a forbidden range is refused at create, with etcd\'s reason, and replays nothing', async () => {
    const w = new AuthedWatch(url, alice);
    w.send({ create_request: { key: b64('secret'), start_revision: 1 } });
    const r = await w.next();
    assert.equal(r['canceled'], true);
    assert.equal(r['cancel_reason'], DENIED.message);
    w.send({ create_request: { key: b64('app/x'), range_end: b64('\0'), start_revision: 1 } });
    const r2 = await w.next();
    assert.equal(r2['canceled'], true);
    // A permitted watch on the same stream still works, and sees only its range.
    w.send({ create_request: { key: b64('app/'), range_end: b64('app0'), start_revision: 1 } });
    const created = await w.next();
    assert.equal(created['created'], true);
    assert.equal(created['canceled'], undefined);
    const events = await w.next();
    for (const e of events['events'] as Json[]) assert.match(Buffer.from(String(e['kv']['key']), 'base64').toString(), /^app\//);
    w.close();
  });

  test('A7 over server-sent events: a forbidden range is 403 with etcd\'s reason before any event; a permitted one streams', async () => {
    const sse = (key: string, rangeEnd?: string): Promise<Response> => {
      const q = new URLSearchParams({ key: b64(key), ...(rangeEnd !== undefined ? { range_end: b64(rangeEnd) } : {}), start_revision: '1' });
      return fetch(`${url}/v3/watch?${q.toString()}`, { headers: { accept: 'text/event-stream', authorization: alice } });
    };
    const refused = await sse('secret');
    assert.equal(refused.status, DENIED.status);
    assert.deepEqual(await refused.json(), { error: DENIED.message, message: DENIED.message, code: DENIED.code });
    const open = await sse('app/', 'app0');
    assert.equal(open.status, 200);
    assert.equal(open.headers.get('content-type'), 'text/event-stream');
    await open.body?.cancel();
  });

  test('A8: revoking a role cancels the open watches it allowed, promptly; new ones are refused', async () => {
    const bob = await login(url, 'bob', PASSWORDS.bob);
    const w = new AuthedWatch(url, bob);
    w.send({ create_request: { key: b64('watched/'), range_end: b64('watched0') } });
    assert.equal((await w.next())['created'], true);
    await ok(url, '/v3/kv/put', { key: b64('watched/a'), value: b64('1') }, root);
    assert.equal(((await w.next())['events'] as Json[]).length, 1);
    // The role loses the permission: the user's token stays good, the watch it allowed ends.
    let t0 = Date.now();
    await ok(url, '/v3/auth/role/revoke', { role: 'watcher', key: b64('watched/'), range_end: b64('watched0') }, root);
    const canceled = await w.next(1000);
    assert.equal(canceled['canceled'], true);
    assert.equal(canceled['cancel_reason'], DENIED.message);
    assert.ok(Date.now() - t0 < 1000);
    await ok(url, '/v3/kv/put', { key: b64('watched/b'), value: b64('2') }, root);
    w.send({ create_request: { key: b64('watched/'), range_end: b64('watched0') } });
    const refusedNow = await w.next();
    assert.equal(refusedNow['canceled'], true);
    assert.equal(refusedNow['cancel_reason'], DENIED.message);
    w.close();
    await grant('watcher', 'READ', 'watched/', 'watched0');
    // The user loses the role: that is a change of the user, so its token dies too (A13) and the
    // watch ends with the token's refusal.
    const w2 = new AuthedWatch(url, bob);
    w2.send({ create_request: { key: b64('watched/'), range_end: b64('watched0') } });
    assert.equal((await w2.next())['created'], true);
    t0 = Date.now();
    await ok(url, '/v3/auth/user/revoke', { name: 'bob', role: 'watcher' }, root);
    const ended = await w2.next(1000);
    assert.equal(ended['canceled'], true);
    assert.equal(ended['cancel_reason'], BAD_TOKEN.message);
    assert.ok(Date.now() - t0 < 1000);
    w2.close();
    await ok(url, '/v3/auth/user/grant', { user: 'bob', role: 'watcher' }, root);
  });

  test('A8: a password change ends the watches its old token opened', async () => {
    await ok(url, '/v3/auth/role/add', { name: 'carol-role' }, root);
    await ok(url, '/v3/auth/role/grant', { name: 'carol-role', perm: { permType: 'READ', key: b64('c/'), range_end: b64('c0') } }, root);
    await ok(url, '/v3/auth/user/grant', { user: 'carol', role: 'carol-role' }, root);
    // After the grant: a role change of the user ends older tokens (A13).
    const token = await login(url, 'carol', PASSWORDS.carol);
    const w = new AuthedWatch(url, token);
    w.send({ create_request: { key: b64('c/'), range_end: b64('c0') } });
    assert.equal((await w.next())['created'], true);
    await ok(url, '/v3/auth/user/changepw', { name: 'carol', password: 'carol-new-password' }, root);
    const canceled = await w.next(1000);
    assert.equal(canceled['canceled'], true);
    assert.equal(canceled['cancel_reason'], BAD_TOKEN.message);
    w.close();
  });
});

describe('A9 cluster-admin-only operations', () => {
  test('compaction, status, members, leader transfer, auth and user/role management need root', async () => {
    const rev = await revision();
    await denied(url, '/v3/kv/compaction', { revision: 1 }, alice);
    await denied(url, '/v3/maintenance/status', {}, alice);
    await denied(url, '/v3/cluster/member/list', {}, alice);
    await denied(url, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'] }, alice);
    await denied(url, '/v3/maintenance/transfer-leadership', { targetID: '1' }, alice);
    await denied(url, '/v3/auth/disable', {}, alice);
    await denied(url, '/v3/auth/user/add', { name: 'eve', password: 'eve-password' }, alice);
    await denied(url, '/v3/auth/user/grant', { user: 'alice', role: 'root' }, alice);
    await denied(url, '/v3/auth/role/grant', { name: 'app', perm: { permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') } }, alice);
    await denied(url, '/v3/auth/user/list', {}, alice);
    await denied(url, '/v3/auth/role/list', {}, alice);
    await denied(url, '/v3/auth/user/get', { name: 'bob' }, alice);
    await denied(url, '/v3/auth/role/get', { role: 'root' }, alice);
    assert.equal(await revision(), rev);
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'alice' }, root))['roles'], ['app', 'ro', 'wo']);
    // etcd: a user may read itself and the roles it holds.
    assert.deepEqual((await ok(url, '/v3/auth/user/get', { name: 'alice' }, alice))['roles'], ['app', 'ro', 'wo']);
    const role = await ok(url, '/v3/auth/role/get', { role: 'app' }, alice);
    assert.deepEqual(role['perm'], [{ permType: 'READWRITE', key: b64('app/'), range_end: b64('app0') }]);
    await ok(url, '/v3/maintenance/status', {}, root);
  });
});

describe('A13 A14 tokens', () => {
  test('A13: a token dies with a password change, user deletion, and auth disable/enable', async () => {
    await ok(url, '/v3/auth/user/add', { name: 'dave', password: 'dave-password' }, root);
    await ok(url, '/v3/auth/user/grant', { user: 'dave', role: 'app' }, root);
    let dave = await login(url, 'dave', 'dave-password');
    await ok(url, '/v3/kv/range', { key: b64('app/x') }, dave);
    await ok(url, '/v3/auth/user/changepw', { name: 'dave', password: 'dave-password-2' }, root);
    await refused(url, '/v3/kv/range', { key: b64('app/x') }, dave, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    dave = await login(url, 'dave', 'dave-password-2');
    await ok(url, '/v3/auth/user/delete', { name: 'dave' }, root);
    await refused(url, '/v3/kv/range', { key: b64('app/x') }, dave, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    // Re-creating the name does not revive the old token.
    await ok(url, '/v3/auth/user/add', { name: 'dave', password: 'dave-password-2' }, root);
    await ok(url, '/v3/auth/user/grant', { user: 'dave', role: 'app' }, root);
    await refused(url, '/v3/kv/range', { key: b64('app/x') }, dave, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    const before = root;
    await ok(url, '/v3/auth/disable', {}, root);
    await ok(url, '/v3/auth/enable', {});
    await refused(url, '/v3/kv/range', { key: b64('app/x') }, before, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    root = await login(url, 'root', PASSWORDS.root);
    alice = await login(url, 'alice', PASSWORDS.alice);
  });

  test('A14: garbage, forged, tampered, unsigned, oversized, duplicated and query tokens are 401', async () => {
    const [h, p, s] = alice.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Json;
    const enc = (o: Json): string => Buffer.from(JSON.stringify(o)).toString('base64url');
    const forged = [
      'garbage',
      `${h}.${enc({ ...payload, sub: 'root' })}.${s}`, // tampered payload, signature kept
      `${h}.${p}.`, // signature stripped
      `${enc({ alg: 'none', typ: 'JWT' })}.${enc({ ...payload, sub: 'root' })}.`, // alg none
      `${enc({ alg: 'HS256', typ: 'JWT' })}.${p}.${s}`, // alg confusion
      `${h}.${enc({ ...payload, exp: Math.floor(Date.now() / 1000) - 3600 })}.${s}`,
      `${h}.${enc({ ...payload, aud: 'someone-else' })}.${s}`,
      'x'.repeat(5000),
    ];
    for (const t of forged) await refused(url, '/v3/kv/range', { key: b64('app/x') }, t, BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    // A token is checked even where nothing needs one.
    await refused(url, '/v3/auth/status', {}, 'garbage', BAD_TOKEN.status, BAD_TOKEN.code, BAD_TOKEN.message);
    // In the URL: refused, not used.
    const q = await fetch(`${url}/v3/kv/range?token=${encodeURIComponent(alice)}`, { method: 'POST', body: JSON.stringify({ key: b64('app/x') }) });
    assert.equal(q.status, 401);
    // Two Authorization headers: refused rather than one picked.
    const dup = await rawPost(url, '/v3/kv/range', JSON.stringify({ key: b64('app/x') }), [
      ['Authorization', alice],
      ['Authorization', root],
    ]);
    assert.equal(dup.status, 401);
  });
});

describe('A15 A16 passwords', () => {
  test('A15: short passwords are refused; unknown user and wrong password answer alike; failures are rate limited', async () => {
    await refused(url, '/v3/auth/user/add', { name: 'frank', password: 'short' }, root, 400, 3, 'keyward: password must be at least 8 characters');
    await refused(url, '/v3/auth/user/add', { name: 'frank', password: '' }, root, 400, 3, 'keyward: password must be at least 8 characters');
    await refused(url, '/v3/auth/user/get', { name: 'frank' }, root, 412, 9, 'etcdserver: user name not found');
    const FAILED = 'etcdserver: authentication failed, invalid user ID or password';
    await refused(url, '/v3/auth/authenticate', { name: 'nobody', password: 'whatever-pw' }, undefined, 400, 3, FAILED);
    await refused(url, '/v3/auth/authenticate', { name: 'bob', password: 'wrong-password' }, undefined, 400, 3, FAILED);
    const answers: number[] = [];
    for (let i = 0; i < 8; i++) answers.push((await call(url, '/v3/auth/authenticate', { name: 'bob', password: `wrong-${i}-password` })).status);
    assert.ok(answers.includes(429), `expected a 429 among ${answers.join(',')}`);
    const limited = await call(url, '/v3/auth/authenticate', { name: 'bob', password: 'wrong-again-pw' });
    assert.deepEqual(limited.json, { error: 'keyward: too many authentication attempts, retry later', message: 'keyward: too many authentication attempts, retry later', code: 8 });
  });

  test('A16: no password appears in the data directory or the audit log; only argon2id hashes do', async () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(m.dataDir);
    let hashes = 0;
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const pw of [...Object.values(PASSWORDS), 'dave-password', 'dave-password-2', 'carol-new-password']) {
        assert.equal(bytes.includes(Buffer.from(pw)), false, `${pw} found in ${f}`);
      }
      hashes += bytes.includes(Buffer.from('$argon2id$')) ? 1 : 0;
    }
    assert.ok(hashes > 0, 'the hashes are stored');
    const audit = JSON.stringify(m.audit);
    for (const pw of Object.values(PASSWORDS)) assert.equal(audit.includes(pw), false);
    assert.equal(audit.includes(alice), false, 'no token in the audit log');
    assert.equal(audit.includes('$argon2id$'), false, 'no hash in the audit log');
  });

  test('the audit log names who changed what, from where, and failed logins', () => {
    const adds = m.audit.filter((r) => r['action'] === 'user.add' && r['target'] === 'alice');
    assert.equal(adds.length, 1);
    assert.equal(adds[0]!['user'], 'root');
    assert.equal(adds[0]!['outcome'], 'applied');
    assert.match(String(adds[0]!['remote']), /127\.0\.0\.1/);
    assert.ok(m.audit.some((r) => r['action'] === 'authenticate' && r['outcome'] === 'failed' && r['user'] === 'bob'));
    assert.ok(m.audit.some((r) => r['action'] === 'user.revoke' && r['target'] === 'bob' && r['role'] === 'watcher'));
  });
});

function rawPost(base: string, path: string, body: string, headers: Array<[string, string]>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(path, base);
    // A flat [name, value, name, value] list is sent as written, duplicates included.
    // A raw header list gets nothing added by Node: Host and the length are sent explicitly.
    const all = [...headers, ['Host', u.host], ['Content-Length', String(Buffer.byteLength(body))]];
    const req = httpRequest({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: all.flat() });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

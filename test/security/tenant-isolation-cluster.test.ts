// Tenant isolation on a real secure cluster (issue 6 "How it is checked"; GUARANTEES (c) A1–A14
// and A21 with real tenants): three `keyward serve` processes sharing one certs dir, peers over
// mutual TLS, auth bootstrapped. Tenants acme and acme2 (one id a string prefix of the other) are
// made by the cluster root, each with a user holding READWRITE on its whole keyspace; acme attacks
// acme2 through a FOLLOWER (and a few times through the leader) with a client certificate O=acme
// and with a password token of acme/user. Every attack is refused or stays inside acme, and after
// all of them acme2's keys and leases are as they were, refused writes moved no revision, and
// every member holds the same data. One cluster for the whole file: start-up is the expensive part.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConnectionOptions } from 'node:tls';
import { CertStore } from '../../src/tls/index.js';
import type { Json } from '../harness/cluster.js';
import { killSlot, killSlots, leaderSlot, processSlots, startSlots, type ProcessSlot } from '../harness/process-cluster.js';
import { tlsConnection, tlsPost, type TlsAnswer } from '../harness/tls-client.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { TlsWatch } from './tenant-member.js';

const dir = makeTmpDir('keyward-tenant-iso-cluster-');
const TOKEN = 'tenant-iso-cluster';
const PW = 'tenant-iso-password';
const b64 = (s: string): string => Buffer.from(s, 'latin1').toString('base64');
const unb64 = (s: unknown): string => Buffer.from(String(s ?? ''), 'base64').toString('latin1');
const DENIED = { error: 'etcdserver: permission denied', message: 'etcdserver: permission denied', code: 7 };
const LEASE_NOT_FOUND = { error: 'etcdserver: requested lease not found', message: 'etcdserver: requested lease not found', code: 5 };

let ss: ProcessSlot[] = [];
let L: ProcessSlot;
let F: ProcessSlot;
let rootConn: ConnectionOptions;
let acmeConn: ConnectionOptions;
let acme2Conn: ConnectionOptions;
let acmeToken: string;
let acme2Token: string;
/** acme2's leases: one with a key attached, one without. */
let bLeaseKeys: string;
let bLeaseEmpty: string;
/** acme2's keys as the cluster root saw them after set-up (internal keys, with revisions). */
let bBefore: Json[];

async function post(s: ProcessSlot, path: string, body: unknown, conn: ConnectionOptions, token?: string): Promise<TlsAnswer> {
  return tlsPost(s.clientUrl, path, body, conn, token === undefined ? {} : { authorization: token });
}

async function ok(s: ProcessSlot, path: string, body: unknown, conn: ConnectionOptions = rootConn, token?: string): Promise<Json> {
  const r = await post(s, path, body, conn, token);
  assert.equal(r.status, 200, `${path} ${JSON.stringify(body)} on ${s.name} -> ${r.status} ${r.text}`);
  return r.json;
}

async function refused(s: ProcessSlot, path: string, body: unknown, conn: ConnectionOptions, want: Json, status = 403, token?: string): Promise<TlsAnswer> {
  const r = await post(s, path, body, conn, token);
  assert.deepEqual({ status: r.status, json: r.json }, { status, json: want }, `${path} ${JSON.stringify(body)} on ${s.name}`);
  return r;
}

const keysOf = (r: Json): string[] => ((r['kvs'] as Json[] | undefined) ?? []).map((kv) => unb64(kv['key']));
const kvsOf = (r: Json): Array<[string, string]> => ((r['kvs'] as Json[] | undefined) ?? []).map((kv) => [unb64(kv['key']), unb64(kv['value'])]);
const ALL = { key: b64('\0'), range_end: b64('\0') };
/** The internal range of acme2's keyspace. */
const B_RANGE = { key: b64('/t/acme2/'), range_end: b64('/t/acme20') };

async function revision(s: ProcessSlot = L): Promise<number> {
  return Number((await ok(s, '/v3/kv/range', { ...ALL, count_only: true }))['header']['revision']);
}

/** acme's virtual keys, as acme wrote them (the expected answer of every whole-keyspace read). */
const A_KEYS = ['../acme2/x', '/t/acme2/x', 'a', 'b', 'x/t/acme2/y'];

before(async () => {
  ss = await processSlots(3, dir, 'i', { secure: true });
  const certsDir = ss[0]!.certsDir!;
  const ca = ss[0]!.tls!.ca;
  rootConn = tlsConnection(ss[0]!.tls!);
  const store = new CertStore(certsDir);
  acmeConn = tlsConnection({ ca, ...store.issueClient('user', 'acme') });
  acme2Conn = tlsConnection({ ca, ...store.issueClient('user', 'acme2') });
  await startSlots(ss, TOKEN);
  const lead = await leaderSlot(ss);
  L = ss[lead]!;
  F = ss[(lead + 1) % 3]!;
  for (const t of ['acme', 'acme2']) {
    await ok(L, '/v1/tenants/create', { id: t });
    await ok(L, '/v3/auth/role/add', { name: 'rw', tenant: t });
    await ok(L, '/v3/auth/role/grant', { name: 'rw', perm: { permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') }, tenant: t });
    await ok(L, '/v3/auth/user/add', { name: 'user', password: PW, tenant: t });
    await ok(L, '/v3/auth/user/grant', { user: 'user', role: 'rw', tenant: t });
  }
  acmeToken = (await ok(F, '/v3/auth/authenticate', { name: 'acme/user', password: PW }))['token'] as string;
  acme2Token = (await ok(F, '/v3/auth/authenticate', { name: 'acme2/user', password: PW }))['token'] as string;
  // acme2's data: keys, one of them on a lease, and a lease with no keys.
  for (const [k, v] of [['a', 'B-a'], ['x', 'B-x'], ['secret', 'B-secret']] as const) await ok(L, '/v3/kv/put', { key: b64(k), value: b64(v) }, acme2Conn);
  bLeaseKeys = (await ok(L, '/v3/lease/grant', { TTL: 300 }, acme2Conn))['ID'] as string;
  bLeaseEmpty = (await ok(L, '/v3/lease/grant', { TTL: 300 }, acme2Conn))['ID'] as string;
  await ok(L, '/v3/kv/put', { key: b64('leased'), value: b64('B-leased'), lease: bLeaseKeys }, acme2Conn);
  // acme's data, written through the follower: keys that spell acme2's internal prefix literally.
  for (const k of A_KEYS) await ok(F, '/v3/kv/put', { key: b64(k), value: b64(`A:${k}`) }, acmeConn);
  bBefore = ((await ok(L, '/v3/kv/range', B_RANGE))['kvs'] as Json[]);
  assert.equal(bBefore.length, 4);
});

after(async () => {
  await killSlots(ss);
  dir.cleanup();
});

describe('A1: ranges through a follower see only acme, with virtual keys', () => {
  test('"\\0" end from "\\0", from a key, count_only, keys_only, limit, a past revision; certificate and token alike', async () => {
    for (const s of [F, L]) {
      for (const [conn, token] of [[acmeConn, undefined], [rootConn, acmeToken]] as const) {
        const all = await ok(s, '/v3/kv/range', ALL, conn, token);
        assert.deepEqual(kvsOf(all), A_KEYS.map((k) => [k, `A:${k}`]), s.name);
        assert.equal(all['count'], String(A_KEYS.length));
        assert.deepEqual(keysOf(await ok(s, '/v3/kv/range', { key: b64('b'), range_end: b64('\0') }, conn, token)), ['b', 'x/t/acme2/y']);
        assert.equal((await ok(s, '/v3/kv/range', { ...ALL, count_only: true }, conn, token))['count'], String(A_KEYS.length));
        assert.deepEqual(keysOf(await ok(s, '/v3/kv/range', { ...ALL, keys_only: true }, conn, token)), A_KEYS);
        const limited = await ok(s, '/v3/kv/range', { ...ALL, limit: 1 }, conn, token);
        assert.deepEqual([keysOf(limited), limited['more'], limited['count']], [[A_KEYS[0]], true, String(A_KEYS.length)]);
        // At a revision before acme wrote anything (after acme2 did): nothing.
        const early = Math.max(...bBefore.map((kv) => Number(kv['mod_revision'])));
        assert.deepEqual(keysOf(await ok(s, '/v3/kv/range', { ...ALL, revision: early }, conn, token)), []);
      }
    }
  });

  test('ranges that would straddle in internal space stay inside acme: "/t/acme2/".."/t/acme20", "../acme2/", "\\xff" ends', async () => {
    for (const s of [F, L]) {
      // acme's own literal "/t/acme2/x" (internal /t/acme//t/acme2/x), never acme2's x.
      assert.deepEqual(kvsOf(await ok(s, '/v3/kv/range', B_RANGE, acmeConn)), [['/t/acme2/x', 'A:/t/acme2/x']]);
      assert.deepEqual(kvsOf(await ok(s, '/v3/kv/range', { key: b64('/t/acme2/x') }, acmeConn)), [['/t/acme2/x', 'A:/t/acme2/x']]);
      assert.deepEqual(kvsOf(await ok(s, '/v3/kv/range', { key: b64('../acme2/x') }, acmeConn)), [['../acme2/x', 'A:../acme2/x']]);
      assert.deepEqual(keysOf(await ok(s, '/v3/kv/range', { key: b64('/'), range_end: b64('/t/acme3') }, acmeConn)), ['/t/acme2/x']);
      assert.deepEqual(keysOf(await ok(s, '/v3/kv/range', { key: b64('a'), range_end: b64('\xff\xff') }, acmeConn)), ['a', 'b', 'x/t/acme2/y']);
      // acme2's own names, asked by acme, are acme's (missing) keys.
      for (const k of ['secret', 'leased']) assert.deepEqual(keysOf(await ok(s, '/v3/kv/range', { key: b64(k) }, acmeConn)), [], k);
      // The cluster's view: acme's keys all under /t/acme/.
      const internal = keysOf(await ok(s, '/v3/kv/range', { key: b64('/t/acme/'), range_end: b64('/t/acme0') }));
      assert.deepEqual(internal, A_KEYS.map((k) => `/t/acme/${k}`));
    }
  });
});

describe('A2/A3: txn compares and nested txns', () => {
  test('a compare on acme2\'s key name is evaluated on acme\'s key of that name; nested ranges stay inside; a not-taken delete of everything deletes nothing', async () => {
    const before = await revision();
    // acme2's value of "x" is B-x: a compare that would leak it by its outcome sees acme's (missing) x.
    const probe = await ok(F, '/v3/kv/txn', { compare: [{ key: b64('x'), target: 'VALUE', result: 'EQUAL', value: b64('B-x') }], success: [{ request_range: ALL }] }, acmeConn);
    assert.equal(probe['succeeded'], undefined, JSON.stringify(probe));
    const lit = await ok(F, '/v3/kv/txn', {
      compare: [{ key: b64('/t/acme2/x'), target: 'VALUE', result: 'EQUAL', value: b64('A:/t/acme2/x') }],
      success: [{ request_txn: { success: [{ request_range: ALL }, { request_txn: { success: [{ request_range: B_RANGE }] } }] } }],
      failure: [{ request_delete_range: { ...ALL, prev_kv: true } }],
    }, acmeConn);
    assert.equal(lit['succeeded'], true);
    const inner = lit['responses'][0]['response_txn']['responses'];
    assert.deepEqual(keysOf(inner[0]['response_range']), A_KEYS);
    assert.deepEqual(kvsOf(inner[1]['response_txn']['responses'][0]['response_range']), [['/t/acme2/x', 'A:/t/acme2/x']]);
    // Compares on versions and revisions: acme2's "secret" exists, acme's does not.
    const ver = await ok(L, '/v3/kv/txn', { compare: [{ key: b64('secret'), target: 'CREATE', result: 'GREATER', create_revision: '0' }] }, acmeConn);
    assert.equal(ver['succeeded'], undefined);
    assert.equal(await revision(), before, 'read-only txns move no revision');
  });
});

describe('A5/A6/A21: acme2\'s leases', () => {
  test('revoke, keep-alive, time-to-live(keys) and attaching acme2\'s lease answer as for a random ID, through follower and leader; nothing changes', async () => {
    const before = await revision();
    const random = '7777777';
    for (const s of [F, L]) {
      for (const id of [bLeaseKeys, bLeaseEmpty, random]) {
        await refused(s, '/v3/lease/revoke', { ID: id }, acmeConn, LEASE_NOT_FOUND, 404);
        const ttl = await ok(s, '/v3/lease/timetolive', { ID: id, keys: true }, acmeConn);
        assert.deepEqual([ttl['ID'], ttl['TTL'], ttl['grantedTTL'], ttl['keys']], [id, '-1', undefined, undefined], `${s.name} ${id}`);
        const ka = await post(s, '/v3/lease/keepalive', JSON.stringify({ ID: id }), acmeConn);
        assert.equal(ka.status, 200, ka.text);
        const line = JSON.parse(ka.text.trim()) as Json;
        assert.deepEqual([line['result']['ID'], line['result']['TTL']], [id, undefined], `${s.name} ${id}: ${ka.text}`);
        await refused(s, '/v3/kv/put', { key: b64('mine'), value: b64('v'), lease: id }, acmeConn, LEASE_NOT_FOUND, 404);
      }
    }
    assert.equal(await revision(), before);
    // acme2's leases are alive and hold what they held.
    const t = await ok(F, '/v3/lease/timetolive', { ID: bLeaseKeys, keys: true }, acme2Conn);
    assert.ok(Number(t['TTL']) > 0, JSON.stringify(t));
    assert.deepEqual((t['keys'] as string[]).map(unb64), ['leased']);
    assert.ok(Number((await ok(F, '/v3/lease/timetolive', { ID: bLeaseEmpty }, acme2Conn))['TTL']) > 0);
    await refused(F, '/v3/lease/leases', {}, acmeConn, DENIED);
  });
});

describe('A7: watches', () => {
  test('a watch from revision 1 with a "\\0" end through a follower replays and streams only acme\'s events, with virtual keys, while acme2 writes', async () => {
    const w = new TlsWatch(F.clientUrl, acmeConn).send({ create_request: { ...ALL, start_revision: '1', prev_kv: true } });
    assert.equal((await w.next())['created'], true);
    const seen: Array<[string, string]> = [];
    const collect = async (until: string): Promise<void> => {
      while (!seen.some(([k]) => k === until)) {
        const r = await w.next();
        for (const ev of (r['events'] as Json[] | undefined) ?? []) {
          seen.push([unb64(ev['kv']['key']), unb64(ev['kv']['value'])]);
          if (ev['prev_kv'] !== undefined) assert.ok(!unb64(ev['prev_kv']['value']).startsWith('B-'), JSON.stringify(ev));
        }
      }
    };
    await collect('x/t/acme2/y');
    assert.deepEqual(seen, A_KEYS.map((k) => [k, `A:${k}`]), 'history: acme\'s writes only');
    // acme2 writes concurrently, on both members, with keys acme also has; then acme writes a marker.
    await Promise.all([
      ...['a', 'x', '/t/acme2/x', 'live'].map((k, i) => ok(i % 2 === 0 ? F : L, '/v3/kv/put', { key: b64(`live/${k}`), value: b64(`B-live-${i}`) }, acme2Conn)),
      ok(L, '/v3/kv/put', { key: b64('live/zz'), value: b64('B-live-token') }, rootConn, acme2Token),
    ]);
    await ok(L, '/v3/kv/put', { key: b64('marker'), value: b64('A:marker') }, acmeConn);
    await collect('marker');
    assert.deepEqual(seen.slice(A_KEYS.length), [['marker', 'A:marker']]);
    assert.deepEqual(await w.lines.quiet(200), []);
    w.close();
    await ok(L, '/v3/kv/deleterange', { key: b64('marker') }, acmeConn);
  });

  test('a cluster-only view: a tenant\'s watch on another tenant\'s internal prefix watches its own literal keys', async () => {
    const w = new TlsWatch(F.clientUrl, acmeConn).send({ create_request: { ...B_RANGE } });
    assert.equal((await w.next())['created'], true);
    await ok(L, '/v3/kv/put', { key: b64('live/w'), value: b64('B-w') }, acme2Conn);
    await ok(L, '/v3/kv/put', { key: b64('/t/acme2/x'), value: b64('A:/t/acme2/x') }, acmeConn);
    const ev = (await w.next())['events'] as Json[];
    assert.deepEqual(ev.map((e) => [unb64(e['kv']['key']), unb64(e['kv']['value'])]), [['/t/acme2/x', 'A:/t/acme2/x']]);
    assert.deepEqual(await w.lines.quiet(100), []);
    w.close();
  });
});

describe('A9/A13/A21: users, roles, tokens, certificates and the tenants API', () => {
  test('acme\'s user asking about acme2\'s users and roles gets the same 403 for existing and missing names, and nothing changes', async () => {
    const arev = (await ok(L, '/v3/auth/status', {}))['authRevision'];
    for (const s of [F, L]) {
      for (const tenant of ['acme2', 'nosuch']) {
        for (const name of ['user', 'ghost']) {
          await refused(s, '/v3/auth/user/get', { name, tenant }, acmeConn, DENIED);
          await refused(s, '/v3/auth/user/delete', { name, tenant }, acmeConn, DENIED);
          await refused(s, '/v3/auth/user/changepw', { name, password: 'another-password', tenant }, acmeConn, DENIED);
          await refused(s, '/v3/auth/role/get', { role: name === 'user' ? 'rw' : name, tenant }, acmeConn, DENIED);
          await refused(s, '/v3/auth/role/grant', { name: name === 'user' ? 'rw' : name, perm: { permType: 'READ', key: b64('a') }, tenant }, acmeConn, DENIED);
        }
        await refused(s, '/v3/auth/user/list', { tenant }, acmeConn, DENIED);
      }
      // Relative names: "acme2/user" is a name inside acme (nobody), answered as for any other user.
      await refused(s, '/v3/auth/user/get', { name: 'acme2/user' }, acmeConn, DENIED);
      await refused(s, '/v3/auth/user/get', { name: 'ghost' }, acmeConn, DENIED);
    }
    assert.equal((await ok(L, '/v3/auth/status', {}))['authRevision'], arev);
    assert.deepEqual((await ok(L, '/v3/auth/user/list', { tenant: 'acme2' }))['users'], ['user']);
    assert.deepEqual((await ok(L, '/v3/auth/role/get', { role: 'rw', tenant: 'acme2' }))['perm'], [{ permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') }]);
  });

  test('acme2\'s token on acme\'s certificate connection acts as acme2 inside acme2 only (token wins); a forged mix is refused', async () => {
    const asB = await ok(F, '/v3/kv/range', { key: b64('a') }, acmeConn, acme2Token);
    assert.deepEqual(kvsOf(asB), [['a', 'B-a']]);
    assert.deepEqual(kvsOf(await ok(F, '/v3/kv/range', { key: b64('a') }, acmeConn)), [['a', 'A:a']]);
    // A token that does not verify is a 401 even on a good certificate connection.
    await refused(F, '/v3/kv/range', { key: b64('a') }, acmeConn, { error: 'etcdserver: invalid auth token', message: 'etcdserver: invalid auth token', code: 16 }, 401, acme2Token.slice(0, -4) + 'AAAA');
  });

  test('acme\'s certificate and token cannot get, list or change acme2 through the tenants API (403/7 as for a missing tenant)', async () => {
    const before = await revision();
    for (const s of [F, L]) {
      for (const [conn, token] of [[acmeConn, undefined], [rootConn, acmeToken]] as const) {
        for (const id of ['acme2', 'nosuch']) {
          await refused(s, '/v1/tenants/get', { id }, conn, DENIED, 403, token);
          await refused(s, '/v1/tenants/suspend', { id }, conn, DENIED, 403, token);
          await refused(s, '/v1/tenants/delete', { id }, conn, DENIED, 403, token);
        }
        await refused(s, '/v1/tenants/list', {}, conn, DENIED, 403, token);
        assert.equal((await ok(s, '/v1/tenants/get', { id: 'acme' }, conn, token))['tenant']['id'], 'acme');
      }
    }
    assert.equal(await revision(), before);
    assert.equal((await ok(L, '/v1/tenants/get', { id: 'acme2' }))['tenant']['status'], 'active');
  });
});

describe('after every attack', () => {
  test('acme2\'s keys are unchanged (same values and revisions) and every member holds the same data at the final revision', async () => {
    const after = ((await ok(L, '/v3/kv/range', B_RANGE))['kvs'] as Json[]).filter((kv) => !unb64(kv['key']).startsWith('/t/acme2/live/'));
    assert.deepEqual(after, bBefore);
    await converged();
  });

  test('kill -9 of a follower and a restart: reads through it are still acme\'s only, and it catches up', { timeout: 40_000 }, async () => {
    const i = ss.indexOf(F);
    await killSlot(F);
    await ok(L, '/v3/kv/put', { key: b64('while-down'), value: b64('B-down') }, acme2Conn);
    await startSlots(ss, TOKEN, { which: [i] });
    await leaderSlot(ss);
    const all = await ok(F, '/v3/kv/range', ALL, acmeConn);
    assert.deepEqual(kvsOf(all), A_KEYS.map((k) => [k, `A:${k}`]));
    assert.deepEqual(keysOf(await ok(F, '/v3/kv/range', { key: b64('while-down') }, acmeConn)), []);
    assert.deepEqual(kvsOf(await ok(F, '/v3/kv/range', { key: b64('while-down') }, acme2Conn)), [['while-down', 'B-down']]);
    await converged();
  });
});

/** Every member's serializable read of the whole keyspace at the leader's revision is the same. */
async function converged(): Promise<void> {
  const lead = ss[await leaderSlot(ss)]!;
  const final = await revision(lead);
  const want = await ok(lead, '/v3/kv/range', { ...ALL, serializable: true });
  for (const s of ss) {
    let got = await ok(s, '/v3/kv/range', { ...ALL, serializable: true });
    for (let tries = 0; Number(got['header']['revision']) < final && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 50));
      got = await ok(s, '/v3/kv/range', { ...ALL, serializable: true });
    }
    assert.equal(Number(got['header']['revision']), final, s.name);
    assert.deepEqual(got['kvs'], want['kvs'], s.name);
  }
}

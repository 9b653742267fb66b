import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { b64, startTenantMember, unb64, type Caller, type TenantMember } from './tenant-member.js';
import type { Json } from '../watch/api-client.js';

// The tenant edge on a real secure member (docs/tenancy-plan.md, GUARANTEES A1–A6 for tenants):
// principals are client certificates with O=<tenant> (CertStore.issueClient(user, tenant)), auth
// is off so that what is tested is the edge itself (translation, admission, limits); the auth
// layer's own fence is TS2's and tested there. acme and acme2 are chosen so that one id is a
// string prefix of the other: their keyspaces /t/acme/ and /t/acme2/ must still never meet.

let m: TenantMember;
let acme: Caller;
let acme2: Caller;
let root: Caller;

const keysOf = (r: Json): string[] => ((r['kvs'] as Json[] | undefined) ?? []).map((kv) => unb64(kv['key'] as string));
const revision = async (): Promise<number> => Number((await root.ok('/v3/kv/range', { key: b64('\0'), range_end: b64('\0'), count_only: true }))['header']['revision']);

async function refusedWith(c: Caller, path: string, body: unknown, status: number, code: number, message: string): Promise<void> {
  const r = await c.call(path, body);
  assert.deepEqual({ status: r.status, json: r.json }, { status, json: { error: message, message, code } }, `${path} ${JSON.stringify(body)}`);
}

before(async () => {
  m = await startTenantMember();
  root = m.root;
  acme = m.as('alice', 'acme');
  acme2 = m.as('alice', 'acme2');
  await root.ok('/v1/tenants/create', { id: 'acme' });
  await root.ok('/v1/tenants/create', { id: 'acme2' });
  await root.ok('/v3/kv/put', { key: b64('cluster/secret'), value: b64('s') });
  await acme.ok('/v3/kv/put', { key: b64('a'), value: b64('acme-a') });
  await acme.ok('/v3/kv/put', { key: b64('b'), value: b64('acme-b') });
  await acme2.ok('/v3/kv/put', { key: b64('a'), value: b64('acme2-a') });
});
after(async () => {
  await m?.dispose();
});

describe('keys in and out', () => {
  test('a tenant\'s keys are stored under /t/<id>/, which the cluster administrator sees', async () => {
    const r = await root.ok('/v3/kv/range', { key: b64('/t/'), range_end: b64('/t0') });
    assert.deepEqual(keysOf(r), ['/t/acme/a', '/t/acme/b', '/t/acme2/a']);
  });

  test('A1: a from-key range ("\\0" end) of a tenant sees only its own keys, without the prefix', async () => {
    assert.deepEqual(keysOf(await acme.ok('/v3/kv/range', { key: b64('\0'), range_end: b64('\0') })), ['a', 'b']);
    assert.deepEqual(keysOf(await acme2.ok('/v3/kv/range', { key: b64('\0'), range_end: b64('\0') })), ['a']);
    // A prefix end computed by a client for prefix "" is "\0" too; and a key the tenant cannot name.
    assert.deepEqual(keysOf(await acme.ok('/v3/kv/range', { key: b64('a'), range_end: b64('\0') })), ['a', 'b']);
    assert.deepEqual(keysOf(await acme.ok('/v3/kv/range', { key: b64('cluster/secret') })), []);
    const v = (await acme2.ok('/v3/kv/range', { key: b64('a') }))['kvs'][0]['value'];
    assert.equal(unb64(v), 'acme2-a');
  });

  test('put prev_kv, delete prev_kvs and nested txn responses come back without the prefix', async () => {
    const put = await acme.ok('/v3/kv/put', { key: b64('a'), value: b64('acme-a2'), prev_kv: true });
    assert.equal(unb64(put['prev_kv']['key']), 'a');
    assert.equal(unb64(put['prev_kv']['value']), 'acme-a');
    await acme.ok('/v3/kv/put', { key: b64('tmp'), value: b64('t') });
    const del = await acme.ok('/v3/kv/deleterange', { key: b64('tmp'), prev_kv: true });
    assert.equal(del['deleted'], '1');
    assert.deepEqual((del['prev_kvs'] as Json[]).map((kv) => unb64(kv['key'])), ['tmp']);
    const txn = await acme.ok('/v3/kv/txn', {
      compare: [{ key: b64('a'), target: 'VALUE', result: 'EQUAL', value: b64('acme-a2') }],
      success: [
        { request_range: { key: b64('\0'), range_end: b64('\0') } },
        { request_txn: { success: [{ request_put: { key: b64('n'), value: b64('nested'), prev_kv: true } }, { request_range: { key: b64('n') } }] } },
      ],
    });
    assert.equal(txn['succeeded'], true);
    assert.deepEqual(keysOf(txn['responses'][0]['response_range']), ['a', 'b']);
    const inner = txn['responses'][1]['response_txn']['responses'];
    assert.deepEqual(keysOf(inner[1]['response_range']), ['n']);
    // acme2 was never touched.
    assert.deepEqual(keysOf(await acme2.ok('/v3/kv/range', { key: b64('\0'), range_end: b64('\0') })), ['a']);
    assert.equal(unb64((await root.ok('/v3/kv/range', { key: b64('/t/acme/n') }))['kvs'][0]['value']), 'nested');
  });

  test('a delete of the whole virtual keyspace stops at the tenant\'s edge', async () => {
    const other = m.as('bob', 'acme2');
    await other.ok('/v3/kv/put', { key: b64('zz'), value: b64('1') });
    const del = await other.ok('/v3/kv/deleterange', { key: b64('zz'), range_end: b64('\0') });
    assert.equal(del['deleted'], '1');
    assert.deepEqual(keysOf(await root.ok('/v3/kv/range', { key: b64('/t/acme/'), range_end: b64('/t/acme0') })), ['/t/acme/a', '/t/acme/b', '/t/acme/n']);
    assert.ok(keysOf(await root.ok('/v3/kv/range', { key: b64('cluster/secret') })).length === 1);
  });
});

describe('watch', () => {
  test('events of a tenant\'s watch carry its virtual keys (kv and prev_kv); another tenant\'s writes never arrive', async () => {
    const w = acme.watch().send({ create_request: { key: b64('\0'), range_end: b64('\0'), prev_kv: true } });
    const created = await w.next();
    assert.equal(created['created'], true);
    // acme2's key "a" is /t/acme2/a: outside acme's range even though "acme" is a prefix of "acme2".
    await acme2.ok('/v3/kv/put', { key: b64('a'), value: b64('acme2-again') });
    await root.ok('/v3/kv/put', { key: b64('/t/acme0'), value: b64('just past acme') });
    await acme.ok('/v3/kv/put', { key: b64('b'), value: b64('acme-b2') });
    const ev = await w.next();
    const events = ev['events'] as Json[];
    assert.equal(events.length, 1);
    assert.equal(unb64(events[0]!['kv']['key']), 'b');
    assert.equal(unb64(events[0]!['kv']['value']), 'acme-b2');
    assert.equal(unb64(events[0]!['prev_kv']['key']), 'b');
    assert.deepEqual(await w.lines.quiet(200), []);
    w.close();
  });

  test('a cluster watch on the tenant root sees internal keys (administrators are not translated)', async () => {
    const w = root.watch().send({ create_request: { key: b64('/t/acme/'), range_end: b64('/t/acme0') } });
    await w.next();
    await acme.ok('/v3/kv/put', { key: b64('c'), value: b64('1') });
    const ev = await w.next();
    assert.equal(unb64(ev['events'][0]['kv']['key']), '/t/acme/c');
    w.close();
  });
});

describe('leases', () => {
  test('A6: LeaseTimeToLive keys are the tenant\'s virtual keys; a key an administrator attached outside the tenant is left out', async () => {
    const g = await acme.ok('/v3/lease/grant', { TTL: 60 });
    const id = g['ID'] as string;
    await acme.ok('/v3/kv/put', { key: b64('leased'), value: b64('1'), lease: id });
    await root.ok('/v3/kv/put', { key: b64('cluster/leased'), value: b64('1'), lease: id });
    const ttl = await acme.ok('/v3/lease/timetolive', { ID: id, keys: true });
    assert.deepEqual((ttl['keys'] as string[]).map(unb64), ['leased']);
    const adm = await root.ok('/v3/lease/timetolive', { ID: id, keys: true });
    assert.deepEqual((adm['keys'] as string[]).map(unb64).sort(), ['/t/acme/leased', 'cluster/leased']);
    await root.ok('/v3/lease/revoke', { ID: id });
  });
});

describe('admission and cluster-only calls', () => {
  test('A21: a certificate of a tenant that does not exist is refused as forbidden, and writes nothing', async () => {
    const ghost = m.as('alice', 'ghost');
    const before = await revision();
    await refusedWith(ghost, '/v3/kv/put', { key: b64('a'), value: b64('1') }, 403, 7, 'etcdserver: permission denied');
    await refusedWith(ghost, '/v3/kv/range', { key: b64('a') }, 403, 7, 'etcdserver: permission denied');
    const w = ghost.watch();
    assert.equal((await w.response).status, 403);
    w.close();
    assert.equal(await revision(), before);
  });

  test('a tenant principal may not compact, move the leader or change membership (403/7), and nothing moves', async () => {
    const before = await revision();
    await refusedWith(acme, '/v3/kv/compaction', { revision: String(before) }, 403, 7, 'etcdserver: permission denied');
    await refusedWith(acme, '/v3/cluster/member/add', { peerURLs: ['http://127.0.0.1:1'] }, 403, 7, 'etcdserver: permission denied');
    await refusedWith(acme, '/v3/maintenance/transfer-leadership', { targetID: '1' }, 403, 7, 'etcdserver: permission denied');
    assert.equal(await revision(), before);
    assert.equal(((await root.ok('/v3/cluster/member/list', {}))['members'] as Json[]).length, 1);
  });

  test('tenants API: a tenant principal gets its own tenant, nothing else', async () => {
    const own = await acme.ok('/v1/tenants/get', { id: 'acme' });
    assert.equal(own['tenant']['id'], 'acme');
    await refusedWith(acme, '/v1/tenants/get', { id: 'acme2' }, 403, 7, 'etcdserver: permission denied');
    await refusedWith(acme, '/v1/tenants/get', { id: 'nosuch' }, 403, 7, 'etcdserver: permission denied');
    await refusedWith(acme, '/v1/tenants/list', {}, 403, 7, 'etcdserver: permission denied');
    await refusedWith(acme, '/v1/tenants/create', { id: 'mine' }, 403, 7, 'etcdserver: permission denied');
    await refusedWith(acme, '/v1/tenants/quotas', { id: 'acme', quotas: { max_keys: 0 } }, 403, 7, 'etcdserver: permission denied');
    const list = await root.ok('/v1/tenants/list', {});
    assert.deepEqual((list['tenants'] as Json[]).map((t) => t['id']), ['acme', 'acme2']);
  });

  test('a suspended tenant is refused with "tenant is suspended" (403/7), its open watch canceled; resumed, it works again', async () => {
    const t = m.as('carol', 'acme2');
    const w = t.watch().send({ create_request: { key: b64('\0'), range_end: b64('\0') } });
    await w.next();
    await root.ok('/v1/tenants/suspend', { id: 'acme2' });
    await refusedWith(t, '/v3/kv/range', { key: b64('a') }, 403, 7, 'keyward: tenant is suspended');
    await refusedWith(t, '/v3/kv/put', { key: b64('a'), value: b64('x') }, 403, 7, 'keyward: tenant is suspended');
    const canceled = await w.next();
    assert.equal(canceled['canceled'], true);
    w.close();
    await root.ok('/v1/tenants/resume', { id: 'acme2' });
    assert.deepEqual(keysOf(await t.ok('/v3/kv/range', { key: b64('\0'), range_end: b64('\0') })), ['a']);
  });
});

describe('edge limits (per member)', () => {
  test('requests per second: exactly the quota is served, one more is 429/8, and the bucket refills with the clock', async () => {
    await root.ok('/v1/tenants/create', { id: 'rated', quotas: { max_requests_per_second: '3' } });
    const t = m.as('alice', 'rated');
    for (let i = 0; i < 3; i++) await t.ok('/v3/kv/range', { key: b64('a') });
    await refusedWith(t, '/v3/kv/range', { key: b64('a') }, 429, 8, 'keyward: tenant request rate exceeded');
    const before = await revision();
    await refusedWith(t, '/v3/kv/put', { key: b64('a'), value: b64('1') }, 429, 8, 'keyward: tenant request rate exceeded');
    assert.equal(await revision(), before);
    // A stream's opening is a request too.
    const w = t.watch();
    assert.equal((await w.response).status, 429);
    w.close();
    m.clock.now += 334; // one token at 3 per second
    await t.ok('/v3/kv/range', { key: b64('a') });
    await refusedWith(t, '/v3/kv/range', { key: b64('a') }, 429, 8, 'keyward: tenant request rate exceeded');
    // Another tenant is not slowed by it.
    await acme.ok('/v3/kv/range', { key: b64('a') });
    m.clock.now += 1000;
  });

  test('open streams: the second watch stream over maxStreams=1 is 429/8; closing the first frees the slot', async () => {
    await root.ok('/v1/tenants/create', { id: 'streamy', quotas: { max_streams: 1 } });
    const t = m.as('alice', 'streamy');
    const first = t.watch().send({ create_request: { key: b64('a') } });
    assert.equal((await first.next())['created'], true);
    const second = t.watch().send({ create_request: { key: b64('a') } });
    const res = await second.response;
    assert.equal(res.status, 429);
    await second.lines.quiet(50);
    assert.deepEqual(JSON.parse(res.text()), { error: 'keyward: tenant stream limit reached', message: 'keyward: tenant stream limit reached', code: 8 });
    second.close();
    first.close();
    // The member notices the close asynchronously.
    let third: ReturnType<Caller['watch']> | undefined;
    for (let i = 0; i < 50; i++) {
      third = t.watch().send({ create_request: { key: b64('a') } });
      if ((await third.response).status === 200) break;
      third.close();
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((await third!.next())['created'], true);
    third!.close();
  });

  test('watchers: a create over maxWatchers=2 is refused as etcd refuses a create; canceling one frees its slot', async () => {
    await root.ok('/v1/tenants/create', { id: 'watchy', quotas: { max_watchers: 2 } });
    const t = m.as('alice', 'watchy');
    const w = t.watch();
    w.send({ create_request: { key: b64('a') } });
    const a = await w.next();
    w.send({ create_request: { key: b64('b') } });
    await w.next();
    w.send({ create_request: { key: b64('c') } });
    const refused = await w.next();
    assert.equal(refused['created'], true);
    assert.equal(refused['canceled'], true);
    assert.equal(refused['watch_id'], '-1');
    assert.equal(refused['cancel_reason'], 'keyward: tenant watcher limit reached');
    w.send({ cancel_request: { watch_id: a['watch_id'] ?? '0' } });
    assert.equal((await w.next())['canceled'], true);
    w.send({ create_request: { key: b64('c') } });
    const ok = await w.next();
    assert.equal(ok['created'], true);
    assert.notEqual(ok['canceled'], true);
    await t.ok('/v3/kv/put', { key: b64('c'), value: b64('1') });
    assert.equal(unb64((await w.next())['events'][0]['kv']['key']), 'c');
    w.close();
  });
});

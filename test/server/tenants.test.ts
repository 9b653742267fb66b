import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeywardServer, type RequestAuth, type WatchMessage } from '../../src/server/index.js';
import { UNLIMITED_QUOTAS } from '../../src/tenants/index.js';
import type { WatchCreateRequest } from '../../src/wire/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

// Tenants in the replicated core, on one real member (real Raft, real LMDB) with auth on: the
// server methods (admin only, refusals precise and changing nothing), deletion at one revision,
// storage quotas at their exact boundaries, lease ownership, audit records.

const te = new TextEncoder();
const enc = (s: string): Uint8Array => te.encode(s);
const ROOT: RequestAuth = { principal: { user: 'root' }, remote: '127.0.0.1:1' };
const BOB: RequestAuth = { principal: { user: 'bob' } };

let dir: TmpDir;
let s: KeywardServer;
const audit: Array<Record<string, unknown>> = [];

before(async () => {
  dir = makeTmpDir('keyward-tenants-');
  s = await KeywardServer.open({
    name: 'm',
    dataDir: dir.sub('m'),
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'tenants-test',
    maxRequestBytes: 1572864,
    maxTxnOps: 128,
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
    authBootstrap: true,
    auditLogger: { info: (o) => audit.push(o as Record<string, unknown>) },
  });
  await s.ready();
  await s.auth.userAdd({ name: 'bob', password: '', noPassword: true }, ROOT);
});

after(async () => {
  await s.close();
  dir.cleanup();
});

const put = (key: string, value: string, auth: RequestAuth = ROOT, lease = 0n) =>
  s.put({ key: enc(key), value: enc(value), lease, prevKv: false, ignoreValue: false, ignoreLease: false }, auth);
const del = (key: string, end = '') => s.deleteRange({ key: enc(key), rangeEnd: enc(end), prevKv: false }, ROOT);
const keys = async (prefix: string, end: string): Promise<string[]> => {
  const r = await s.range({ key: enc(prefix), rangeEnd: enc(end), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: true, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 }, ROOT);
  return r.kvs.map((kv) => Buffer.from(kv.key).toString());
};
const value = async (key: string): Promise<string | undefined> => {
  const r = await s.range({ key: enc(key), rangeEnd: new Uint8Array(0), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 }, ROOT);
  return r.kvs[0] === undefined ? undefined : Buffer.from(r.kvs[0].value).toString();
};
const usage = async (id: string) => (await s.tenantGet({ id }, ROOT)).tenant.usage;

/** Rejects with an error whose code is `code`; returns the error's message. */
async function refused(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.equal((e as { code?: string }).code, code, `expected ${code}, got ${String(e)}`);
    return (e as Error).message;
  }
  assert.fail(`expected ${code}, got success`);
}

describe('tenant records through the log', () => {
  test('create, get, list, suspend, resume, setQuotas (partial), with their answers', async () => {
    const created = await s.tenantCreate({ id: 'life', quotas: { maxKeys: 10 } }, ROOT);
    assert.deepEqual(created.tenant, {
      id: 'life',
      status: 'active',
      quotas: { ...UNLIMITED_QUOTAS, maxKeys: 10 },
      usage: { keys: 0, bytes: 0, leases: 0 },
      createdRevision: created.tenant.createdRevision,
    });
    assert.ok(created.tenant.createdRevision >= 1);
    assert.equal(created.header.memberId, s.memberId);
    assert.deepEqual((await s.tenantGet({ id: 'life' }, ROOT)).tenant, created.tenant);
    assert.ok((await s.tenantList(ROOT)).tenants.some((t) => t.id === 'life'));

    assert.equal((await s.tenantSuspend({ id: 'life' }, ROOT)).tenant.status, 'suspended');
    // Suspending again changes nothing and still answers the record.
    assert.equal((await s.tenantSuspend({ id: 'life' }, ROOT)).tenant.status, 'suspended');
    assert.equal((await s.tenantResume({ id: 'life' }, ROOT)).tenant.status, 'active');
    const q = await s.tenantSetQuotas({ id: 'life', quotas: { maxBytes: 100, maxLeases: 2 } }, ROOT);
    assert.deepEqual(q.tenant.quotas, { ...UNLIMITED_QUOTAS, maxKeys: 10, maxBytes: 100, maxLeases: 2 });
    assert.equal(q.tenant.createdRevision, created.tenant.createdRevision);
    assert.deepEqual(s.tenantRecord('life')?.quotas, q.tenant.quotas);
    assert.equal(s.tenantRecord('nope'), undefined);
  });

  test('refusals are precise and change nothing', async () => {
    await s.tenantCreate({ id: 'refuse' }, ROOT);
    const before = await s.tenantList(ROOT);
    await refused(s.tenantCreate({ id: 'refuse' }, ROOT), 'TENANT_EXISTS');
    await refused(s.tenantCreate({ id: 'Bad_Id' }, ROOT), 'INVALID_TENANT_ID');
    await refused(s.tenantCreate({ id: '-x' }, ROOT), 'INVALID_TENANT_ID');
    await refused(s.tenantCreate({ id: 'q1', quotas: { maxKeys: -1 } }, ROOT), 'INVALID_QUOTA');
    await refused(s.tenantCreate({ id: 'q2', quotas: { maxBytes: 1.5 } }, ROOT), 'INVALID_QUOTA');
    await refused(s.tenantCreate({ id: 'q3', quotas: { maxLeases: Number.NaN } }, ROOT), 'INVALID_QUOTA');
    await refused(s.tenantSetQuotas({ id: 'refuse', quotas: { maxKeys: -5 } }, ROOT), 'INVALID_QUOTA');
    await refused(s.tenantSetQuotas({ id: 'missing', quotas: { maxKeys: 5 } }, ROOT), 'TENANT_NOT_FOUND');
    await refused(s.tenantSuspend({ id: 'missing' }, ROOT), 'TENANT_NOT_FOUND');
    await refused(s.tenantResume({ id: 'missing' }, ROOT), 'TENANT_NOT_FOUND');
    await refused(s.tenantDelete({ id: 'missing' }, ROOT), 'TENANT_NOT_FOUND');
    await refused(s.tenantGet({ id: 'missing' }, ROOT), 'TENANT_NOT_FOUND');
    assert.deepEqual(await s.tenantList(ROOT), { ...before, header: (await s.tenantList(ROOT)).header });
  });

  test('only a cluster administrator manages tenants; nobody at all is refused too', async () => {
    await s.tenantCreate({ id: 'guarded' }, ROOT);
    const before = (await s.tenantList(ROOT)).tenants;
    for (const p of [
      s.tenantCreate({ id: 'bobs' }, BOB),
      s.tenantSuspend({ id: 'guarded' }, BOB),
      s.tenantResume({ id: 'guarded' }, BOB),
      s.tenantSetQuotas({ id: 'guarded', quotas: { maxKeys: 1 } }, BOB),
      s.tenantDelete({ id: 'guarded' }, BOB),
      s.tenantList(BOB),
      // Existing and missing tenants answer alike (A21).
      s.tenantGet({ id: 'guarded' }, BOB),
      s.tenantGet({ id: 'missing' }, BOB),
    ]) {
      await refused(p, 'PERMISSION_DENIED');
    }
    await refused(s.tenantCreate({ id: 'anon' }), 'USER_EMPTY');
    assert.deepEqual((await s.tenantList(ROOT)).tenants, before);
  });

  test('every tenant change is audited: who, what, which tenant, outcome', async () => {
    audit.length = 0;
    await s.tenantCreate({ id: 'audited' }, ROOT);
    await refused(s.tenantCreate({ id: 'audited' }, ROOT), 'TENANT_EXISTS');
    await s.tenantDelete({ id: 'audited' }, ROOT);
    const rows = audit.filter((r) => String(r['action']).startsWith('tenant.')).map((r) => `${r['action']} ${r['tenant']} ${r['user']} ${r['outcome']}`);
    assert.deepEqual(rows, [
      'tenant.create audited root proposed',
      'tenant.create audited root applied',
      'tenant.create audited root proposed',
      'tenant.create audited root refused',
      'tenant.delete audited root proposed',
      'tenant.delete audited root applied',
    ]);
  });
});

describe('deleting a tenant', () => {
  test('every key of the tenant goes at ONE revision, watchers see each DELETE; acme2 and neighbours stay', async () => {
    await s.tenantCreate({ id: 'acme' }, ROOT);
    await s.tenantCreate({ id: 'acme2' }, ROOT);
    for (const k of ['a', 'b', 'c/d', '\u00ff']) await put(`/t/acme/${k}`, `v-${k}`);
    await put('/t/acme2/x', 'other tenant');
    await put('/t/acme', 'no slash: not in the tenant');
    await put('/t/acme0', 'prefix end: not in the tenant');
    // A lease that is not the tenant's, with one of its keys attached: the key goes, the lease stays.
    const lease = await s.leaseGrant({ ttl: 600n, id: 0n }, ROOT);
    await put('/t/acme/leased', 'x', ROOT, lease.id);
    await put('/elsewhere', 'on the same lease', ROOT, lease.id);
    assert.equal((await usage('acme')).keys, 5);

    const stream = s.openWatchStream({}, ROOT);
    const create: WatchCreateRequest = { key: enc('/t/'), rangeEnd: enc('/t0'), startRevision: 0, progressNotify: false, filters: [], prevKv: true, watchId: 0, fragment: false };
    stream.create(create);
    const res = await s.tenantDelete({ id: 'acme' }, ROOT);
    assert.equal(res.deleted, 5);
    const rev = res.header.revision;

    const events: Array<{ type: string; key: string; mod: number }> = [];
    const deadline = Date.now() + 5000;
    while (events.length < 5 && Date.now() < deadline) {
      const m: WatchMessage | undefined = stream.poll();
      if (m === undefined) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const r = JSON.parse(m.text)['result'];
      for (const e of r['events'] ?? []) {
        events.push({ type: e['type'] ?? 'PUT', key: Buffer.from(e['kv']['key'], 'base64').toString(), mod: Number(e['kv']['mod_revision']) });
      }
    }
    stream.close();
    assert.deepEqual(
      events,
      ['/t/acme/a', '/t/acme/b', '/t/acme/c/d', '/t/acme/leased', '/t/acme/\u00ff'].map((key) => ({ type: 'DELETE', key, mod: rev })),
    );
    assert.deepEqual(await keys('/t/acme/', '/t/acme0'), []);
    assert.deepEqual(await keys('/t/', '/t0'), ['/t/acme', '/t/acme0', '/t/acme2/x']);
    assert.equal(await value('/elsewhere'), 'on the same lease');
    await refused(s.tenantGet({ id: 'acme' }, ROOT), 'TENANT_NOT_FOUND');
    assert.equal((await usage('acme2')).keys, 1);
    // A tenant created again under the same id starts empty.
    assert.deepEqual((await s.tenantCreate({ id: 'acme' }, ROOT)).tenant.usage, { keys: 0, bytes: 0, leases: 0 });
    await s.tenantDelete({ id: 'acme' }, ROOT);
    // Deleting a tenant without keys moves no revision.
    assert.equal((await s.tenantDelete({ id: 'acme2' }, ROOT).then(() => s.tenantCreate({ id: 'empty' }, ROOT)).then(() => s.tenantDelete({ id: 'empty' }, ROOT))).deleted, 0);
  });
});

describe('storage quotas at apply', () => {
  test('maxKeys: the Nth key is admitted, N+1 refused with nothing written; overwrites pass; a txn crossing it is refused whole; a delete frees room', async () => {
    await s.tenantCreate({ id: 'qk', quotas: { maxKeys: 3 } }, ROOT);
    await put('/t/qk/1', 'a');
    await put('/t/qk/2', 'b');
    await put('/t/qk/3', 'c');
    assert.deepEqual(await usage('qk'), { keys: 3, bytes: 6, leases: 0 });
    const rev = (await s.tenantGet({ id: 'qk' }, ROOT)).header.revision;
    const msg = await refused(put('/t/qk/4', 'd'), 'QUOTA_EXCEEDED');
    assert.match(msg, /keys \(limit 3\)/);
    assert.equal(await value('/t/qk/4'), undefined);
    assert.equal((await s.tenantGet({ id: 'qk' }, ROOT)).header.revision, rev);
    // An overwrite adds no key.
    await put('/t/qk/1', 'changed');
    // A txn that overwrites one key and creates another: refused whole, the overwrite did not land.
    const txn = {
      compare: [],
      success: [
        { type: 'put' as const, put: { key: enc('/t/qk/2'), value: enc('txn'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } },
        { type: 'put' as const, put: { key: enc('/t/qk/5'), value: enc('e'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } },
      ],
      failure: [],
    };
    await refused(s.txn(txn, ROOT), 'QUOTA_EXCEEDED');
    assert.equal(await value('/t/qk/2'), 'b');
    assert.equal(await value('/t/qk/5'), undefined);
    // Keys elsewhere and in other tenants do not count.
    await put('/t/qk2/x', 'y');
    await put('/plain', 'z');
    // A delete frees room: the same txn now passes.
    await del('/t/qk/3');
    await s.txn(txn, ROOT);
    assert.deepEqual(await keys('/t/qk/', '/t/qk0'), ['/t/qk/1', '/t/qk/2', '/t/qk/5']);
    assert.deepEqual(await usage('qk'), { keys: 3, bytes: 1 + 7 + 1 + 3 + 1 + 1, leases: 0 });
  });

  test('D5 maxKeys under concurrent puts (one batch): exactly the limit lands, the rest are refused, usage is exact', async () => {
    // The first puts of the batch are far from the limit (applied without an undo log), the last
    // ones cross it: each entry is judged at the usage the batch has reached.
    await s.tenantCreate({ id: 'qc', quotas: { maxKeys: 3, maxBytes: 1000 } }, ROOT);
    const results = await Promise.allSettled(['1', '2', '3', '4', '5'].map((k) => put(`/t/qc/${k}`, 'v')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3);
    for (const r of results) if (r.status === 'rejected') assert.match(String((r.reason as Error).message), /keys \(limit 3\)/);
    assert.deepEqual(await usage('qc'), { keys: 3, bytes: 6, leases: 0 });
    assert.equal((await keys('/t/qc/', '/t/qc0')).length, 3);
  });

  test('maxBytes counts virtual key + value bytes, exactly at the limit; lowering a quota below usage still lets usage shrink', async () => {
    await s.tenantCreate({ id: 'qb', quotas: { maxBytes: 10 } }, ROOT);
    await put('/t/qb/ab', '12345678'); // 2 + 8 = 10: exactly the limit
    assert.equal((await usage('qb')).bytes, 10);
    await refused(put('/t/qb/ab', '123456789'), 'QUOTA_EXCEEDED');
    await refused(put('/t/qb/c', ''), 'QUOTA_EXCEEDED');
    await put('/t/qb/ab', '1234567'); // shrinks to 9
    await put('/t/qb/c', ''); // 1 byte: back to 10
    assert.deepEqual(await usage('qb'), { keys: 2, bytes: 10, leases: 0 });
    await s.tenantSetQuotas({ id: 'qb', quotas: { maxBytes: 4, maxKeys: 1 } }, ROOT);
    await put('/t/qb/ab', '1'); // shrinks bytes, still above the new limit: allowed
    await refused(put('/t/qb/ab', '12'), 'QUOTA_EXCEEDED');
    await del('/t/qb/', '/t/qb0');
    assert.deepEqual(await usage('qb'), { keys: 0, bytes: 0, leases: 0 });
  });
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KeywardServer, type RequestAuth } from '../../src/server/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

// Lease ownership of tenants on one real member with auth on: a grant by a tenant's principal is
// the tenant's (maxLeases exactly at the boundary, refusal leaves no lease), any revoke (client,
// expiry) releases it, and deleting the tenant revokes its leases (keys attached anywhere go at
// the deletion's one revision; the leader's lessor forgets them: renewals answer not found).
// Tenant principals need src/auth's tenant users (TS2).

const te = new TextEncoder();
const enc = (s: string): Uint8Array => te.encode(s);
const ROOT: RequestAuth = { principal: { user: 'root' } };
const APP: RequestAuth = { principal: { user: 'app', tenant: 'lt' } };
const OTHER: RequestAuth = { principal: { user: 'app', tenant: 'lt2' } };

let dir: TmpDir;
let s: KeywardServer;
let now = 1_000_000;

before(async () => {
  dir = makeTmpDir('keyward-tenant-leases-');
  s = await KeywardServer.open({
    name: 'm',
    dataDir: dir.sub('m'),
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'tenant-leases',
    maxRequestBytes: 1572864,
    maxTxnOps: 128,
    heartbeatIntervalMs: 20,
    electionTimeoutMs: 200,
    authBootstrap: true,
    leaseClock: () => now,
  });
  await s.ready();
  await s.tenantCreate({ id: 'lt', quotas: { maxLeases: 2 } }, ROOT);
  await s.tenantCreate({ id: 'lt2' }, ROOT);
  await s.auth.userAdd({ name: 'app', password: '', noPassword: true, tenant: 'lt' } as Parameters<typeof s.auth.userAdd>[0], ROOT);
  await s.auth.userAdd({ name: 'app', password: '', noPassword: true, tenant: 'lt2' } as Parameters<typeof s.auth.userAdd>[0], ROOT);
});

after(async () => {
  await s.close();
  dir.cleanup();
});

const leasesOf = async (id: string): Promise<number> => (await s.tenantGet({ id }, ROOT)).tenant.usage.leases;
const allLeases = async (): Promise<bigint[]> => (await s.leaseLeases(ROOT)).leases.map((l) => l.id);
const put = (key: string, auth: RequestAuth, lease: bigint) => s.put({ key: enc(key), value: enc('v'), lease, prevKv: false, ignoreValue: false, ignoreLease: false }, auth);

async function refused(p: Promise<unknown>, code: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.equal((e as { code?: string }).code, code, `expected ${code}, got ${String(e)}`);
    return (e as Error).message;
  }
  assert.fail(`expected ${code}, got success`);
}

test('maxLeases: the Nth grant is admitted, N+1 refused with no lease made; a revoke frees room; cluster grants do not count', async () => {
  const a = await s.leaseGrant({ ttl: 600n, id: 0n }, APP);
  const b = await s.leaseGrant({ ttl: 600n, id: 0n }, APP);
  assert.equal(await leasesOf('lt'), 2);
  const before = await allLeases();
  const msg = await refused(s.leaseGrant({ ttl: 600n, id: 0n }, APP), 'QUOTA_EXCEEDED');
  assert.match(msg, /leases \(limit 2\)/);
  // An explicit id is refused the same way and does not exist afterwards.
  await refused(s.leaseGrant({ ttl: 600n, id: 4242n }, APP), 'QUOTA_EXCEEDED');
  assert.deepEqual(await allLeases(), before);
  // Another tenant and the cluster administrator are not limited by lt's quota.
  const other = await s.leaseGrant({ ttl: 600n, id: 0n }, OTHER);
  const mine = await s.leaseGrant({ ttl: 600n, id: 0n }, ROOT);
  assert.equal(await leasesOf('lt2'), 1);
  await s.leaseRevoke(a.id, APP);
  assert.equal(await leasesOf('lt'), 1);
  const c = await s.leaseGrant({ ttl: 600n, id: 0n }, APP);
  assert.equal(await leasesOf('lt'), 2);
  // Revoked by the cluster administrator: released all the same.
  await s.leaseRevoke(c.id, ROOT);
  await s.leaseRevoke(b.id, APP);
  await s.leaseRevoke(other.id, OTHER);
  await s.leaseRevoke(mine.id, ROOT);
  assert.equal(await leasesOf('lt'), 0);
  assert.equal(await leasesOf('lt2'), 0);
});

test('an expired lease of a tenant is released when the leader revokes it', async () => {
  await s.leaseGrant({ ttl: 5n, id: 0n }, APP);
  assert.equal(await leasesOf('lt'), 1);
  now += 60_000;
  const deadline = Date.now() + 5000;
  while ((await leasesOf('lt')) !== 0) {
    if (Date.now() > deadline) assert.fail('the expired lease was not released');
    await new Promise((r) => setTimeout(r, 20));
  }
});

test('deleting the tenant revokes its leases: attached keys anywhere go at the one revision, the lessor forgets them', async () => {
  const l1 = await s.leaseGrant({ ttl: 600n, id: 0n }, APP);
  const l2 = await s.leaseGrant({ ttl: 600n, id: 0n }, APP);
  const keep = await s.leaseGrant({ ttl: 600n, id: 0n }, ROOT);
  await put('/t/lt/a', ROOT, l1.id);
  // The administrator may attach any key to the tenant's lease: revoking it deletes that key too.
  await put('/cluster/attached', ROOT, l2.id);
  await put('/cluster/kept', ROOT, keep.id);
  assert.equal(await s.leaseRenew(l1.id, ROOT), 600);
  const res = await s.tenantDelete({ id: 'lt' }, ROOT);
  assert.equal(res.deleted, 2);
  const all = await allLeases();
  assert.ok(!all.includes(l1.id) && !all.includes(l2.id) && all.includes(keep.id));
  await refused(s.leaseRenew(l1.id, ROOT), 'LEASE_NOT_FOUND');
  await refused(s.leaseRenew(l2.id, ROOT), 'LEASE_NOT_FOUND');
  assert.equal(s.leaseTimeToLive({ id: l2.id, keys: false }, ROOT).ttl, -1);
  const range = await s.range({ key: enc('/cluster/'), rangeEnd: enc('/cluster0'), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: false, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 }, ROOT);
  assert.deepEqual(range.kvs.map((kv) => [Buffer.from(kv.key).toString(), kv.modRevision < res.header.revision]), [['/cluster/kept', true]]);
  // The deleted tenant's principals are gone with it (a tenant that does not exist is forbidden).
  await refused(s.leaseGrant({ ttl: 600n, id: 0n }, APP), 'PERMISSION_DENIED');
});

test('a principal of a tenant may read its own tenant, not another', async () => {
  assert.equal((await s.tenantGet({ id: 'lt2' }, OTHER)).tenant.id, 'lt2');
  await s.tenantCreate({ id: 'lt3' }, ROOT);
  await refused(s.tenantGet({ id: 'lt3' }, OTHER), 'PERMISSION_DENIED');
  await refused(s.tenantList(OTHER), 'PERMISSION_DENIED');
  await refused(s.tenantCreate({ id: 'lt4' }, OTHER), 'PERMISSION_DENIED');
});

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { KeywardServer, RequestAuth, TenantInfo } from '../../src/server/index.js';
import { dumpState, restoreState } from '../../src/server/state-snapshot.js';
import { Storage, ALL_SUB_DBS } from '../../src/storage/index.js';
import { TenantTable, UNLIMITED_QUOTAS, applyTenantOp } from '../../src/tenants/index.js';
import { TestCluster } from '../harness/cluster.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { mulberry32 as rng } from '../harness/prng.js';

// Tenants across three real members (real Raft, LMDB, peer transport): a seeded random mix of
// tenant ops, writes into and around tenants (quota refusals included), lease grants by tenant
// principals and revokes, sent through every member, leaves every member with the same tenant
// table and usage, and that usage equals a recount of the key space. A member stopped during the
// mix catches up through a snapshot (the log is compacted past it) and holds the same tenants.
// Auth is off here (tenant principals are still admitted against the tenant table, TS2).

const te = new TextEncoder();
const enc = (s: string): Uint8Array => te.encode(s);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let c: TestCluster;

before(async () => {
  c = await TestCluster.start(3, { snapshotCount: 40, snapshotCatchUpEntries: 5 });
});

after(async () => {
  await c.dispose();
});


async function settled(ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const running = c.slots.filter((s) => s.running !== null).map((s) => s.running!.server);
    const top = Math.max(...running.map((s) => s.appliedIndex));
    if (running.every((s) => s.appliedIndex === top && s.hasLeader)) return;
    if (Date.now() > deadline) throw new Error(`members did not converge: ${running.map((s) => s.appliedIndex).join(',')}`);
    await sleep(20);
  }
}

const ranged = (s: KeywardServer, key: string, end: string) =>
  s.range({ key: enc(key), rangeEnd: enc(end), limit: 0, revision: 0, sortOrder: 0, sortTarget: 0, serializable: true, keysOnly: false, countOnly: false, minModRevision: 0, maxModRevision: 0, minCreateRevision: 0, maxCreateRevision: 0 });

/** Each running member's tenants, with the usage recounted from its own key space beside them. */
async function tenantsOf(i: number): Promise<{ tenants: TenantInfo[]; recount: Record<string, { keys: number; bytes: number }> }> {
  const s = c.member(i).server;
  const tenants = (await s.tenantList()).tenants;
  const recount: Record<string, { keys: number; bytes: number }> = {};
  for (const t of tenants) {
    const prefix = `/t/${t.id}/`;
    const kvs = (await ranged(s, prefix, `/t/${t.id}0`)).kvs;
    recount[t.id] = { keys: kvs.length, bytes: kvs.reduce((n, kv) => n + kv.key.length - prefix.length + kv.value.length, 0) };
  }
  return { tenants, recount };
}

async function assertConverged(members: number[]): Promise<TenantInfo[]> {
  await settled();
  const views = await Promise.all(members.map((i) => tenantsOf(i)));
  for (const [k, v] of views.entries()) {
    assert.deepEqual(v.tenants, views[0]!.tenants, `member ${members[k]} has other tenants than member ${members[0]}`);
    for (const t of v.tenants) assert.deepEqual(v.recount[t.id], { keys: t.usage.keys, bytes: t.usage.bytes }, `usage of ${t.id} on member ${members[k]} is not its key space`);
  }
  return views[0]!.tenants;
}

/** One step of the mix; returns the refusal code, or 'ok'. */
async function step(r: () => number, running: number[], leases: Map<bigint, string>): Promise<string> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const s = c.member(pick(running)).server;
  const tenant = pick(['a', 'b', 'c']);
  const key = `/t/${tenant}/${pick(['k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'dir/x', 'dir/y'])}`;
  const val = 'v'.repeat(Math.floor(r() * 24));
  const app: RequestAuth = { principal: { user: 'app', tenant } };
  const x = r();
  try {
    if (x < 0.35) await s.put({ key: enc(pick([key, key, '/plain/' + val.length])), value: enc(val), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
    else if (x < 0.45) await s.deleteRange({ key: enc(key), rangeEnd: new Uint8Array(0), prevKv: false });
    else if (x < 0.55) {
      const op = (k: string) => ({ type: 'put' as const, put: { key: enc(k), value: enc(val), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } });
      await s.txn({ compare: [], success: [op(key), op(`/t/${tenant}/t${Math.floor(r() * 4)}`)], failure: [op('/plain/failed')] });
    } else if (x < 0.6) await s.deleteRange({ key: enc(`/t/${tenant}/dir/`), rangeEnd: enc(`/t/${tenant}/dir0`), prevKv: false });
    else if (x < 0.7) {
      const g = await s.leaseGrant({ ttl: 600n, id: 0n }, app);
      leases.set(g.id, tenant);
      if (r() < 0.5) await s.put({ key: enc(`/t/${tenant}/leased`), value: enc(val), lease: g.id, prevKv: false, ignoreValue: false, ignoreLease: false });
    } else if (x < 0.76 && leases.size > 0) {
      const id = pick([...leases.keys()]);
      leases.delete(id);
      await s.leaseRevoke(id);
    } else if (x < 0.86) {
      await s.tenantSetQuotas({ id: tenant, quotas: { maxKeys: 2 + Math.floor(r() * 6), maxBytes: 20 + Math.floor(r() * 120), maxLeases: 1 + Math.floor(r() * 3) } });
    } else if (x < 0.92) {
      await (r() < 0.5 ? s.tenantSuspend({ id: tenant }) : s.tenantResume({ id: tenant }));
    } else if (x < 0.96) {
      await s.tenantDelete({ id: tenant });
      for (const [id, t] of leases) if (t === tenant) leases.delete(id);
    } else {
      await s.tenantCreate({ id: tenant, quotas: { maxKeys: 4, maxBytes: 80, maxLeases: 2 } });
    }
    return 'ok';
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === undefined) throw e;
    return code;
  }
}

test('a seeded random mix through all members leaves identical tenant tables and usage that recounts from the key space', async () => {
  const leader = c.member(await c.leader()).server;
  for (const id of ['a', 'b']) await leader.tenantCreate({ id, quotas: { maxKeys: 5, maxBytes: 100, maxLeases: 2 } });
  const r = rng(0x7e11a17);
  const leases = new Map<bigint, string>();
  const outcomes: Record<string, number> = {};
  for (let i = 0; i < 160; i++) {
    const o = await step(r, [0, 1, 2], leases);
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  // The mix did reach the limits and the states it is meant to cover.
  assert.ok((outcomes['QUOTA_EXCEEDED'] ?? 0) > 0, JSON.stringify(outcomes));
  assert.ok((outcomes['ok'] ?? 0) > 80, JSON.stringify(outcomes));
  const tenants = await assertConverged([0, 1, 2]);
  assert.ok(tenants.length > 0);
});

test('a member that missed tenant changes catches up through a snapshot and holds the same tenants', async () => {
  await settled();
  const lagging = (await c.leader() + 1) % 3;
  await c.stop(lagging);
  const running = [0, 1, 2].filter((i) => i !== lagging);
  const r = rng(0x5a95);
  const leases = new Map<bigint, string>();
  const leader = c.member(await c.leader()).server;
  await leader.tenantCreate({ id: 'snap', quotas: { ...UNLIMITED_QUOTAS, maxKeys: 7 } }).catch(() => undefined);
  for (let i = 0; i < 120; i++) await step(r, running, leases);
  await leader.put({ key: enc('/t/snap/k'), value: enc('after'), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false });
  await c.open(lagging);
  await c.member(lagging).server.ready();
  const tenants = await assertConverged([0, 1, 2]);
  assert.deepEqual(
    tenants.find((t) => t.id === 'snap'),
    (await c.member(lagging).server.tenantGet({ id: 'snap' })).tenant,
  );
  assert.equal(tenants.find((t) => t.id === 'snap')?.usage.keys, 1);
});

test('state snapshot data carries the tenants tables: a restored environment has the same tenants', async () => {
  const dir = makeTmpDir('keyward-tenant-snap-');
  const a = Storage.open(dir.sub('a'), { subDbs: ALL_SUB_DBS });
  const b = Storage.open(dir.sub('b'), { subDbs: ALL_SUB_DBS });
  try {
    const ta = new TenantTable(a);
    await a.transact('flushed', (txn) => {
      applyTenantOp(ta, txn, { type: 'create', id: 'acme', quotas: { ...UNLIMITED_QUOTAS, maxKeys: 3 } });
      applyTenantOp(ta, txn, { type: 'create', id: 'globex', quotas: { ...UNLIMITED_QUOTAS } });
      applyTenantOp(ta, txn, { type: 'suspend', id: 'globex' });
      ta.addUsage(txn, 'acme', { keys: 2, bytes: 17, leases: 0 });
      ta.grantLease(txn, 'acme', 77n);
    });
    await restoreState(b, dumpState(a));
    const tb = new TenantTable(b);
    assert.deepEqual(tb.list(), ta.list());
    assert.equal(tb.revision(), 3);
    assert.deepEqual(tb.usage('acme'), { keys: 2, bytes: 17, leases: 1 });
    assert.equal(tb.leaseOwner(77n), 'acme');
    assert.deepEqual(tb.leasesOf('acme'), [77n]);
  } finally {
    await a.close();
    await b.close();
    dir.cleanup();
  }
});

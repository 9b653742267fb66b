import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthClient } from '../../src/client/index.js';
import { QUOTA_NAMES, runPolicyApply, runPolicyExport, type AuthApi, type PolicyDeps, type TenantApi, type TenantRecord, type TenantSpec } from '../../src/policy/index.js';
import { startAuthMember, type AuthedMember } from '../security/helpers.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { snapshot } from './helpers.js';

// FAKE TENANT API. The tenant HTTP API (/v1/tenants) does not exist yet, so the tenant RECORDS
// (create, status, quotas, delete) live in an in-memory TenantApi in this file. Everything else is
// real: each tenant's users and roles are managed on a real member of its own (standing in for the
// tenant's isolated keyspace; no key translation happens), the cluster's on another. Replace the
// fake with the real TenantApi when /v1/tenants lands.

class FakeTenantRecords implements TenantApi {
  readonly records = new Map<string, TenantRecord>();
  constructor(private readonly members: Map<string, AuthApi>) {}
  async list(): Promise<TenantRecord[]> {
    return [...this.records.values()].map((r) => structuredClone(r));
  }
  async create(id: string, spec: TenantSpec): Promise<void> {
    if (this.records.has(id)) throw new Error('tenant exists');
    // As the tenants module: every quota present, 0 (unlimited) where the spec gives none.
    const quotas = Object.fromEntries(QUOTA_NAMES.map((q) => [q, spec.quotas[q] ?? 0]));
    this.records.set(id, { id, status: spec.status ?? 'active', quotas });
  }
  async update(id: string, spec: TenantSpec): Promise<void> {
    const r = this.records.get(id);
    if (r === undefined) throw new Error('tenant not found');
    this.records.set(id, { ...r, ...(spec.status === undefined ? {} : { status: spec.status }), quotas: { ...r.quotas, ...spec.quotas } });
  }
  async delete(id: string): Promise<void> {
    if (!this.records.delete(id)) throw new Error('tenant not found');
  }
  auth(id: string): AuthApi {
    const a = this.members.get(id);
    if (a === undefined) throw new Error(`no member stands in for tenant ${id}`);
    return a;
  }
}

const members: AuthedMember[] = [];
let cluster: AuthClient;
let acme: AuthClient;
let globex: AuthClient;
let tenants: FakeTenantRecords;
const env = { KEYWARD_ACME_OPS_PASSWORD: 'acme-ops-password', KEYWARD_GLOBEX_OPS_PASSWORD: 'globex-ops-password' };
const deps = (): PolicyDeps => ({ auth: cluster, tenants, env });

before(async () => {
  for (let i = 0; i < 3; i++) members.push(await startAuthMember());
  const client = (m: AuthedMember): AuthClient => new AuthClient({ endpoints: [m.url], timeoutMs: 5000 });
  [cluster, acme, globex] = members.map(client) as [AuthClient, AuthClient, AuthClient];
  tenants = new FakeTenantRecords(new Map<string, AuthApi>([['acme', acme], ['globex', globex], ['initech', cluster]]));
});
after(async () => {
  for (const m of members) await m.dispose();
});

test('FAKE TENANT API: the shipped demo policies (acme, globex) apply, and applying them again is a no-op', async () => {
  const r = await runPolicyApply('policies', {}, deps());
  const lines = r.diff.split('\n');
  assert.deepEqual(lines.slice(0, 2), [
    '+ tenant acme (status active, quotas.maxKeys 10000, quotas.maxBytes 67108864, quotas.maxLeases 1000, quotas.maxWatchers 500, quotas.maxStreams 100, quotas.maxRequestsPerSecond 500)',
    '+ tenant globex (status active, quotas.maxKeys 2000, quotas.maxBytes 16777216, quotas.maxLeases 1000, quotas.maxWatchers 500, quotas.maxStreams 100, quotas.maxRequestsPerSecond 100)',
  ]);
  for (const l of [
    '+ role acme/readers READ prefix "config/"',
    '+ role acme/writers READWRITE prefix "flags/"',
    '+ user acme/app (certificate)',
    '+ user acme/ops (password from environment variable KEYWARD_ACME_OPS_PASSWORD)',
    '+ user globex/ops role writers',
  ]) {
    assert.ok(lines.includes(l), l);
  }
  assert.equal(r.applied, lines.length);
  // Each tenant's users and roles are on its (real) member, the cluster's untouched.
  assert.deepEqual((await acme.userList()).users, ['app', 'ops']);
  assert.deepEqual((await globex.userGet('ops')).roles, ['readers', 'writers']);
  assert.deepEqual((await cluster.userList()).users, []);

  const before = await snapshot(cluster, tenants);
  assert.deepEqual((await runPolicyApply('policies', {}, deps())).ops, []);
  assert.equal(await snapshot(cluster, tenants), before);
});

test('FAKE TENANT API: status and quota drift are ~ lines; dry-run changes nothing; prune deletes an undeclared tenant last', async () => {
  await tenants.update('acme', { status: 'suspended', quotas: { maxKeys: 5 } });
  await tenants.create('initech', { quotas: {} });
  const before = await snapshot(cluster, tenants);
  const dry = await runPolicyApply('policies', { dryRun: true }, deps());
  assert.deepEqual(dry.diff.split('\n'), ['~ tenant acme status suspended -> active', '~ tenant acme quotas.maxKeys 5 -> 10000']);
  assert.equal(await snapshot(cluster, tenants), before);

  const pruned = await runPolicyApply('policies', { prune: true }, deps());
  assert.deepEqual(pruned.diff.split('\n'), ['~ tenant acme status suspended -> active', '~ tenant acme quotas.maxKeys 5 -> 10000', '- tenant initech']);
  assert.deepEqual([...tenants.records.keys()].sort(), ['acme', 'globex']);
  assert.deepEqual(tenants.records.get('acme')!.status, 'active');
  assert.deepEqual((await runPolicyApply('policies', { prune: true }, deps())).ops, []);
});

test('FAKE TENANT API: export writes cluster.yaml and tenants/<id>.yaml; applying the export is a no-op', async () => {
  const out = makeTmpDir('keyward-policy-export-');
  try {
    const files = await runPolicyExport(out.path, deps());
    assert.deepEqual(files, ['cluster.yaml', 'tenants/acme.yaml', 'tenants/globex.yaml'].map((f) => join(out.path, f)));
    const acmeText = readFileSync(files[1]!, 'utf8');
    assert.ok(
      acmeText.includes(
        'kind: Tenant\nid: acme\nstatus: active\nquotas:\n  maxKeys: 10000\n  maxBytes: 67108864\n  maxLeases: 1000\n  maxWatchers: 500\n  maxStreams: 100\n  maxRequestsPerSecond: 500\n---\nkind: Role\nname: readers\ntenant: acme\npermissions:\n  - permType: READ\n    prefix: config/\n',
      ),
      acmeText,
    );
    assert.ok(acmeText.includes('kind: User\nname: ops\ntenant: acme\nauth:\n  existing: true\nroles:\n  - readers\n  - writers\n'), acmeText);
    assert.deepEqual((await runPolicyApply(out.path, { prune: true }, deps())).ops, []);
  } finally {
    out.cleanup();
  }
});

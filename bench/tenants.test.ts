// The tenants mode's setup (bench/tenants.ts) against a real secure `keyward serve` member started
// from source: tenants made through /v1/tenants/create, a tenant role and user per tenant made by
// the cluster root with the `tenant` field, client certificates with O=<tenant> from our own
// CertStore, and the load generator spreading one cell's connections over two tenants. The point:
// the bench really measures isolated tenants (tenant 0's user cannot read tenant 1's keys; keys
// land under /t/<id>/, read as root). No timing assertions. Run with
//   node --import tsx --test bench/tenants.test.ts

import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { CellMeasurement, Credentials, FromGenerator, RunCell } from './protocol.js';
import { SecureMaterial } from './security.js';
import { freePort, launch } from './servers.js';
import type { ServerUnderTest } from './servers.js';
import { benchTenant, internalKey, preloadTenants, readAs, setupTenants, verifyTenants } from './tenants.js';
import { keyName, valueBytes } from './workload.js';
import { controlRequest, postJson } from './http-request.js';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const STARTUP_MS = 60_000;
const KEYS = 5;
const VALUE_SIZE = 32;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');

let server: ServerUnderTest;
let material: SecureMaterial;
let tenants: Credentials[];

/** Every key (internal) under `prefix` with its value and mod revision, read as the cluster root. */
async function rootRange(prefix: string): Promise<Map<string, { value: string; modRevision: number }>> {
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  const res = (await postJson(`${server.url}/v3/kv/range`, { key: b64(prefix), range_end: b64(end) }, material.admin)) as {
    kvs?: Array<{ key: string; value?: string; mod_revision: string }>;
  };
  return new Map((res.kvs ?? []).map((kv) => [Buffer.from(kv.key, 'base64').toString(), { value: kv.value ?? '', modRevision: Number(kv.mod_revision) }]));
}

/** The real load generator, forked from source once (as kv-bench does), running one cell at a time. */
let generator: ChildProcess | null = null;
let nextId = 1;
function runCell(spec: Omit<RunCell, 'kind' | 'id'>): Promise<CellMeasurement> {
  if (generator === null) {
    const child = fork(resolve(import.meta.dirname, 'loadgen.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    generator = child;
    cleanups.push(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
  }
  const child = generator;
  const id = nextId++;
  return new Promise((resolvePromise, reject) => {
    const onMessage = (raw: unknown): void => {
      const msg = raw as FromGenerator;
      if (msg.id !== id || msg.kind === 'window') return;
      child.off('message', onMessage);
      if (msg.kind === 'cell-done') resolvePromise(msg.result);
      else reject(new Error(msg.kind === 'failed' ? msg.message : `unexpected ${msg.kind}`));
    };
    child.on('message', onMessage);
    child.send({ kind: 'run', id, ...spec } satisfies RunCell);
  });
}

before(async () => {
  material = SecureMaterial.create('keyward', ['m1']);
  cleanups.push(() => material.remove());
  const peerUrl = `https://127.0.0.1:${await freePort()}`;
  server = await launch({
    label: 'keyward-tenants-test',
    cwd: REPO_ROOT,
    startupTimeoutMs: STARTUP_MS,
    scheme: 'https',
    credentials: material.admin,
    argv: ({ dataDir, url }) => [
      process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'serve',
      '--name', 'm1', '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `m1=${peerUrl}`, '--initial-cluster-state', 'new',
      ...material.keywardFlags('m1'),
    ],
  });
  cleanups.push(() => server.stop());
  await material.configure(server.urls, STARTUP_MS);
  tenants = await setupTenants(material, server.url, 2);
  await preloadTenants(material, server.url, 2, KEYS, VALUE_SIZE);
  await verifyTenants(server.urls, tenants, VALUE_SIZE);
});

test('tenants exist with the bench user holding role rw; each certificate names its tenant (O=<tenant>)', async () => {
  const list = (await postJson(`${server.url}/v1/tenants/list`, {}, material.admin)) as { tenants?: Array<{ id: string; status: string }> };
  assert.deepEqual(list.tenants?.map((t) => [t.id, t.status]), [[benchTenant(0), 'active'], [benchTenant(1), 'active']]);
  const user = (await postJson(`${server.url}/v3/auth/user/get`, { name: 'bench', tenant: benchTenant(1) }, material.admin)) as { roles?: string[] };
  assert.deepEqual(user.roles, ['rw']);
  const { X509Certificate } = await import('node:crypto');
  const subject = new X509Certificate(tenants[1]!.tls!.cert).subject;
  assert.match(subject, new RegExp(`O=${benchTenant(1)}`));
  assert.match(subject, /CN=bench/);
});

test('preloaded keys land under /t/<id>/ (read as root), none at the top level', async () => {
  for (let j = 0; j < 2; j++) {
    const keys = await rootRange(`/t/${benchTenant(j)}/`);
    assert.deepEqual([...keys.keys()].sort(), Array.from({ length: KEYS }, (_, i) => internalKey(benchTenant(j), keyName(i))).sort());
    assert.equal(keys.get(internalKey(benchTenant(j), keyName(3)))?.value, b64(valueBytes(3, VALUE_SIZE)));
  }
  assert.equal((await rootRange('bench/')).size, 0, 'no tenant key was written untranslated');
});

test("tenant 0's bench user cannot read tenant 1's keys: not by the virtual name, not by the internal one, not by a whole-keyspace range", async () => {
  // Tenant 1 writes a value of its own through its certificate; root sees it under /t/bench-t1/.
  const put = await controlRequest(`${server.url}/v3/kv/put`, { body: JSON.stringify({ key: b64(keyName(0)), value: b64('t1-only') }), credentials: tenants[1] });
  assert.equal(put.status, 200, put.text);
  assert.equal((await rootRange(`/t/${benchTenant(1)}/`)).get(internalKey(benchTenant(1), keyName(0)))?.value, b64('t1-only'));

  const own = await readAs(server.url, keyName(0), tenants[0]!);
  assert.equal(own.value, b64(valueBytes(0, VALUE_SIZE)), 'tenant 0 reads its own value under the same virtual name');
  const internal = await readAs(server.url, internalKey(benchTenant(1), keyName(0)), tenants[0]!);
  assert.notEqual(internal.value, b64('t1-only'), internal.text);
  const all = await controlRequest(`${server.url}/v3/kv/range`, { body: JSON.stringify({ key: b64('\0'), range_end: b64('\0') }), credentials: tenants[0] });
  assert.equal(all.status, 200, all.text);
  const kvs = (JSON.parse(all.text) as { kvs?: Array<{ key: string; value: string }> }).kvs ?? [];
  assert.equal(kvs.length, KEYS, 'tenant 0 sees exactly its own keys');
  assert.ok(kvs.every((kv) => Buffer.from(kv.key, 'base64').toString().startsWith('bench/key-')), 'keys come back virtual');
  assert.ok(!all.text.includes(b64('t1-only')));
  // The cluster user bench (role bench on bench/) cannot read tenant keys either.
  const cluster = await readAs(server.url, internalKey(benchTenant(1), keyName(0)), material.bench);
  assert.notEqual(cluster.status, 200, cluster.text);
});

test("the load generator spreads a cell over both tenants' certificates, across cells (TLS session reuse keeps each lane's tenant)", async () => {
  const cell = (): Omit<RunCell, 'kind' | 'id'> => ({
    urls: [...server.urls], op: 'put', connections: 4, warmupMs: 0, durationMs: 300, keys: KEYS, valueSize: VALUE_SIZE,
    client: 'raw', seed: 1, laneCredentials: tenants,
  });
  // Both cells in one generator, as in the bench: the second cell's lanes resume the TLS sessions
  // the first one's got, and each must still write as its own tenant.
  for (let round = 0; round < 2; round++) {
    const before = await Promise.all([0, 1].map((j) => rootRange(`/t/${benchTenant(j)}/`)));
    const m = await runCell(cell());
    assert.equal(m.errors, 0, m.firstError ?? '');
    assert.ok(m.requests > 0);
    for (let j = 0; j < 2; j++) {
      const now = await rootRange(`/t/${benchTenant(j)}/`);
      assert.equal(now.size, KEYS, `tenant ${j} still has exactly its keys`);
      const moved = [...now].filter(([k, v]) => v.modRevision > (before[j]!.get(k)?.modRevision ?? 0));
      assert.ok(moved.length > 0, `round ${round}: tenant ${benchTenant(j)}'s keys were written by its lanes`);
    }
    assert.equal((await rootRange('bench/')).size, 0);
  }
});

// The tenants mode (`--tenants 1,10`, issue 6): N tenants sharing one secure Keyward, each with a
// user `bench` whose tenant role `rw` grants READWRITE on the tenant's whole virtual keyspace, and
// a client certificate per tenant (CN=bench, O=<tenant>). The load generator spreads a cell's
// connections over the tenants' certificates, so the same keys (`bench/key-<i>`, virtual) and
// values as the plain bench land under `/t/<tenant>/` and go through the whole tenant layer:
// admission, edge limits, key translation in and out, the tenant fence in authorization and the
// quota check at apply.
//
// Everything is set up by the cluster's root through the public API: `/v1/tenants/create` and
// `/v3/auth/*` with `"tenant": "<id>"` (a cluster administrator managing a tenant's users and
// roles). Quotas are generous but not 0 (unlimited), so every check still runs and none is hit.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeTenantCreateRequest } from '../src/wire/index.js';
import { controlRequest, postJson } from './http-request.js';
import type { Credentials } from './protocol.js';
import type { SecureMaterial } from './security.js';
import { BENCH_USER } from './security.js';
import { keyName, valueBytes } from './workload.js';

/** Tenant j of the bench. */
export function benchTenant(j: number): string {
  return `bench-t${j}`;
}

/** The tenant role the bench user holds in every tenant. */
export const TENANT_ROLE = 'rw';

/** Far above what a run writes or asks, so no quota is ever hit (0 would switch the checks off). */
export const GENEROUS_QUOTAS = {
  maxKeys: 10_000_000,
  maxBytes: 64 * 2 ** 30,
  maxLeases: 1_000_000,
  maxWatchers: 100_000,
  maxStreams: 100_000,
  maxRequestsPerSecond: 10_000_000,
} as const;

/** Keys per preload transaction (Keyward's default --max-txn-ops is 128). */
const PRELOAD_BATCH = 100;
/** Preload transactions in flight at once. */
const PRELOAD_PARALLEL = 4;

function b64(s: string | Buffer): string {
  return (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
}

/** The internal (absolute) key of a tenant's virtual key: `/t/<tenant>/<key>` (README, Tenants). */
export function internalKey(tenant: string, key: string): string {
  return `/t/${tenant}/${key}`;
}

/**
 * Creates tenants bench-t0 … bench-t<count-1> on the started secure Keyward at `url` (as its
 * root), each with role `rw` (READWRITE on the whole virtual keyspace: "\0" to "\0", which the
 * server stops at the tenant's edge) and user `bench` holding it; returns each tenant's
 * credentials (the client certificate CN=bench, O=<tenant>).
 */
export async function setupTenants(material: SecureMaterial, url: string, count: number): Promise<Credentials[]> {
  const admin = material.admin;
  const ca = readFileSync(material.store.layout.clientCa.cert, 'utf8');
  const out: Credentials[] = [];
  for (let j = 0; j < count; j++) {
    const tenant = benchTenant(j);
    await postJson(`${url}/v1/tenants/create`, encodeTenantCreateRequest({ id: tenant, quotas: { ...GENEROUS_QUOTAS } }), admin);
    await postJson(`${url}/v3/auth/role/add`, { name: TENANT_ROLE, tenant }, admin);
    await postJson(`${url}/v3/auth/role/grant`, { name: TENANT_ROLE, tenant, perm: { permType: 'READWRITE', key: b64('\0'), range_end: b64('\0') } }, admin);
    await postJson(`${url}/v3/auth/user/add`, { name: BENCH_USER, tenant, options: { no_password: true } }, admin);
    await postJson(`${url}/v3/auth/user/grant`, { user: BENCH_USER, role: TENANT_ROLE, tenant }, admin);
    const issued = material.store.issueClient(BENCH_USER, tenant);
    out.push({ tls: { ca, cert: readFileSync(issued.cert, 'utf8'), key: readFileSync(issued.key, 'utf8') } });
  }
  return out;
}

/**
 * Writes every tenant's key space (`keys` keys, the bench's values) as root, under the tenants'
 * prefixes, in transactions of PRELOAD_BATCH puts: one put per request through a tenant's own
 * certificate would take minutes for ten tenants on a three-member cluster. Ranges only need the
 * keys to exist; the measured puts then overwrite them through the tenant layer.
 */
export async function preloadTenants(material: SecureMaterial, url: string, tenants: number, keys: number, valueSize: number): Promise<number> {
  const started = Date.now();
  const batches: Array<{ tenant: string; from: number; to: number }> = [];
  for (let j = 0; j < tenants; j++) {
    for (let from = 0; from < keys; from += PRELOAD_BATCH) batches.push({ tenant: benchTenant(j), from, to: Math.min(keys, from + PRELOAD_BATCH) });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < batches.length) {
      const { tenant, from, to } = batches[next++]!;
      const success = [];
      for (let i = from; i < to; i++) {
        success.push({ request_put: { key: b64(internalKey(tenant, keyName(i))), value: b64(valueBytes(i, valueSize)) } });
      }
      const res = await controlRequest(`${url}/v3/kv/txn`, { body: JSON.stringify({ success }), credentials: material.admin, timeoutMs: 30_000 });
      if (res.status !== 200) throw new Error(`preload of ${tenant} keys ${from}..${to - 1}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: PRELOAD_PARALLEL }, worker));
  return Date.now() - started;
}

/** Range of one virtual key as `creds` at `url`; the value (base64) or null when absent, or the refusal. */
export async function readAs(url: string, key: string, creds: Credentials): Promise<{ status: number; value: string | null; text: string }> {
  const res = await controlRequest(`${url}/v3/kv/range`, { body: JSON.stringify({ key: b64(key) }), credentials: creds });
  if (res.status !== 200) return { status: res.status, value: null, text: res.text };
  const body = JSON.parse(res.text) as { kvs?: Array<{ value?: string }> };
  return { status: 200, value: body.kvs?.[0]?.value ?? (body.kvs?.length === 1 ? '' : null), text: res.text };
}

/**
 * Before measuring: every tenant's bench user reads its own preloaded key 0 (translation works
 * and the grant is applied on every member), and tenant 0's user cannot reach tenant 1's key
 * through its internal name (the fence). Throws otherwise.
 */
export async function verifyTenants(urls: readonly string[], creds: readonly Credentials[], valueSize: number, timeoutMs = 10_000): Promise<void> {
  const want = b64(valueBytes(0, valueSize));
  for (const url of urls) {
    for (let j = 0; j < creds.length; j++) {
      // A follower may apply the last grants a moment after the leader: poll until it does.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = await readAs(url, keyName(0), creds[j]!);
        if (r.value === want) break;
        if (Date.now() > deadline) throw new Error(`${url}: tenant ${benchTenant(j)}'s ${BENCH_USER} reads ${keyName(0)} as HTTP ${r.status} ${r.text.slice(0, 200)}; expected its value`);
        await sleep(100);
      }
    }
    if (creds.length > 1) {
      const r = await readAs(url, internalKey(benchTenant(1), keyName(0)), creds[0]!);
      if (r.value === want) throw new Error(`${url}: tenant ${benchTenant(0)} reads ${benchTenant(1)}'s ${keyName(0)}: tenants are not isolated`);
    }
  }
}

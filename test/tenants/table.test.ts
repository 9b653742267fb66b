import { test } from 'node:test';
import assert from 'node:assert/strict';
import { admitTenant, decodeTenantOp, encodeTenantOp, isTenantError, TenantError, type TenantOp } from '../../src/tenants/index.js';
import { Storage, SUB_DBS } from '../../src/storage/index.js';
import { makeTmpDir } from '../harness/tmpdir.js';
import { quotas, withFixture, TenantFixture } from './helpers.js';

// The replicated tenant table on real LMDB (src/tenants/table.ts, ops.ts): each op's rules and
// typed refusals, the tenant revision, persistence across reopen, byte-identical replicas from
// the same op sequence (A11's determinism for tenants), and the op payload codec.

test('a fresh store: revision 0, no tenants', () =>
  withFixture((f) => {
    assert.equal(f.table.revision(), 0);
    assert.deepEqual(f.table.list(), []);
    assert.equal(f.table.get('acme'), undefined);
    assert.deepEqual(f.table.usage('acme'), { keys: 0, bytes: 0, leases: 0 });
  }));

test('create: an active record with its quotas at the next tenant revision; twice is TENANT_EXISTS', () =>
  withFixture((f) => {
    const r = f.apply({ type: 'create', id: 'acme', quotas: quotas({ maxKeys: 10 }) });
    assert.ok(r.ok && r.changed);
    assert.equal(r.revision, 1);
    assert.deepEqual(f.table.get('acme'), { id: 'acme', status: 'active', quotas: quotas({ maxKeys: 10 }), createdRevision: 1, revision: 1 });
    assert.equal(f.do({ type: 'create', id: 'acme', quotas: quotas() }), 'TENANT_EXISTS');
    assert.equal(f.table.get('acme')!.quotas.maxKeys, 10, 'the refused create changed nothing');
    f.must({ type: 'create', id: 'acme2', quotas: quotas() });
    assert.deepEqual(f.table.list().map((t) => t.id), ['acme', 'acme2']);
    assert.equal(f.table.revision(), 2);
  }));

test('create: an invalid id is INVALID_TENANT_ID and a bad quota INVALID_QUOTA; nothing is written', () =>
  withFixture((f) => {
    for (const id of ['', 'Acme', '-a', 'a/b', 'a'.repeat(64), 'a b', 'ä']) {
      assert.equal(f.do({ type: 'create', id, quotas: quotas() }), 'INVALID_TENANT_ID', JSON.stringify(id));
    }
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      assert.equal(f.do({ type: 'create', id: 'acme', quotas: quotas({ maxBytes: bad }) }), 'INVALID_QUOTA', String(bad));
    }
    const missing = { ...quotas() } as Partial<ReturnType<typeof quotas>>;
    delete missing.maxStreams;
    assert.equal(f.do({ type: 'create', id: 'acme', quotas: missing as ReturnType<typeof quotas> }), 'INVALID_QUOTA');
    assert.equal(f.table.revision(), 0);
    assert.equal(f.storage.table(SUB_DBS.tenantsRecords).count(), 0);
    assert.equal(f.storage.table(SUB_DBS.tenantsMeta).count(), 0);
  }));

test('suspend and resume: TENANT_NOT_FOUND for unknown tenants; repeating one is a no-op without a revision', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'suspend', id: 'acme' }), 'TENANT_NOT_FOUND');
    assert.equal(f.do({ type: 'resume', id: 'acme' }), 'TENANT_NOT_FOUND');
    assert.equal(f.do({ type: 'suspend', id: 'ACME' }), 'INVALID_TENANT_ID');
    f.must({ type: 'create', id: 'acme', quotas: quotas() });
    assert.equal(f.do({ type: 'resume', id: 'acme' }), 'noop');
    assert.equal(f.do({ type: 'suspend', id: 'acme' }), 'ok');
    assert.deepEqual([f.table.get('acme')!.status, f.table.get('acme')!.revision, f.table.revision()], ['suspended', 2, 2]);
    assert.equal(f.do({ type: 'suspend', id: 'acme' }), 'noop');
    assert.equal(f.table.revision(), 2);
    assert.equal(f.do({ type: 'resume', id: 'acme' }), 'ok');
    assert.deepEqual([f.table.get('acme')!.status, f.table.get('acme')!.createdRevision, f.table.revision()], ['active', 1, 3]);
  }));

test('setQuotas: replaces all six; the same quotas are a no-op; invalid ones refused', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'setQuotas', id: 'acme', quotas: quotas() }), 'TENANT_NOT_FOUND');
    f.must({ type: 'create', id: 'acme', quotas: quotas({ maxKeys: 5 }) });
    assert.equal(f.do({ type: 'setQuotas', id: 'acme', quotas: quotas({ maxKeys: 5 }) }), 'noop');
    assert.equal(f.do({ type: 'setQuotas', id: 'acme', quotas: quotas({ maxKeys: -5 }) }), 'INVALID_QUOTA');
    const q = { maxKeys: 1, maxBytes: 2, maxLeases: 3, maxWatchers: 4, maxStreams: 5, maxRequestsPerSecond: 6 };
    assert.equal(f.do({ type: 'setQuotas', id: 'acme', quotas: q }), 'ok');
    assert.deepEqual(f.table.get('acme')!.quotas, q);
    assert.equal(f.table.revision(), 2);
  }));

test('delete: removes the record (returned in the outcome); a re-create starts afresh', () =>
  withFixture((f) => {
    assert.equal(f.do({ type: 'delete', id: 'acme' }), 'TENANT_NOT_FOUND');
    f.must({ type: 'create', id: 'acme', quotas: quotas({ maxKeys: 3 }) }, { type: 'suspend', id: 'acme' });
    const r = f.apply({ type: 'delete', id: 'acme' });
    assert.ok(r.ok && r.changed);
    assert.deepEqual([r.record.id, r.record.status, r.revision], ['acme', 'suspended', 3]);
    assert.equal(f.table.get('acme'), undefined);
    assert.equal(f.do({ type: 'resume', id: 'acme' }), 'TENANT_NOT_FOUND');
    f.must({ type: 'create', id: 'acme', quotas: quotas() });
    assert.deepEqual([f.table.get('acme')!.status, f.table.get('acme')!.createdRevision, f.table.get('acme')!.quotas.maxKeys], ['active', 4, 0]);
  }));

test('admission at the edge: unknown TENANT_NOT_FOUND, suspended TENANT_SUSPENDED, active admitted', () =>
  withFixture((f) => {
    assert.equal(f.table.admit('acme')?.code, 'TENANT_NOT_FOUND');
    f.must({ type: 'create', id: 'acme', quotas: quotas() });
    assert.equal(f.table.admit('acme'), undefined);
    f.must({ type: 'suspend', id: 'acme' });
    assert.equal(f.table.admit('acme')?.code, 'TENANT_SUSPENDED');
    assert.equal(admitTenant(undefined)?.code, 'TENANT_NOT_FOUND');
    assert.equal(f.table.admit('not valid')?.code, 'TENANT_NOT_FOUND');
  }));

test('A21: error messages are fixed texts or the caller\'s own limit, never a tenant id or key', () => {
  for (const code of ['INVALID_TENANT_ID', 'TENANT_EXISTS', 'TENANT_NOT_FOUND', 'TENANT_SUSPENDED', 'INVALID_QUOTA', 'OUTSIDE_TENANT', 'TOO_MANY_REQUESTS'] as const) {
    const e = new TenantError(code);
    assert.match(e.message, /^tenants: /);
    assert.ok(!/acme|\/t\//.test(e.message));
  }
  assert.equal(new TenantError('QUOTA_EXCEEDED', { limit: 'maxKeys', value: 100 }).message, 'tenants: tenant quota exceeded: keys (limit 100)');
});

test('records, usage, lease ownership and the revision persist across reopen', async () =>
  withFixture(async (f) => {
    f.must({ type: 'create', id: 'acme', quotas: quotas({ maxLeases: 9 }) }, { type: 'suspend', id: 'acme' });
    f.storage.transactSync((txn) => {
      f.table.addUsage(txn, 'acme', { keys: 2, bytes: 30, leases: 0 });
      assert.equal(f.table.grantLease(txn, 'acme', 77n), undefined);
    });
    const before = { rec: f.table.get('acme'), usage: f.table.usage('acme'), rev: f.table.revision() };
    await f.reopen();
    assert.deepEqual({ rec: f.table.get('acme'), usage: f.table.usage('acme'), rev: f.table.revision() }, before);
    assert.deepEqual(before.usage, { keys: 2, bytes: 30, leases: 1 });
    assert.equal(f.table.leaseOwner(77n), 'acme');
    assert.deepEqual(f.table.leasesOf('acme'), [77n]);
  }));

const TENANT_TABLES = [SUB_DBS.tenantsRecords, SUB_DBS.tenantsUsage, SUB_DBS.tenantsLeases, SUB_DBS.tenantsTenantLeases, SUB_DBS.tenantsMeta];

function dumpTenantTables(st: Storage): string {
  return TENANT_TABLES.map((name) => `${name}:` + [...st.table(name).range()].map(({ key, value }) => `${Buffer.from(key).toString('hex')}=${Buffer.from(value).toString('hex')}`).join(',')).join('\n');
}

test('A11: the same op sequence on two fresh stores leaves byte-identical tenant tables', async () => {
  const script = (f: TenantFixture): string[] => {
    const out: string[] = [];
    const ops: TenantOp[] = [
      { type: 'create', id: 'acme', quotas: quotas({ maxKeys: 2, maxLeases: 1 }) },
      { type: 'create', id: 'acme', quotas: quotas() },
      { type: 'create', id: 'b-2', quotas: quotas({ maxBytes: 100 }) },
      { type: 'suspend', id: 'acme' },
      { type: 'setQuotas', id: 'b-2', quotas: quotas({ maxBytes: 50, maxRequestsPerSecond: 3 }) },
      { type: 'delete', id: 'zzz' },
      { type: 'resume', id: 'acme' },
      { type: 'create', id: 'gone', quotas: quotas() },
      { type: 'delete', id: 'gone' },
    ];
    for (const o of ops) out.push(f.do(o));
    f.storage.transactSync((txn) => {
      out.push(String(f.table.grantLease(txn, 'acme', -5n)?.code));
      out.push(String(f.table.grantLease(txn, 'acme', 6n)?.code));
      out.push(String(f.table.grantLease(txn, 'b-2', 6n)?.code));
      f.table.addUsage(txn, 'b-2', { keys: 1, bytes: 7, leases: 0 });
    });
    return out;
  };
  const a = new TenantFixture();
  const c = new TenantFixture();
  try {
    const ra = script(a);
    const rc = script(c);
    assert.deepEqual(ra, rc);
    assert.deepEqual(ra, ['ok', 'TENANT_EXISTS', 'ok', 'ok', 'ok', 'TENANT_NOT_FOUND', 'ok', 'ok', 'ok', 'undefined', 'QUOTA_EXCEEDED', 'undefined']);
    const da = dumpTenantTables(a.storage);
    assert.equal(da, dumpTenantTables(c.storage));
    assert.ok(da.length > 200, 'the dump holds the tables');
  } finally {
    await a.close();
    await c.close();
  }
});

test('op payloads: every op round-trips; malformed payloads are corruption (a plain Error, not a TenantError)', () => {
  const ops: TenantOp[] = [
    { type: 'create', id: 'acme', quotas: quotas({ maxKeys: 1, maxRequestsPerSecond: 9 }) },
    { type: 'suspend', id: 'acme' },
    { type: 'resume', id: 'acme' },
    { type: 'delete', id: 'acme' },
    { type: 'setQuotas', id: 'acme', quotas: quotas({ maxWatchers: 4 }) },
    // Values are checked at apply, so an invalid id still decodes (and is refused as an outcome).
    { type: 'suspend', id: 'NOT VALID' },
  ];
  for (const o of ops) assert.deepEqual(decodeTenantOp(encodeTenantOp(o)), o);
  assert.equal(encodeTenantOp(ops[0]!)[0], 1, 'version byte');
  const te = new TextEncoder();
  const raw = (json: string, v = 1): Uint8Array => new Uint8Array([v, ...te.encode(json)]);
  const bad = [
    new Uint8Array(0),
    raw('{"type":"suspend","id":"a"}', 2),
    raw('not json'),
    raw('[]'),
    raw('{"type":"explode","id":"a"}'),
    raw('{"type":"suspend"}'),
    raw('{"type":"suspend","id":"a","extra":1}'),
    raw('{"type":"create","id":"a"}'),
    raw('{"type":"create","id":"a","quotas":{"maxKeys":1}}'),
    raw('{"type":"create","id":"a","quotas":{"maxKeys":"1","maxBytes":0,"maxLeases":0,"maxWatchers":0,"maxStreams":0,"maxRequestsPerSecond":0}}'),
    raw('{"type":"delete","id":"a","quotas":{}}'),
  ];
  for (const p of bad) {
    assert.throws(
      () => decodeTenantOp(p),
      (e: unknown) => e instanceof Error && !isTenantError(e) && /malformed tenant entry/.test(e.message),
    );
  }
});

test('a TenantTable opens on a default state environment (the registry lists its sub-databases)', async () => {
  const dir = makeTmpDir('keyward-tenants-');
  try {
    const st = Storage.open(dir.sub('s'));
    for (const n of TENANT_TABLES) assert.equal(st.table(n).name, n);
    await st.close();
  } finally {
    dir.cleanup();
  }
});

test('usage rows: counts past 2^32 round-trip, stored as version byte + three big-endian int64', () =>
  withFixture((f) => {
    f.must({ type: 'create', id: 'acme', quotas: quotas() });
    const big = { keys: 2 ** 33 + 5, bytes: 2 ** 52 + 1, leases: 4_294_967_295 };
    f.storage.transactSync((txn) => f.table.addUsage(txn, 'acme', big));
    assert.deepEqual(f.table.usage('acme'), big);
    const raw = f.storage.table(SUB_DBS.tenantsUsage).get(new TextEncoder().encode('acme'))!;
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    assert.equal(raw.byteLength, 25);
    assert.equal(raw[0], 1);
    assert.deepEqual([dv.getBigInt64(1), dv.getBigInt64(9), dv.getBigInt64(17)], [BigInt(big.keys), BigInt(big.bytes), BigInt(big.leases)]);
    f.storage.transactSync((txn) => f.table.addUsage(txn, 'acme', { keys: -big.keys, bytes: -big.bytes, leases: -big.leases }));
    assert.deepEqual(f.table.usage('acme'), { keys: 0, bytes: 0, leases: 0 });
    assert.equal(f.storage.table(SUB_DBS.tenantsUsage).get(new TextEncoder().encode('acme')), undefined, 'a zero row is removed');
    assert.deepEqual(f.table.usage('not a tenant id'), { keys: 0, bytes: 0, leases: 0 });
  }));

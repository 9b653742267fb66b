// The tenant table: records, storage usage and lease ownership, in sub-databases of the member's
// state environment, so every change commits with the key space and the applied index (the
// server applies it inside mvcc's batch, as auth and leases are).
//
//   tenants.records       id (ASCII) → {"v":1,"status":"active"|"suspended","quotas":{…six fields},
//                                       "createdRevision":n,"revision":n}
//   tenants.usage         id → [0] version 1, then keys, bytes, leases as int64 BE (24 bytes)
//   tenants.leases        8-byte lease ID (int64 BE, as lease.leases) → owning tenant id (ASCII)
//   tenants.tenantLeases  id ‖ "/" ‖ 8-byte lease ID → [1]  (a tenant's leases; "/" cannot occur in
//                                       an id, so the prefix id‖"/" names exactly one tenant)
//   tenants.meta          "state" → {"v":1,"revision":n}
//
// Records are versioned JSON for auth's reasons (rare, small, readable, extensible). Usage is
// binary: it is rewritten by every write into a tenant's keyspace.
//
// Invariants: revision() counts applied tenant changes (0 for a fresh store); a record's
// createdRevision/revision are tenant revisions. Usage rows exist for any valid id with keys or
// leases under it, record or not (usage follows the key space, see quota.ts), and a row that
// returns to all zeros is removed, so a deleted tenant whose keys were deleted leaves nothing.
// Usage is never negative: a delta that would make it so is a bug in the caller and throws.
// Worked example (tenant revision after each op):
//   create acme (unlimited)       1   records{acme: active, created 1, rev 1}
//   suspend acme                  2   records{acme: suspended, rev 2}
//   suspend acme                  2   (already suspended: no-op)
//   put /t/acme/a = "xy"              usage{acme: keys 1, bytes 3}    (key "a" 1 + value 2)
//   delete acme                   3   records{}; usage stays until the server deletes the keys
//
// Reads outside a transaction see the last committed state; inside an apply batch (through the
// same Storage) they see the batch's earlier writes. Writes happen only inside an apply batch.
import { ReadCache, SUB_DBS, type Storage, type Table, type WriteTxn } from '../storage/index.js';
import { TenantError } from './errors.js';
import { tenantOfKey, validTenantId } from './prefix.js';
import { ZERO_USAGE, addUsage, checkQuota, copyQuotas, quotaApplies, keyDelta, validateQuotas, type TenantQuotas, type TenantUsage, type UsageDelta } from './quota.js';

export type TenantStatus = 'active' | 'suspended';

export interface TenantRecord {
  id: string;
  status: TenantStatus;
  quotas: TenantQuotas;
  /** Tenant revision of the create. */
  createdRevision: number;
  /** Tenant revision of the record's last change. */
  revision: number;
}

const VERSION = 1;
const USAGE_BYTES = 25;
const META_KEY = new TextEncoder().encode('state');
const ATTACHED = Uint8Array.of(1);
const SLASH = 0x2f;
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

function corrupt(what: string): never {
  throw new Error(`tenants: corrupt ${what}`);
}

// Encoded ids, asked for on every tenant write (usage row) and admission: a cluster holds few
// tenants, and the bound only stops a stream of unknown ids from growing the map.
const ID_KEYS = new Map<string, Uint8Array>();
const MAX_ID_KEYS = 4096;

/** The key of tenant `id` in the tables keyed by id (callers never change the bytes). */
function idKey(id: string): Uint8Array {
  let k = ID_KEYS.get(id);
  if (k === undefined) {
    if (!validTenantId(id)) throw new TypeError('tenants: not a valid tenant id');
    k = te.encode(id);
    if (ID_KEYS.size >= MAX_ID_KEYS) ID_KEYS.clear();
    ID_KEYS.set(id, k);
  }
  return k;
}

/** Whether `id` is a well-formed tenant id; an id already encoded was checked then. */
function wellFormed(id: string): boolean {
  return ID_KEYS.has(id) || validTenantId(id);
}

export function leaseIdKey(id: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, id);
  return out;
}

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function parse(buf: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(td.decode(buf));
  } catch {
    return corrupt(what);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return corrupt(what);
  const o = v as Record<string, unknown>;
  if (o['v'] !== VERSION) corrupt(what);
  return o;
}

/** Fixed field order, so the same record always encodes to the same bytes (replicas compare). */
function encodeRecord(r: TenantRecord): Uint8Array {
  return te.encode(JSON.stringify({ v: VERSION, status: r.status, quotas: copyQuotas(r.quotas), createdRevision: r.createdRevision, revision: r.revision }));
}

function decodeRecord(id: string, buf: Uint8Array): TenantRecord {
  const what = `tenant record of ${JSON.stringify(id)}`;
  const o = parse(buf, what);
  const { status, quotas, createdRevision, revision } = o;
  if (status !== 'active' && status !== 'suspended') return corrupt(what);
  if (validateQuotas(quotas) !== undefined || !isCount(createdRevision) || !isCount(revision)) return corrupt(what);
  return { id, status, quotas: copyQuotas(quotas as TenantQuotas), createdRevision, revision };
}

// Usage counts as big-endian int64 (version byte first). Written and read as two 32-bit halves,
// not through BigInt (this runs for every tenant write): the counts are safe integers, for which
// both give the same bytes.
const TWO_32 = 2 ** 32;

function putCount(dv: DataView, at: number, n: number): void {
  if (!isCount(n)) throw new Error('tenants: usage count is not a non-negative safe integer');
  dv.setUint32(at, Math.floor(n / TWO_32));
  dv.setUint32(at + 4, n % TWO_32);
}

function getCount(dv: DataView, at: number): number {
  return dv.getInt32(at) * TWO_32 + dv.getUint32(at + 4);
}

function encodeUsage(u: TenantUsage): Uint8Array {
  const out = new Uint8Array(USAGE_BYTES);
  const dv = new DataView(out.buffer);
  out[0] = VERSION;
  putCount(dv, 1, u.keys);
  putCount(dv, 9, u.bytes);
  putCount(dv, 17, u.leases);
  return out;
}

function decodeUsage(id: string, buf: Uint8Array): TenantUsage {
  if (buf.byteLength !== USAGE_BYTES || buf[0] !== VERSION) corrupt(`usage of ${JSON.stringify(id)}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return { keys: getCount(dv, 1), bytes: getCount(dv, 9), leases: getCount(dv, 17) };
}

function tenantLeaseKey(id: string, leaseId: bigint): Uint8Array {
  const k = idKey(id);
  const out = new Uint8Array(k.length + 9);
  out.set(k);
  out[k.length] = SLASH;
  out.set(leaseIdKey(leaseId), k.length + 1);
  return out;
}

/** The "…‖/" prefix range of one tenant's rows in tenants.tenantLeases: [id‖"/", id‖"0"). */
function tenantLeaseRange(id: string): { gte: Uint8Array; lt: Uint8Array } {
  const k = idKey(id);
  const gte = new Uint8Array(k.length + 1);
  gte.set(k);
  gte[k.length] = SLASH;
  const lt = gte.slice();
  lt[k.length] = SLASH + 1;
  return { gte, lt };
}

/** Most unknown tenant ids remembered between writes. */
const MAX_CACHED_MISSES = 1024;

function freezeRecord(r: TenantRecord): TenantRecord {
  Object.freeze(r.quotas);
  return Object.freeze(r);
}

export class TenantTable {
  private readonly records: Table;
  private readonly usageRows: Table;
  private readonly leaseOwners: Table;
  private readonly tenantLeases: Table;
  private readonly meta: Table;
  // Decoded records between writes: every request of a tenant principal is admitted (edge and
  // apply) and its writes are quota-checked, ~4 record reads per put (measured in the tenants
  // bench). Records handed out are frozen (shared). Only the records table is cached, so only its
  // writes (and the tenant revision's, which go with them) call cache.wrote(): usage rows and
  // lease ownership change with every tenant put or lease and must not turn the cache off for
  // the rest of the batch.
  private readonly cache = new ReadCache();
  private readonly recordOf = this.cache.map<string, TenantRecord>(MAX_CACHED_MISSES);

  constructor(storage: Storage) {
    this.records = storage.table(SUB_DBS.tenantsRecords);
    this.usageRows = storage.table(SUB_DBS.tenantsUsage);
    this.leaseOwners = storage.table(SUB_DBS.tenantsLeases);
    this.tenantLeases = storage.table(SUB_DBS.tenantsTenantLeases);
    this.meta = storage.table(SUB_DBS.tenantsMeta);
  }

  /** The tenant revision: +1 on every tenant op that changed something. */
  revision(): number {
    const buf = this.meta.get(META_KEY);
    if (buf === undefined) return 0;
    const o = parse(buf, 'tenants meta record');
    if (!isCount(o['revision'])) corrupt('tenants meta record');
    return o['revision'] as number;
  }

  /**
   * Counts this instance's writes, committed or not, for caches of records (as AuthTable's):
   * a batch that wrote and rolled back cannot leave a cache built from state that never committed.
   */
  writeEpoch(): number {
    return this.cache.writeEpoch();
  }

  get(id: string): TenantRecord | undefined {
    if (!wellFormed(id)) return undefined;
    return this.recordOf(id, () => {
      const buf = this.records.get(idKey(id));
      return buf === undefined ? undefined : freezeRecord(decodeRecord(id, buf));
    });
  }

  /** The writes up to writeEpoch() `upTo` (default: all) are committed (see ReadCache.committed). */
  committed(upTo?: number): void {
    this.cache.committed(upTo);
  }

  /** The tables were written behind this instance's back (a restored snapshot): forget what was read. */
  invalidate(): void {
    this.cache.invalidate();
  }

  /** Every record, in id order. */
  list(): TenantRecord[] {
    return [...this.records.range()].map(({ key, value }) => decodeRecord(td.decode(key), value));
  }

  /**
   * Edge admission of a tenant principal's request: TENANT_NOT_FOUND when the tenant does not
   * exist (deleted), TENANT_SUSPENDED when suspended, else undefined.
   */
  admit(id: string): TenantError | undefined {
    return admitTenant(this.get(id));
  }

  /** Storage usage of `id` (zeros when none), whether or not the tenant has a record. */
  usage(id: string): TenantUsage {
    if (!wellFormed(id)) return { ...ZERO_USAGE };
    const buf = this.usageRows.get(idKey(id));
    return buf === undefined ? { ...ZERO_USAGE } : decodeUsage(id, buf);
  }

  /** The refusal of `delta` for tenant `id` under its quotas; undefined when admitted or no record. */
  checkUsage(id: string, delta: UsageDelta): TenantError | undefined {
    const rec = this.get(id);
    return rec === undefined || !quotaApplies(rec.quotas, delta) ? undefined : checkQuota(rec.quotas, this.usage(id), delta);
  }

  /** The tenant that owns lease `leaseId`, or undefined (a cluster user's lease, or none). */
  leaseOwner(leaseId: bigint): string | undefined {
    const buf = this.leaseOwners.get(leaseIdKey(leaseId));
    return buf === undefined ? undefined : td.decode(buf);
  }

  /** The leases tenant `id` owns, in key order (int64 big-endian bytes). */
  leasesOf(id: string): bigint[] {
    if (!wellFormed(id)) return [];
    const out: bigint[] = [];
    for (const k of this.tenantLeases.keys(tenantLeaseRange(id))) {
      out.push(new DataView(k.buffer, k.byteOffset + k.byteLength - 8, 8).getBigInt64(0));
    }
    return out;
  }

  // ---- writes: only inside an apply batch's transaction ----------------------------------------

  putRecord(txn: WriteTxn, r: TenantRecord): void {
    this.cache.wrote();
    txn.put(this.records, idKey(r.id), encodeRecord(r));
  }

  removeRecord(txn: WriteTxn, id: string): void {
    this.cache.wrote();
    txn.remove(this.records, idKey(id));
  }

  putRevision(txn: WriteTxn, revision: number): void {
    this.cache.wrote();
    txn.put(this.meta, META_KEY, te.encode(JSON.stringify({ v: VERSION, revision })));
  }

  /**
   * Adds `delta` to `id`'s usage without a quota check (check first with checkUsage; decreases
   * need none). A result below zero is a bug in the caller's accounting: it throws.
   */
  addUsage(txn: WriteTxn, id: string, delta: UsageDelta): void {
    if (delta.keys === 0 && delta.bytes === 0 && delta.leases === 0) return;
    const next = addUsage(this.usage(id), delta);
    if (next.keys < 0 || next.bytes < 0 || next.leases < 0) throw new Error('tenants: usage would go below zero (accounting bug)');
    if (next.keys === 0 && next.bytes === 0 && next.leases === 0) txn.remove(this.usageRows, idKey(id));
    else txn.put(this.usageRows, idKey(id), encodeUsage(next));
  }

  /**
   * Records that tenant `id` owns the new lease `leaseId`, refusing with QUOTA_EXCEEDED (maxLeases)
   * before writing anything. Called at apply of a grant by one of the tenant's principals.
   */
  grantLease(txn: WriteTxn, id: string, leaseId: bigint): TenantError | undefined {
    const refusal = this.checkUsage(id, { keys: 0, bytes: 0, leases: 1 });
    if (refusal !== undefined) return refusal;
    if (this.leaseOwner(leaseId) !== undefined) throw new Error('tenants: lease already owned (lease IDs are unique)');
    txn.put(this.leaseOwners, leaseIdKey(leaseId), idKey(id));
    txn.put(this.tenantLeases, tenantLeaseKey(id, leaseId), ATTACHED);
    this.addUsage(txn, id, { keys: 0, bytes: 0, leases: 1 });
    return undefined;
  }

  /** Forgets lease `leaseId` (revoked or expired); returns its owner, or undefined if it had none. */
  releaseLease(txn: WriteTxn, leaseId: bigint): string | undefined {
    const owner = this.leaseOwner(leaseId);
    if (owner === undefined) return undefined;
    txn.remove(this.leaseOwners, leaseIdKey(leaseId));
    txn.remove(this.tenantLeases, tenantLeaseKey(owner, leaseId));
    this.addUsage(txn, owner, { keys: 0, bytes: 0, leases: -1 });
    return owner;
  }
}

/** Admission rule for a tenant principal: the record must exist and be active. */
export function admitTenant(rec: TenantRecord | undefined): TenantError | undefined {
  if (rec === undefined) return new TenantError('TENANT_NOT_FOUND');
  if (rec.status === 'suspended') return new TenantError('TENANT_SUSPENDED');
  return undefined;
}

/**
 * The usage deltas of one log entry's key writes, summed per tenant, so the server can check an
 * entry's NET change against the quotas before writing anything (a txn that creates one key and
 * deletes another does not grow keys), then commit them. Keys outside every tenant are ignored.
 * Deterministic: tenants are visited in id order.
 */
export class UsageDeltas {
  private readonly byTenant = new Map<string, UsageDelta>();

  /**
   * One key change: value lengths before and after, undefined = the key does not exist on that
   * side (before undefined: created; after undefined: deleted).
   */
  addKeyChange(internalKey: Uint8Array, before: number | undefined, after: number | undefined): void {
    const id = tenantOfKey(internalKey);
    if (id === undefined) return;
    // "/t/" + id + "/" precede the virtual key.
    const virtualLength = internalKey.length - (id.length + 4);
    this.add(id, keyDelta(virtualLength, before, after));
  }

  add(id: string, delta: UsageDelta): void {
    this.byTenant.set(id, addUsage(this.byTenant.get(id) ?? ZERO_USAGE, delta));
  }

  /** [tenant, net delta], in id order. */
  entries(): [string, UsageDelta][] {
    return [...this.byTenant.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The first refusal (in id order), or undefined when every tenant's net change is admitted. */
  check(table: TenantTable): TenantError | undefined {
    for (const [id, d] of this.entries()) {
      const r = table.checkUsage(id, d);
      if (r !== undefined) return r;
    }
    return undefined;
  }

  commit(table: TenantTable, txn: WriteTxn): void {
    for (const [id, d] of this.entries()) table.addUsage(txn, id, d);
  }
}

// Tenants in the member: wiring between the replicated tenant table (src/tenants), the apply path
// (mvcc's batch) and the other tables a tenant spans (keys, leases, principals).
//
//   create / suspend / resume / setQuotas  → log entries, applied inside mvcc's batch (change()).
//   delete                                → ONE entry; in one transaction at one revision: every
//                                            key of tenantKeyRange(id) deleted (DELETE events to
//                                            watchers), its leases revoked (and any key attached
//                                            to them), its users and roles purged (auth op
//                                            tenantPurge), the record removed.
//   storage usage and quotas              → usageObserver: mvcc reports every key change of an
//                                            entry; the net change per tenant is checked against
//                                            the quotas and recorded, or the whole entry is
//                                            refused (QUOTA_EXCEEDED) and mvcc takes it back.
//   lease ownership                       → leaseChange(): a grant by a tenant principal (the
//                                            stamp's tenant) is checked against maxLeases and
//                                            recorded; any revoke releases ownership.
//
// Everything here runs at apply on replicated state alone, so every member decides alike.
import { applyAuthOp, type AuthTable } from '../auth/index.js';
import { hasPrefix, intervalsOverlap, keyRangeInterval, prefixEnd } from '../adt/index.js';
import { applyLeaseOp, type LeaseOp, type LeaseTable } from '../lease/index.js';
import type { ExternalChange, ExternalContext, ExternalOutcome, ObservedRequest, UsageObserver, UsageSession } from '../mvcc/index.js';
import type { Storage, WriteTxn } from '../storage/index.js';
import {
  TENANTS_ROOT,
  TenantError,
  TenantTable,
  UsageDeltas,
  applyTenantOp,
  tenantKeyRange,
  validTenantId,
  type TenantOp,
  type TenantQuotas,
  type TenantRecord,
  type TenantUsage,
} from '../tenants/index.js';
import type { PutRequest, RequestOp, TxnRequest } from '../wire/index.js';

/** A tenant as the tenants API answers it. */
export interface TenantInfo {
  id: string;
  status: 'active' | 'suspended';
  quotas: TenantQuotas;
  usage: TenantUsage;
  createdRevision: number;
}

/** What an applied tenant entry answers its proposer (the ExternalResponse's value). */
export interface TenantChangeValue {
  /** The record after the op; for delete, the record that was removed. */
  info: TenantInfo;
  changed: boolean;
  /** delete: keys deleted (the tenant's own, and others attached to its leases). */
  deleted: number;
  /** delete: the leases revoked, for the lessor to forget once the batch is committed. */
  revokedLeases: bigint[];
}

/** The other tables a tenant deletion changes, owned by the member's auth and lease managers. */
export interface TenantDeps {
  auth: AuthTable;
  leases: LeaseTable;
}

/** Every key under "/t/", as an interval. */
const TENANTS_INTERVAL = keyRangeInterval(TENANTS_ROOT, prefixEnd(TENANTS_ROOT))!;

export function tenantInfo(rec: TenantRecord, usage: TenantUsage): TenantInfo {
  return { id: rec.id, status: rec.status, quotas: { ...rec.quotas }, usage: { ...usage }, createdRevision: rec.createdRevision };
}

export class TenantManager {
  readonly table: TenantTable;
  /** mvcc's storage-accounting hook (KvStoreOptions.usage). */
  readonly usageObserver: UsageObserver;
  private deps: TenantDeps | undefined;
  constructor(storage: Storage) {
    this.table = new TenantTable(storage);
    this.usageObserver = { begin: (request) => this.beginUsage(request) };
  }

  /** The auth and lease tables (made after this manager, in the member's constructor). */
  wire(deps: TenantDeps): void {
    this.deps = deps;
  }

  /** The record as applied on this member (the table caches decoded records between writes). */
  record(id: string): TenantRecord | undefined {
    return this.table.get(id);
  }

  /** The state was replaced under the table (a snapshot was installed): forget cached records. */
  reload(): void {
    this.table.invalidate();
  }

  info(id: string): TenantInfo | undefined {
    const rec = this.table.get(id);
    return rec === undefined ? undefined : tenantInfo(rec, this.table.usage(id));
  }

  list(): TenantInfo[] {
    return this.table.list().map((r) => tenantInfo(r, this.table.usage(r.id)));
  }

  // ---- apply path -------------------------------------------------------------------------------

  /** A tenant op as a change inside mvcc's batch. Refusals are decided before the first write. */
  change(op: TenantOp): ExternalChange {
    return {
      apply: (ctx): ExternalOutcome => {
        if (op.type === 'delete') return this.applyDelete(op.id, ctx);
        const out = applyTenantOp(this.table, ctx.txn, op);
        if (!out.ok) return { ok: false, error: out.error };
        const value: TenantChangeValue = { info: tenantInfo(out.record, this.table.usage(op.id)), changed: out.changed, deleted: 0, revokedLeases: [] };
        return { ok: true, value };
      },
    };
  }

  private applyDelete(id: string, ctx: ExternalContext): ExternalOutcome {
    const deps = this.deps;
    if (deps === undefined) throw new TypeError('server: TenantManager used before wire()');
    if (!validTenantId(id)) return { ok: false, error: new TenantError('INVALID_TENANT_ID') };
    const rec = this.table.get(id);
    if (rec === undefined) return { ok: false, error: new TenantError('TENANT_NOT_FOUND') };
    // Checked: from here on nothing refuses, everything happens at this change's one revision.
    const usage = this.table.usage(id);
    const { key, rangeEnd } = tenantKeyRange(id);
    let deleted = ctx.deleteRange(key, rangeEnd);
    const revokedLeases: bigint[] = [];
    for (const lease of this.table.leasesOf(id)) {
      if (deps.leases.exists(lease)) {
        // Keys elsewhere attached to the tenant's lease (an administrator may attach any) go too,
        // as any revoke deletes them.
        const out = applyLeaseOp(deps.leases, { type: 'revoke', id: lease }, ctx);
        if (!out.ok) throw new Error(`server: revoking lease ${lease} of a deleted tenant failed (${out.error.code})`);
        if (out.value.type === 'revoke') deleted += out.value.deleted;
        revokedLeases.push(lease);
      }
      this.table.releaseLease(ctx.txn, lease);
    }
    // Its users and roles go in the same transaction, one auth revision bump: their tokens die.
    const purge = applyAuthOp(deps.auth, ctx.txn, { type: 'tenantPurge', tenant: id });
    if (!purge.ok) throw new Error(`server: purging the principals of a deleted tenant failed (${purge.error.code})`);
    const out = applyTenantOp(this.table, ctx.txn, { type: 'delete', id });
    if (!out.ok) throw new Error(`server: removing a checked tenant record failed (${out.error.code})`);
    // The usage row follows the deletions (the usage session records the keys' removal after this
    // change returns); the answer shows the usage the tenant had.
    const value: TenantChangeValue = { info: tenantInfo(rec, usage), changed: true, deleted, revokedLeases };
    return { ok: true, value };
  }

  /**
   * Wraps a lease op's change with tenant lease ownership: a grant by a principal of tenant
   * `tenant` (the entry's stamp) is refused with QUOTA_EXCEEDED (maxLeases) before anything is
   * written, else recorded as the tenant's; a revoke (by anyone, expiry included) releases it.
   */
  leaseChange(op: LeaseOp, tenant: string | undefined, inner: ExternalChange): ExternalChange {
    const owner = tenant !== undefined && validTenantId(tenant) ? tenant : undefined;
    if (op.type === 'checkpoint' || (op.type === 'grant' && owner === undefined)) return inner;
    return {
      apply: (ctx): ExternalOutcome => {
        if (op.type === 'grant' && owner !== undefined) {
          const refusal = this.table.checkUsage(owner, { keys: 0, bytes: 0, leases: 1 });
          if (refusal !== undefined) return { ok: false, error: refusal };
        }
        const out = inner.apply(ctx);
        if (!out.ok) return out;
        if (op.type === 'grant' && owner !== undefined) {
          const refusal = this.table.grantLease(ctx.txn, owner, op.id);
          if (refusal !== undefined) throw new Error('server: a checked lease grant was refused by the tenant table');
        } else if (op.type === 'revoke') {
          this.table.releaseLease(ctx.txn, op.id);
        }
        return out;
      },
    };
  }

  // ---- storage usage ----------------------------------------------------------------------------

  private beginUsage(request: ObservedRequest): UsageSession | undefined {
    switch (request.type) {
      case 'compaction':
        return undefined;
      case 'external':
        // Lease revokes and tenant deletions only delete keys: accounted, never refused.
        return new UsageSessionImpl(this.table, false);
      case 'put': {
        if (!hasPrefix(request.put.key, TENANTS_ROOT)) return undefined;
        const worst = new UsageDeltas();
        addWorstPut(worst, request.put);
        return new UsageSessionImpl(this.table, this.mayExceed(worst));
      }
      case 'deleteRange':
        return touchesTenants(request.deleteRange.key, request.deleteRange.rangeEnd) ? new UsageSessionImpl(this.table, false) : undefined;
      case 'txn': {
        const seen = { touches: false, worst: new UsageDeltas() };
        walkTxn(request.txn, seen);
        return seen.touches ? new UsageSessionImpl(this.table, this.mayExceed(seen.worst)) : undefined;
      }
    }
  }

  /**
   * Whether an entry growing each tenant by at most `worst` could hit a storage quota at the
   * usage the batch has reached. Only then does mvcc keep an undo log for it (a read before every
   * write): an entry far from every limit, the usual case, cannot be refused.
   */
  private mayExceed(worst: UsageDeltas): boolean {
    return worst.check(this.table) !== undefined;
  }
}

/**
 * The most a put can grow its tenant's usage: one key and its virtual key and value bytes (an
 * overwrite grows less; with ignore_value the value stays, so it grows by nothing).
 */
function addWorstPut(worst: UsageDeltas, put: PutRequest): void {
  worst.addKeyChange(put.key, undefined, put.ignoreValue ? 0 : put.value.length);
}

/** Both branches, nested (which branch runs is decided by mvcc later): every put counted at its worst. */
function walkTxn(txn: TxnRequest, seen: { touches: boolean; worst: UsageDeltas }): void {
  const visit = (op: RequestOp): void => {
    if (op.type === 'put') {
      if (!hasPrefix(op.put.key, TENANTS_ROOT)) return;
      seen.touches = true;
      addWorstPut(seen.worst, op.put);
    } else if (op.type === 'deleteRange') {
      if (touchesTenants(op.deleteRange.key, op.deleteRange.rangeEnd)) seen.touches = true;
    } else if (op.type === 'txn') {
      walkTxn(op.txn, seen);
    }
  };
  for (const op of txn.success) visit(op);
  for (const op of txn.failure) visit(op);
}

/** Whether etcd's range [key, rangeEnd) can hold a key under "/t/". */
function touchesTenants(key: Uint8Array, rangeEnd: Uint8Array): boolean {
  const iv = keyRangeInterval(key, rangeEnd);
  return iv !== undefined && intervalsOverlap(iv, TENANTS_INTERVAL);
}

/**
 * One entry's usage: the net change per tenant (UsageDeltas), checked against the quotas when the
 * entry may grow a limited tenant, then recorded in the batch's transaction.
 */
class UsageSessionImpl implements UsageSession {
  private readonly deltas = new UsageDeltas();
  constructor(
    private readonly table: TenantTable,
    readonly mayRefuse: boolean,
  ) {}

  keyChanged(key: Uint8Array, before: number | undefined, after: number | undefined): void {
    this.deltas.addKeyChange(key, before, after);
  }

  finish(txn: WriteTxn): TenantError | undefined {
    // Without a put into a limited tenant nothing can grow past a limit (only growth is checked),
    // so the check is skipped: mvcc could not take such an entry back (it kept no undo log).
    if (this.mayRefuse) {
      const refusal = this.deltas.check(this.table);
      if (refusal !== undefined) return refusal;
    }
    this.deltas.commit(this.table, txn);
    return undefined;
  }
}

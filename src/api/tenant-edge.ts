// The tenant edge (docs/tenancy-plan.md): for a request whose principal names a tenant, admission
// (the tenant exists and is active), the per-member limits (requests per second, open streams,
// watchers) and the KeyMapper that translates its keys in and out. Cluster principals pass through
// untouched and pay one property read.
//
// Admission here is a second fence, not the only one: the auth layer admits tenant principals too
// (and re-checks at apply). It is done here because the limits need the tenant's record anyway,
// and because a tenant principal must never reach a handler that has no translation for it.
// A tenant that does not exist answers as a forbidden request (A21: no way to learn which tenants
// exist); a suspended one answers "tenant is suspended".
import { AuthError, KeyMapper, TenantConcurrency, TenantError, TenantRateLimiter, type ConcurrencyKind, type RequestAuth, type TenantRecord } from '../server/index.js';

/** What the edge needs of the server: the tenant's record as applied on this member. */
export interface TenantRecords {
  tenantRecord(id: string): TenantRecord | undefined;
}

export interface TenantEdgeOptions {
  /** Milliseconds, for the request-rate buckets (injected in tests). */
  now?: () => number;
}

export class TenantEdge {
  private readonly rate: TenantRateLimiter;
  private readonly slots = new TenantConcurrency();
  private readonly mappers = new Map<string, KeyMapper>();

  constructor(
    private readonly records: TenantRecords,
    opts: TenantEdgeOptions = {},
  ) {
    this.rate = new TenantRateLimiter({ now: opts.now ?? Date.now });
  }

  /** The tenant a request acts for, or undefined for a cluster principal (or nobody). */
  static tenantOf(auth: RequestAuth | undefined): string | undefined {
    return auth?.principal?.tenant;
  }

  /**
   * Admits one request (a unary RPC, or the opening of a stream): the tenant must exist and be
   * active, and its request rate on this member must allow one more. Returns the tenant's record
   * (undefined for cluster principals). Throws AuthError PERMISSION_DENIED, TenantError
   * TENANT_SUSPENDED or TOO_MANY_REQUESTS.
   */
  admit(auth: RequestAuth | undefined): TenantRecord | undefined {
    const tenant = TenantEdge.tenantOf(auth);
    if (tenant === undefined) return undefined;
    const rec = this.record(tenant);
    const refused = this.rate.take(tenant, rec.quotas.maxRequestsPerSecond);
    if (refused !== undefined) throw refused;
    return rec;
  }

  /** The tenant's active record; refuses as admit does, without taking a request. */
  record(tenant: string): TenantRecord {
    const rec = this.records.tenantRecord(tenant);
    if (rec === undefined) {
      // Gone (or never there): drop what this member kept for it.
      this.rate.forget(tenant);
      this.slots.forget(tenant);
      this.mappers.delete(tenant);
      throw new AuthError('PERMISSION_DENIED');
    }
    if (rec.status !== 'active') throw new TenantError('TENANT_SUSPENDED');
    return rec;
  }

  /** The translation of a tenant principal's keys; undefined for a cluster principal. */
  mapper(auth: RequestAuth | undefined): KeyMapper | undefined {
    const tenant = TenantEdge.tenantOf(auth);
    if (tenant === undefined) return undefined;
    let m = this.mappers.get(tenant);
    if (m === undefined) {
      // An id that is not a tenant id cannot come from a verified identity that passed admission;
      // KeyMapper refuses it (INVALID_TENANT_ID) rather than build a prefix from it.
      m = new KeyMapper(tenant);
      this.mappers.set(tenant, m);
    }
    return m;
  }

  /**
   * Takes one stream or watcher slot of the tenant on this member, under its current limit.
   * Returns an idempotent release; throws TenantError TOO_MANY_REQUESTS (or the admission errors).
   */
  acquire(tenant: string, kind: ConcurrencyKind): () => void {
    const rec = this.record(tenant);
    const got = this.slots.acquire(tenant, kind, kind === 'streams' ? rec.quotas.maxStreams : rec.quotas.maxWatchers);
    if (!got.ok) throw got.error;
    return got.release;
  }

  /** Open streams and watchers of a tenant on this member. */
  openCounts(tenant: string): { streams: number; watchers: number } {
    return { streams: this.slots.count(tenant, 'streams'), watchers: this.slots.count(tenant, 'watchers') };
  }
}


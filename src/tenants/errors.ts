// The tenants error family. A TenantError is a refused request (or, for OUTSIDE_TENANT, a key that
// translation refused to let through); its code is stable and is what the api's one status table
// translates. Corrupt tenant records on disk and malformed log entries are plain Errors: fatal, as
// in mvcc, lease and auth.
//
// Messages never carry a key, a value or another tenant's name (GUARANTEES A21): a tenant
// principal reads them. The only detail a message may add is which of the caller's OWN limits was
// hit and its value.

export type TenantErrorCode =
  /** An id that is not [a-z0-9][a-z0-9-]{0,62}. */
  | 'INVALID_TENANT_ID'
  | 'TENANT_EXISTS'
  | 'TENANT_NOT_FOUND'
  /** The tenant is suspended: its principals' requests are refused and its watches closed. */
  | 'TENANT_SUSPENDED'
  /** A quota that is not a non-negative safe integer. */
  | 'INVALID_QUOTA'
  /** A storage quota (keys, bytes, leases) would be exceeded; decided at apply, deterministically. */
  | 'QUOTA_EXCEEDED'
  /** A rate or concurrency limit of the edge (requests per second, streams, watchers): HTTP 429. */
  | 'TOO_MANY_REQUESTS'
  /**
   * A key or range outside the tenant's keyspace reached the translation boundary. Always a bug
   * somewhere else; refused so that it fails closed. The message never names the key.
   */
  | 'OUTSIDE_TENANT';

/** The limits a tenant can hit, named as the quota fields. */
export type TenantLimit = 'maxKeys' | 'maxBytes' | 'maxLeases' | 'maxWatchers' | 'maxStreams' | 'maxRequestsPerSecond';

const MESSAGES: Record<TenantErrorCode, string> = {
  INVALID_TENANT_ID: 'tenants: invalid tenant id (1-63 characters of a-z, 0-9 and "-", not starting with "-")',
  TENANT_EXISTS: 'tenants: tenant already exists',
  TENANT_NOT_FOUND: 'tenants: tenant not found',
  TENANT_SUSPENDED: 'tenants: tenant is suspended',
  INVALID_QUOTA: 'tenants: invalid quota (quotas are non-negative integers; 0 means unlimited)',
  QUOTA_EXCEEDED: 'tenants: tenant quota exceeded',
  TOO_MANY_REQUESTS: 'tenants: too many requests for this tenant, retry later',
  OUTSIDE_TENANT: 'tenants: key outside the tenant keyspace',
};

const LIMIT_TEXT: Record<TenantLimit, string> = {
  maxKeys: 'keys',
  maxBytes: 'bytes stored',
  maxLeases: 'leases',
  maxWatchers: 'watchers',
  maxStreams: 'open streams',
  maxRequestsPerSecond: 'requests per second',
};

export class TenantError extends Error {
  override readonly name = 'TenantError';
  readonly code: TenantErrorCode;
  /** For QUOTA_EXCEEDED and TOO_MANY_REQUESTS: which limit, and its value. */
  readonly limit: TenantLimit | undefined;
  readonly limitValue: number | undefined;

  constructor(code: TenantErrorCode, limit?: { limit: TenantLimit; value: number }) {
    super(limit === undefined ? MESSAGES[code] : `${MESSAGES[code]}: ${LIMIT_TEXT[limit.limit]} (limit ${limit.value})`);
    this.code = code;
    this.limit = limit?.limit;
    this.limitValue = limit?.value;
  }
}

export function isTenantError(e: unknown, code?: TenantErrorCode): e is TenantError {
  return e instanceof TenantError && (code === undefined || e.code === code);
}

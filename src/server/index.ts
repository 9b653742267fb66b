export { KeywardServer, ETCD_API_VERSION, type ServerOptions, type InitialMember, type ServerLogger } from './keyward-server.js';
// The api layer serves watch streams the server opens; it sees their types through the server's surface.
export { WatchStream, type WatchMessage, type WatchHubStats } from '../watch/index.js';
export { ServerError, ClusterError, type ServerErrorCode } from './errors.js';
export { ForwardError } from './lease-forwarding.js';
export { memberIdFor, clusterIdFor } from './identity.js';
// The api layer translates mvcc's semantic errors; it sees them through the server's surface.
export { MvccError } from '../mvcc/index.js';
// ... and the lease module's refusals.
export { LeaseError } from '../lease/index.js';
// Authorization: the api resolves who is asking and hands it over with each request.
export { AuthError } from '../auth/index.js';
export type { Principal, RequestAuth, AuditLogger } from './auth.js';
export type { AuthService } from './auth-service.js';
// Tenants: the api translates keys at the edge and applies the per-member limits with these, so it
// keeps importing only `server` and `wire` (docs/tenancy-plan.md).
export {
  TenantError,
  isTenantError,
  validTenantId,
  tenantPrefix,
  UNLIMITED_QUOTAS,
  QUOTA_FIELDS,
  KeyMapper,
  rangeRequestToInternal,
  putRequestToInternal,
  deleteRangeRequestToInternal,
  compareToInternal,
  requestOpToInternal,
  txnRequestToInternal,
  watchCreateToInternal,
  keyValueToExternal,
  rangeResponseToExternal,
  putResponseToExternal,
  deleteRangeResponseToExternal,
  responseOpToExternal,
  txnResponseToExternal,
  watchEventToExternal,
  watchResponseToExternal,
  leaseTimeToLiveResponseToExternal,
  TenantRateLimiter,
  TenantConcurrency,
} from '../tenants/index.js';
export type {
  TenantErrorCode,
  TenantLimit,
  TenantQuotas,
  TenantUsage,
  TenantRecord,
  TenantStatus,
  KeyRange,
  TenantRateLimiterOptions,
  ConcurrencyKind,
  Acquired,
} from '../tenants/index.js';
export type { TenantInfo } from './tenants.js';
export { parseAutoCompaction } from './compactor.js';
export type { AutoCompactionConfig, AutoCompactionMode } from './compactor.js';

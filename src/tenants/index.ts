// Public surface of the tenants module: tenant ids and prefixes, key translation at the edge
// (KeyMapper and the request/response translators), the replicated tenant table and its Raft ops,
// storage quotas and usage, and the edge's rate and concurrency limits.
export { TenantError, isTenantError } from './errors.js';
export type { TenantErrorCode, TenantLimit } from './errors.js';
export { TENANT_ID_RE, MAX_TENANT_ID_LENGTH, TENANTS_ROOT, validTenantId, tenantPrefix, tenantKeyRange, tenantOfKey } from './prefix.js';
export { KeyMapper } from './keymap.js';
export type { KeyRange } from './keymap.js';
export {
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
} from './translate.js';
export { UNLIMITED_QUOTAS, ZERO_USAGE, QUOTA_FIELDS, copyQuotas, validateQuotas, keyDelta, addUsage, checkQuota, quotaApplies } from './quota.js';
export type { TenantQuotas, TenantUsage, UsageDelta } from './quota.js';
export { TenantTable, UsageDeltas, admitTenant } from './table.js';
export type { TenantRecord, TenantStatus } from './table.js';
export { applyTenantOp, encodeTenantOp, decodeTenantOp } from './ops.js';
export type { TenantOp, TenantOpType, TenantOpOutcome } from './ops.js';
export { TenantRateLimiter, TenantConcurrency } from './limits.js';
export type { TenantRateLimiterOptions, ConcurrencyKind, Acquired } from './limits.js';

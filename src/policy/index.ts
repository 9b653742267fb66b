// Policies as files (policies/README.md): parse and validate, plan against the live cluster,
// apply through the client SDK, export back to files.
export { PolicyError, isPolicyError, formatIssue, type PolicyErrorCode, type PolicyIssue } from './errors.js';
export {
  CLUSTER_SCOPE,
  QUOTA_NAMES,
  ROOT,
  TENANT_STATUSES,
  type AuthSource,
  type DesiredState,
  type LiveSnapshot,
  type Quotas,
  type QuotaName,
  type TenantRecord,
  type TenantSpec,
  type TenantStatus,
} from './model.js';
export { loadPolicyDir, parsePolicy, policyFiles, type PolicySource } from './parse.js';
export { computePlan, renderOp, renderPlan, withSecrets, type PlanOp, type PlanOptions } from './plan.js';
export { ClientBackend, readLive, type AuthApi, type Executor, type LiveState, type TenantApi } from './backend.js';
export { exportFiles } from './export.js';
export { Secret } from './secrets.js';
export { runPolicyApply, runPolicyExport, type ApplyOptions, type ApplyResult, type PolicyDeps } from './run.js';
export { ClientTenantApi } from './tenant-api.js';

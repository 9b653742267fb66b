// Public surface of the auth module: the durable auth table and the Raft ops that change it,
// permission checks, password hashing and policy, rate limiting, and signed tokens.
export { AuthTable, MAX_NAME_BYTES, ROOT, compareNames, comparePerms, validName } from './table.js';
export type { PermType, Permission, UserRecord, RoleRecord, AuthMeta } from './table.js';
export { applyAuthOp, authOpScope, encodeAuthOp, decodeAuthOp } from './ops.js';
export type { AuthOp, AuthOpType, AuthOpOutcome, ApplyAuthOptions } from './ops.js';
export {
  TENANT_SEPARATOR,
  ROOT_NAME,
  validScopedName,
  validClusterUserName,
  internalName,
  splitInternalName,
  tenantOfName,
  rootRoleOf,
  parseLoginName,
} from './names.js';
export { AuthChecker, authTokenValid, mergeIntervals, coversInterval } from './checker.js';
export { AuthError, isAuthError, AuthConfigError } from './errors.js';
export type { AuthErrorCode, AuthConfigErrorCode } from './errors.js';
export { PasswordHasher, ARGON2_OPTIONS, type PasswordHasherOptions } from './hasher.js';
export { checkPasswordPolicy, MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS } from './policy.js';
export { RateLimiter, type RateLimiterOptions } from './rate-limit.js';
export { TokenService, TOKEN_ISSUER, TOKEN_ALGORITHM, MAX_TOKEN_BYTES, CLOCK_TOLERANCE_SECONDS } from './tokens.js';
export type { TokenClaims, TokenServiceOptions } from './tokens.js';

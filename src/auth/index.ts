// Public surface of the auth module: the durable auth table and the Raft ops that change it,
// permission checks, password hashing and policy, rate limiting, and signed tokens.
export { AuthTable, MAX_NAME_BYTES, ROOT, compareNames, comparePerms, validName } from './table.js';
export type { PermType, Permission, UserRecord, RoleRecord, AuthMeta } from './table.js';
export { applyAuthOp, encodeAuthOp, decodeAuthOp } from './ops.js';
export type { AuthOp, AuthOpType, AuthOpOutcome } from './ops.js';
export { AuthChecker, authTokenValid, mergeIntervals, coversInterval } from './checker.js';
export { AuthError, isAuthError, AuthConfigError } from './errors.js';
export type { AuthErrorCode, AuthConfigErrorCode } from './errors.js';

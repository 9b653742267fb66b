// The auth error family. An AuthError is a refused request; its code names the matching entry of
// EtcdError in src/wire/errors.ts, which the api translates in its one table. Corrupt auth records
// on disk and malformed log entries are plain Errors: fatal, as in mvcc and lease.
import type { EtcdErrorName } from '../wire/index.js';

export type AuthErrorCode =
  | 'AUTH_NOT_ENABLED'
  | 'ROOT_USER_NOT_EXIST'
  | 'ROOT_ROLE_NOT_EXIST'
  | 'USER_ALREADY_EXIST'
  | 'ROLE_ALREADY_EXIST'
  | 'USER_EMPTY'
  | 'ROLE_EMPTY'
  | 'USER_NOT_FOUND'
  | 'ROLE_NOT_FOUND'
  | 'ROLE_NOT_GRANTED'
  | 'PERMISSION_NOT_GRANTED'
  | 'INVALID_AUTH_MGMT'
  | 'AUTH_FAILED'
  | 'NO_PASSWORD_USER'
  | 'INVALID_AUTH_TOKEN'
  | 'PERMISSION_DENIED'
  | 'AUTH_OLD_REVISION'
  | 'PASSWORD_TOO_SHORT'
  | 'TOO_MANY_AUTH_REQUESTS'
  | 'UNAUTHENTICATED'
  // A password longer than MAX_PASSWORD_CHARS (policy.ts): etcd's 400/3 "request is too large".
  | 'REQUEST_TOO_LARGE'
  // Tenant principals (names.ts, server/auth.ts): a suspended tenant, a cluster administrator naming
  // a tenant that does not exist, a name no record can have.
  | 'TENANT_SUSPENDED'
  | 'TENANT_NOT_FOUND'
  | 'INVALID_AUTH_NAME';

// Compile-time proof that every code has a wire translation.
const everyCodeIsAnEtcdError: AuthErrorCode extends EtcdErrorName ? true : never = true;
void everyCodeIsAnEtcdError;

// Messages are for logs and tests only; the client sees the EtcdError text of the code.
const MESSAGES: Record<AuthErrorCode, string> = {
  AUTH_NOT_ENABLED: 'auth: authentication is not enabled',
  ROOT_USER_NOT_EXIST: 'auth: root user does not exist',
  ROOT_ROLE_NOT_EXIST: 'auth: root user does not have root role',
  USER_ALREADY_EXIST: 'auth: user name already exists',
  ROLE_ALREADY_EXIST: 'auth: role name already exists',
  USER_EMPTY: 'auth: user name is empty',
  ROLE_EMPTY: 'auth: role name is empty',
  USER_NOT_FOUND: 'auth: user name not found',
  ROLE_NOT_FOUND: 'auth: role name not found',
  ROLE_NOT_GRANTED: 'auth: role is not granted to the user',
  PERMISSION_NOT_GRANTED: 'auth: permission is not granted to the role',
  INVALID_AUTH_MGMT: 'auth: invalid auth management',
  AUTH_FAILED: 'auth: authentication failed, invalid user ID or password',
  NO_PASSWORD_USER: 'auth: authentication failed, password was given for no password user',
  INVALID_AUTH_TOKEN: 'auth: invalid auth token',
  PERMISSION_DENIED: 'auth: permission denied',
  AUTH_OLD_REVISION: 'auth: revision of auth store is old',
  PASSWORD_TOO_SHORT: 'auth: password must be at least 8 characters',
  TOO_MANY_AUTH_REQUESTS: 'auth: too many authentication requests, retry later',
  UNAUTHENTICATED: 'auth: no verified identity',
  REQUEST_TOO_LARGE: 'auth: password is too long',
  TENANT_SUSPENDED: 'auth: tenant is suspended',
  TENANT_NOT_FOUND: 'auth: tenant not found',
  INVALID_AUTH_NAME: 'auth: invalid user or role name',
};

export class AuthError extends Error {
  override readonly name = 'AuthError';
  readonly code: AuthErrorCode;
  /** `cause` keeps the underlying reason (e.g. jose's error) for logs; it never reaches a client. */
  constructor(code: AuthErrorCode, options?: { cause?: unknown }) {
    super(MESSAGES[code], options);
    this.code = code;
  }
}

export function isAuthError(e: unknown, code?: AuthErrorCode): e is AuthError {
  return e instanceof AuthError && (code === undefined || e.code === code);
}

/**
 * Misconfiguration found while loading the token signing key: a startup error for the operator,
 * never an answer to a client.
 */
export type AuthConfigErrorCode = 'KEY_UNREADABLE' | 'KEY_INSECURE_PERMISSIONS' | 'KEY_INVALID';

export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
  readonly code: AuthConfigErrorCode;
  constructor(code: AuthConfigErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

// Errors as they cross the wire: etcd's envelope {"error","message","code"}, the gRPC status codes,
// and the exact etcd error strings (../shared/API.md section 4). Server modules keep their own
// error families; src/api translates them into these in one table, and src/client translates the
// envelope back into a typed error by its message.

export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

/** The body etcd's gateway sends for every error. `error` and `message` are always identical. */
export interface ErrorBody {
  error: string;
  message: string;
  code: number;
}

/**
 * Every etcd error Keyward can answer with, by a stable name. The name is Keyward's; the message
 * and code are etcd's, verbatim, so existing clients that match on them keep working.
 */
export const EtcdError = {
  KEY_NOT_PROVIDED: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: key is not provided' },
  KEY_NOT_FOUND: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: key not found' },
  VALUE_PROVIDED: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: value is provided' },
  LEASE_PROVIDED: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: lease is provided' },
  TOO_MANY_OPS: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: too many operations in txn request' },
  DUPLICATE_KEY: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: duplicate key given in txn request' },
  REQUEST_TOO_LARGE: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: request is too large' },
  FUTURE_REV: { code: GrpcCode.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision is a future revision' },
  COMPACTED: { code: GrpcCode.OUT_OF_RANGE, message: 'etcdserver: mvcc: required revision has been compacted' },
  NO_SPACE: { code: GrpcCode.RESOURCE_EXHAUSTED, message: 'etcdserver: mvcc: database space exceeded' },
  LEASE_NOT_FOUND: { code: GrpcCode.NOT_FOUND, message: 'etcdserver: requested lease not found' },
  /** Observed: grant with the ID of a live lease. */
  LEASE_EXISTS: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: lease already exists' },
  /** Observed: grant with a TTL above 9,000,000,000 s. */
  LEASE_TTL_TOO_LARGE: { code: GrpcCode.OUT_OF_RANGE, message: 'etcdserver: too large lease TTL' },
  STOPPED: { code: GrpcCode.UNAVAILABLE, message: 'etcdserver: server stopped' },
  TIMEOUT: { code: GrpcCode.UNAVAILABLE, message: 'etcdserver: request timed out' },
  /** Observed: lease keep-alive / time-to-live while no leader is elected (after the request timeout). */
  NO_LEADER: { code: GrpcCode.UNAVAILABLE, message: 'etcdserver: no leader' },
  INTERNAL: { code: GrpcCode.INTERNAL, message: 'keyward: internal error' },
  // Auth (API.md section 4 catalogue, observed on etcd 3.4.23).
  AUTH_NOT_ENABLED: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: authentication is not enabled' },
  ROOT_USER_NOT_EXIST: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: root user does not exist' },
  ROOT_ROLE_NOT_EXIST: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: root user does not have root role' },
  USER_ALREADY_EXIST: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: user name already exists' },
  ROLE_ALREADY_EXIST: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: role name already exists' },
  USER_EMPTY: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: user name is empty' },
  ROLE_EMPTY: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: role name is empty' },
  USER_NOT_FOUND: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: user name not found' },
  ROLE_NOT_FOUND: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: role name not found' },
  ROLE_NOT_GRANTED: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: role is not granted to the user' },
  PERMISSION_NOT_GRANTED: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: permission is not granted to the role' },
  INVALID_AUTH_MGMT: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: invalid auth management' },
  AUTH_FAILED: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: authentication failed, invalid user ID or password' },
  NO_PASSWORD_USER: { code: GrpcCode.UNKNOWN, message: 'auth: authentication failed, password was given for no password user' },
  INVALID_AUTH_TOKEN: { code: GrpcCode.UNAUTHENTICATED, message: 'etcdserver: invalid auth token' },
  PERMISSION_DENIED: { code: GrpcCode.PERMISSION_DENIED, message: 'etcdserver: permission denied' },
  AUTH_OLD_REVISION: { code: GrpcCode.INVALID_ARGUMENT, message: 'etcdserver: revision of auth store is old' },
  /** Keyward: etcd 3.4 accepts any password, even an empty one (CVE-2020-15115). */
  PASSWORD_TOO_SHORT: { code: GrpcCode.INVALID_ARGUMENT, message: 'keyward: password must be at least 8 characters' },
  /** Keyward: authenticate is rate limited per user and per client address. */
  TOO_MANY_AUTH_REQUESTS: { code: GrpcCode.RESOURCE_EXHAUSTED, message: 'keyward: too many authentication attempts, retry later' },
  /** Keyward: a request needs a verified identity (client certificate or token) and came with none. */
  UNAUTHENTICATED: { code: GrpcCode.UNAUTHENTICATED, message: 'keyward: no verified identity (client certificate or token)' },
  // Tenants (docs/tenancy-plan.md).
  /** Keyward: every request of a principal of a suspended tenant (a deleted one answers PERMISSION_DENIED, A21). */
  TENANT_SUSPENDED: { code: GrpcCode.PERMISSION_DENIED, message: 'keyward: tenant is suspended' },
  /** Keyward: a cluster administrator named a tenant that does not exist. */
  TENANT_NOT_FOUND: { code: GrpcCode.NOT_FOUND, message: 'keyward: tenant not found' },
  /** Keyward: user and role names may not contain control characters, cluster user names no "/" (src/auth/names.ts). */
  INVALID_AUTH_NAME: { code: GrpcCode.INVALID_ARGUMENT, message: 'keyward: invalid user or role name (no control characters; no "/" in a cluster user name)' },
} as const satisfies Record<string, { code: GrpcCode; message: string }>;
export type EtcdErrorName = keyof typeof EtcdError;

/**
 * The message etcd's gateway sends when a body exceeds the gRPC receive limit. The numbers are
 * part of the text, so it is built rather than looked up.
 */
export function messageTooLarge(received: number, max: number): string {
  return `grpc: received message larger than max (${received} vs. ${max})`;
}

export function errorBody(code: number, message: string): ErrorBody {
  return { error: message, message, code };
}

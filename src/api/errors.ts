import {
  AuthError,
  ClusterError,
  LeaseError,
  MvccError,
  ServerError,
  TenantError,
  type ServerErrorCode,
  type TenantErrorCode,
  type TenantLimit,
} from '../server/index.js';
import { DecodeError, EtcdClusterError, EtcdError, GrpcCode, errorBody, messageTooLarge, type ErrorBody } from '../wire/index.js';
import { BodyTooLargeError } from './body.js';

// The one table from module errors to what goes on the wire: every status code the API answers
// with comes from here. HTTP statuses follow grpc-gateway's mapping as observed on etcd 3.4.

const HTTP_STATUS_BY_GRPC: Record<number, number> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.CANCELLED]: 499,
  [GrpcCode.UNKNOWN]: 500,
  [GrpcCode.INVALID_ARGUMENT]: 400,
  [GrpcCode.DEADLINE_EXCEEDED]: 504,
  [GrpcCode.NOT_FOUND]: 404,
  [GrpcCode.ALREADY_EXISTS]: 409,
  [GrpcCode.PERMISSION_DENIED]: 403,
  [GrpcCode.RESOURCE_EXHAUSTED]: 429,
  [GrpcCode.FAILED_PRECONDITION]: 412,
  [GrpcCode.ABORTED]: 409,
  [GrpcCode.OUT_OF_RANGE]: 400,
  [GrpcCode.UNIMPLEMENTED]: 501,
  [GrpcCode.INTERNAL]: 500,
  [GrpcCode.UNAVAILABLE]: 503,
  [GrpcCode.DATA_LOSS]: 500,
  [GrpcCode.UNAUTHENTICATED]: 401,
};

const SERVER_ERRORS: Record<ServerErrorCode, keyof typeof EtcdError> = {
  STOPPED: 'STOPPED',
  REQUEST_TOO_LARGE: 'REQUEST_TOO_LARGE',
  NO_SPACE: 'NO_SPACE',
  TIMEOUT: 'TIMEOUT',
  NO_LEADER: 'NO_LEADER',
};

// Tenant refusals (docs/tenancy-plan.md). Storage quotas and edge limits are gRPC's
// RESOURCE_EXHAUSTED, which etcd's gateway answers 429 (as its "database space exceeded"); an
// existing id is FAILED_PRECONDITION as etcd's "user name already exists"; a key outside the
// tenant is a translation bug, answered as a plain permission denial (naming nothing) and logged.
const TENANT_ERRORS: Record<Exclude<TenantErrorCode, 'QUOTA_EXCEEDED' | 'TOO_MANY_REQUESTS'>, { code: number; message: string; internal?: boolean }> = {
  INVALID_TENANT_ID: { code: GrpcCode.INVALID_ARGUMENT, message: 'keyward: invalid tenant id (1-63 characters of a-z, 0-9 and "-", not starting with "-")' },
  INVALID_QUOTA: { code: GrpcCode.INVALID_ARGUMENT, message: 'keyward: invalid quota (quotas are non-negative integers; 0 means unlimited)' },
  TENANT_EXISTS: { code: GrpcCode.FAILED_PRECONDITION, message: 'keyward: tenant already exists' },
  TENANT_NOT_FOUND: { code: GrpcCode.NOT_FOUND, message: 'keyward: tenant not found' },
  TENANT_SUSPENDED: { code: GrpcCode.PERMISSION_DENIED, message: 'keyward: tenant is suspended' },
  OUTSIDE_TENANT: { code: GrpcCode.PERMISSION_DENIED, message: EtcdError.PERMISSION_DENIED.message, internal: true },
};

/** The edge limits' messages, by the limit that was reached. */
const EDGE_LIMIT_MESSAGES: Partial<Record<TenantLimit, string>> = {
  maxRequestsPerSecond: 'keyward: tenant request rate exceeded',
  maxStreams: 'keyward: tenant stream limit reached',
  maxWatchers: 'keyward: tenant watcher limit reached',
};

function tenantFailure(err: TenantError): WireFailure {
  if (err.code === 'QUOTA_EXCEEDED') return known(GrpcCode.RESOURCE_EXHAUSTED, `keyward: tenant quota exceeded: ${err.limit ?? 'quota'} (${err.limitValue ?? 0})`);
  if (err.code === 'TOO_MANY_REQUESTS') {
    return known(GrpcCode.RESOURCE_EXHAUSTED, (err.limit !== undefined ? EDGE_LIMIT_MESSAGES[err.limit] : undefined) ?? 'keyward: tenant request rate exceeded');
  }
  const e = TENANT_ERRORS[err.code];
  return known(e.code, e.message, e.internal === true);
}

export interface WireFailure {
  status: number;
  body: ErrorBody;
  /** True when the error is not the client's fault and deserves a log line. */
  internal: boolean;
}

export function httpStatusFor(grpcCode: number): number {
  return HTTP_STATUS_BY_GRPC[grpcCode] ?? 500;
}

function known(code: number, message: string, internal = false): WireFailure {
  return { status: httpStatusFor(code), body: errorBody(code, message), internal };
}

/**
 * A watch create refused at once, for transports that answer it as an HTTP error (server-sent
 * events): a refusal of the caller keeps its code (permission denied 403/7, invalid token 401/16,
 * a tenant limit 429/8, a suspended tenant 403/7), anything else is a bad request (an empty range,
 * a compacted or negative revision: 400/3).
 */
export function refusedWatchFailure(reason: string): WireFailure {
  // Only refusals of who is asking keep their code; a compacted or negative start is a bad
  // parameter of this request (400/3), as before.
  for (const e of Object.values(EtcdError)) if (e.message === reason && (e.code === GrpcCode.PERMISSION_DENIED || e.code === GrpcCode.UNAUTHENTICATED)) return known(e.code, reason);
  for (const m of Object.values(EDGE_LIMIT_MESSAGES)) if (m === reason) return known(GrpcCode.RESOURCE_EXHAUSTED, reason);
  if (reason === TENANT_ERRORS.TENANT_SUSPENDED.message) return known(GrpcCode.PERMISSION_DENIED, reason);
  return known(GrpcCode.INVALID_ARGUMENT, reason);
}

/**
 * Translates any error thrown while serving a request. `streaming` selects etcd's stream-endpoint
 * behaviour, where decode errors are code 2 (UNKNOWN) rather than 3.
 */
export function toWireFailure(err: unknown, maxMessageBytes: number, streaming = false): WireFailure {
  if (err instanceof DecodeError) {
    return known(streaming ? GrpcCode.UNKNOWN : GrpcCode.INVALID_ARGUMENT, err.message);
  }
  if (err instanceof MvccError) {
    const e = EtcdError[err.code];
    return known(e.code, e.message);
  }
  if (err instanceof ServerError) {
    const e = EtcdError[SERVER_ERRORS[err.code]];
    return known(e.code, e.message, err.code === 'STOPPED');
  }
  if (err instanceof LeaseError) {
    // NOT_PRIMARY reaches a client only when a forwarded lease request found this member no
    // longer leading; the forwarding member retries elsewhere.
    const e = err.code === 'NOT_PRIMARY' ? EtcdClusterError.NOT_LEADER : EtcdError[err.code];
    return known(e.code, e.message);
  }
  if (err instanceof AuthError) {
    const e = EtcdError[err.code];
    return known(e.code, e.message);
  }
  if (err instanceof ClusterError) {
    const e = EtcdClusterError[err.code];
    return known(e.code, e.message);
  }
  if (err instanceof TenantError) return tenantFailure(err);
  if (err instanceof BodyTooLargeError) {
    // etcd counts the decoded protobuf message; base64 makes the JSON about 4/3 of that.
    return known(GrpcCode.RESOURCE_EXHAUSTED, messageTooLarge(Math.ceil((err.received * 3) / 4), maxMessageBytes));
  }
  const e = EtcdError.INTERNAL;
  return known(e.code, e.message, true);
}

import { AuthError, ClusterError, LeaseError, MvccError, ServerError, type ServerErrorCode } from '../server/index.js';
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
  if (err instanceof BodyTooLargeError) {
    // etcd counts the decoded protobuf message; base64 makes the JSON about 4/3 of that.
    return known(GrpcCode.RESOURCE_EXHAUSTED, messageTooLarge(Math.ceil((err.received * 3) / 4), maxMessageBytes));
  }
  const e = EtcdError.INTERNAL;
  return known(e.code, e.message, true);
}

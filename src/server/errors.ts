import type { EtcdClusterErrorName } from '../wire/index.js';

// Errors raised by the server layer itself (as opposed to mvcc's semantic errors). The api layer
// maps each code to etcd's wire error in its one table.

/**
 * STOPPED: the member is closing or was removed from the cluster; TIMEOUT: the request's entry was
 * not applied (or its read point not confirmed) in time, e.g. no leader or the leader died;
 * NO_LEADER: a request only the leader can answer (lease renewal, time-to-live) found none in time.
 */
export type ServerErrorCode = 'STOPPED' | 'REQUEST_TOO_LARGE' | 'NO_SPACE' | 'TIMEOUT' | 'NO_LEADER';

export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    readonly code: ServerErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}

/** Membership and leader-transfer refusals; codes are the wire's names for etcd's errors. */
export class ClusterError extends Error {
  override readonly name = 'ClusterError';
  constructor(
    readonly code: EtcdClusterErrorName,
    message: string = code,
  ) {
    super(message);
  }
}

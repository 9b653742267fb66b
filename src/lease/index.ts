// Public surface of the lease module: the durable lease table, the leader-side lessor (pure, with
// an injected clock), and the Raft ops that change leases.
export { LeaseTable, type LeaseRecord } from './table.js';
export { Lessor, type LessorOptions, type RenewResult, type LeaseView } from './lessor.js';
export { applyLeaseOp, encodeLeaseOp, decodeLeaseOp } from './ops.js';
export type { LeaseOp, LeaseCheckpoint, LeaseOpValue, LeaseOpOutcome, LeaseApplyContext } from './ops.js';
export { LeaseError, isLeaseError, type LeaseErrorCode } from './errors.js';
export { MAX_LEASE_TTL, minLeaseTtl } from './limits.js';
export { TimeQueue } from './heap.js';

// The lease error family. A LeaseError is a refused request; its code names the matching entry of
// EtcdError in src/wire/errors.ts (the api translates it in its one table), except NOT_PRIMARY,
// which is internal: this member's lessor is not the primary (the leader's) one, so the request
// must go to the leader. Corrupt lease records on disk are plain Errors: fatal, as in mvcc.
import type { EtcdErrorName } from '../wire/index.js';

export type LeaseErrorCode = 'LEASE_NOT_FOUND' | 'LEASE_EXISTS' | 'LEASE_TTL_TOO_LARGE' | 'NOT_PRIMARY';

// Compile-time proof that every client-facing code has a wire translation.
const everyCodeIsAnEtcdError: Exclude<LeaseErrorCode, 'NOT_PRIMARY'> extends EtcdErrorName ? true : never = true;
void everyCodeIsAnEtcdError;

const MESSAGES: Record<LeaseErrorCode, string> = {
  LEASE_NOT_FOUND: 'lease: requested lease not found',
  LEASE_EXISTS: 'lease: lease already exists',
  LEASE_TTL_TOO_LARGE: 'lease: too large lease TTL',
  NOT_PRIMARY: 'lease: not a primary lessor',
};

export class LeaseError extends Error {
  override readonly name = 'LeaseError';
  readonly code: LeaseErrorCode;
  constructor(code: LeaseErrorCode) {
    super(MESSAGES[code]);
    this.code = code;
  }
}

export function isLeaseError(e: unknown, code?: LeaseErrorCode): e is LeaseError {
  return e instanceof LeaseError && (code === undefined || e.code === code);
}

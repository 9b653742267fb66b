// The mvcc error family. `MvccError` is a rejected request (untrusted input or state that does not
// allow it): its code names the matching entry of EtcdError in src/wire/errors.ts, where src/api
// finds the wire message and status. `CorruptError` means bytes on disk cannot be what this module
// wrote: it is fatal, never converted into a response. Misuse by the caller throws TypeError.
import type { EtcdErrorName } from '../wire/index.js';

export type MvccErrorCode =
  | 'KEY_NOT_PROVIDED'
  | 'KEY_NOT_FOUND'
  | 'VALUE_PROVIDED'
  | 'LEASE_PROVIDED'
  /** A put (or a txn put on the taken branch) names a lease that does not exist at apply time. */
  | 'LEASE_NOT_FOUND'
  | 'TOO_MANY_OPS'
  | 'DUPLICATE_KEY'
  | 'FUTURE_REV'
  | 'COMPACTED'
  /** A key or range end too long to index (LMDB's key limit); see MAX_KEY_LENGTH. */
  | 'REQUEST_TOO_LARGE';

// Compile-time proof that every code has a wire translation.
const everyCodeIsAnEtcdError: MvccErrorCode extends EtcdErrorName ? true : never = true;
void everyCodeIsAnEtcdError;

const MESSAGES: Record<MvccErrorCode, string> = {
  KEY_NOT_PROVIDED: 'mvcc: key is not provided',
  KEY_NOT_FOUND: 'mvcc: key not found',
  VALUE_PROVIDED: 'mvcc: value is provided',
  LEASE_PROVIDED: 'mvcc: lease is provided',
  LEASE_NOT_FOUND: 'mvcc: requested lease not found',
  TOO_MANY_OPS: 'mvcc: too many operations in txn request',
  DUPLICATE_KEY: 'mvcc: duplicate key given in txn request',
  FUTURE_REV: 'mvcc: required revision is a future revision',
  COMPACTED: 'mvcc: required revision has been compacted',
  REQUEST_TOO_LARGE: 'mvcc: key is too large',
};

export class MvccError extends Error {
  readonly code: MvccErrorCode;
  constructor(code: MvccErrorCode) {
    super(MESSAGES[code]);
    this.name = 'MvccError';
    this.code = code;
  }
}

export class CorruptError extends Error {
  constructor(message: string) {
    super(`mvcc: corrupt data on disk: ${message}`);
    this.name = 'CorruptError';
  }
}

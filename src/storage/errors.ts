// Storage's error family. Misuse (empty key, write outside a transaction, use after close) throws
// TypeError instead: those are bugs in the caller, not conditions to handle.

export type StorageErrorCode =
  /** The data directory path exists but is not a directory. */
  | 'NOT_A_DIRECTORY'
  /** The data directory cannot be created, read or written by this process. */
  | 'NOT_ACCESSIBLE'
  /** The data directory or a file in it is accessible to other users (must be 0700 / 0600). */
  | 'INSECURE_PERMISSIONS'
  /** The data directory or a file in it belongs to another user than the one running this process. */
  | 'FOREIGN_OWNER'
  /** LMDB refused to open the environment (e.g. not an LMDB file, lock file unusable, wrong directory). */
  | 'OPEN_FAILED'
  /**
   * Stored data failed a check (checksum, structure, a hole in the Raft log, inconsistent
   * bookkeeping). Fatal: the member must stop and be repaired or re-synced; it never applies or
   * serves the data (GUARANTEES D11).
   */
  | 'CORRUPT';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

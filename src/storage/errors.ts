// Storage's error family. Misuse (empty key, write outside a transaction, use after close) throws
// TypeError instead: those are bugs in the caller, not conditions to handle.

export type StorageErrorCode =
  /** The data directory path exists but is not a directory. */
  | 'NOT_A_DIRECTORY'
  /** The data directory cannot be created, read or written by this process. */
  | 'NOT_ACCESSIBLE'
  /** The data directory or a file in it is accessible to other users (must be 0700 / 0600). */
  | 'INSECURE_PERMISSIONS'
  /** LMDB refused to open the environment (e.g. not an LMDB file, lock file unusable). */
  | 'OPEN_FAILED';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}

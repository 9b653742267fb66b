// Errors raised by the server layer itself (as opposed to mvcc's semantic errors). The api layer
// maps each code to etcd's wire error in its one table.

export type ServerErrorCode = 'STOPPED' | 'REQUEST_TOO_LARGE' | 'NO_SPACE';

export class ServerError extends Error {
  override readonly name = 'ServerError';
  constructor(
    readonly code: ServerErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}

// The watch error family. Misuse by the caller (the server or api layer: a revision out of order,
// a bad option) throws TypeError. A client's bad watch request is never an exception: etcd answers
// it inside the stream (a created+canceled response with a cancel_reason), and so does WatchStream.
// WatchError is what a caller can meet at run time:
//
// - `CLOSED`: the hub was closed (the member is shutting down); no new stream can be opened.
// - `HISTORY_FAILED`: a catch-up read from the store failed for a reason other than compaction
//   (corrupt data, a closed store). The hub cannot keep its promise of no gaps, so it closes every
//   stream and reports the error through `onFatal`; clients reconnect and resume elsewhere.

export type WatchErrorCode = 'CLOSED' | 'HISTORY_FAILED';

const MESSAGES: Record<WatchErrorCode, string> = {
  CLOSED: 'watch: the watch hub is closed',
  HISTORY_FAILED: 'watch: reading the change history for catch-up failed',
};

export class WatchError extends Error {
  override readonly name = 'WatchError';
  readonly code: WatchErrorCode;
  constructor(code: WatchErrorCode, options?: { cause?: unknown }) {
    super(MESSAGES[code], options);
    this.code = code;
  }
}

// The raft module's one error family. Expected conditions that a driver must
// handle carry a stable `code`; misuse of the API throws TypeError; a broken
// invariant (corrupt log, impossible state) throws a plain Error and is fatal.

export type RaftErrorCode =
  /** The proposal was not appended: no leader known, leadership transfer in progress, conf change refused, size limit. */
  | 'ProposalDropped'
  /** A local-only message (hup, beat, ...) was handed to step() as if it came from the network. */
  | 'StepLocalMsg'
  /** A response message came from a node that has no progress entry (not a member). */
  | 'StepPeerNotFound'
  /** Storage: the requested index is older than the first retained entry. */
  | 'Compacted'
  /** Storage: the requested index is beyond the last entry. */
  | 'Unavailable'
  /** Storage: the snapshot is older than the one already held. */
  | 'SnapOutOfDate'
  /** Storage: a snapshot is being produced; the leader retries later. */
  | 'SnapshotTemporarilyUnavailable';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  constructor(code: RaftErrorCode, message?: string) {
    super(message === undefined ? `raft: ${code}` : `raft: ${code}: ${message}`);
    this.name = 'RaftError';
    this.code = code;
  }
}

export function isRaftError(e: unknown, code?: RaftErrorCode): e is RaftError {
  return e instanceof RaftError && (code === undefined || e.code === code);
}

// Public surface of the raft module: a pure, deterministic Raft core in the
// shape of etcd-io/raft's RawNode. It imports nothing; see docs/raft.md.

export { RawNode } from './rawnode.js';
export type { Ready, Status, ProgressStatus, SnapshotStatus } from './rawnode.js';
export { NOOP_LOGGER } from './raft.js';
export type { RaftConfig, Logger } from './raft.js';
export { MemoryStorage } from './storage.js';
export type { Storage, InitialState } from './storage.js';
export { MESSAGE_KINDS } from './messages.js';
export type {
  Message,
  MessageType,
  MessageKind,
  MsgHup,
  MsgBeat,
  MsgCheckQuorum,
  MsgUnreachable,
  MsgSnapStatus,
  MsgProp,
  MsgApp,
  MsgAppResp,
  MsgVote,
  MsgVoteResp,
  MsgPreVote,
  MsgPreVoteResp,
  MsgSnap,
  MsgHeartbeat,
  MsgHeartbeatResp,
  MsgTransferLeader,
  MsgTimeoutNow,
  MsgReadIndex,
  MsgReadIndexResp,
} from './messages.js';
export { RaftError, isRaftError } from './errors.js';
export type { RaftErrorCode } from './errors.js';
export { encodeConfChange, decodeConfChange } from './confchange_codec.js';
export { NONE, EMPTY_HARD_STATE, isEmptyHardState, isEmptySnapshot } from './types.js';
export type {
  NodeId,
  Entry,
  EntryType,
  HardState,
  ConfState,
  Snapshot,
  SnapshotMetadata,
  SoftState,
  RaftRole,
  ReadState,
  ConfChange,
  ConfChangeType,
} from './types.js';
export { entrySize, ENTRY_OVERHEAD } from './util.js';

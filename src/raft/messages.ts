// Raft messages: one discriminated union keyed by `type`.
//
// `term` is the sender's term, with two exceptions that mirror the protocol:
//  - 'prop' and 'readIndex' carry term 0: they are requests forwarded to the
//    leader and are treated like local input there;
//  - vote requests/responses carry the term of the election ('preVote' is sent
//    for term+1 without the sender changing its own term).
// Local messages (MESSAGE_KINDS[type].local) are produced and consumed inside
// one node and never cross the network.

import type { Entry, NodeId, Snapshot } from './types.js';

interface Base<T extends string> {
  readonly type: T;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** Local: start an election (tick timeout or RawNode.campaign). */
export interface MsgHup extends Base<'hup'> {}
/** Local: the leader's heartbeat timer fired. */
export interface MsgBeat extends Base<'beat'> {}
/** Local: the leader checks it heard from a quorum within an election timeout. */
export interface MsgCheckQuorum extends Base<'checkQuorum'> {}
/** Local: the transport could not reach `from`. */
export interface MsgUnreachable extends Base<'unreachable'> {}
/** Local: outcome of sending a snapshot to `from`. */
export interface MsgSnapStatus extends Base<'snapStatus'> {
  readonly reject: boolean;
}

/** A proposal; forwarded by followers to the leader. Entries have term/index 0 until the leader appends them. */
export interface MsgProp extends Base<'prop'> {
  readonly entries: readonly Entry[];
}

/** AppendEntries: `entries` follow the entry at (`index`, `logTerm`); `commit` is the leader's commit index. */
export interface MsgApp extends Base<'app'> {
  readonly index: number;
  readonly logTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * AppendEntries response. On success `index` is the follower's last index
 * matching the leader. On rejection `index` is the rejected append's prev index,
 * and (`rejectHint`, `logTerm`) is the follower's guess of the largest entry
 * that may match: the fast back-off hint.
 */
export interface MsgAppResp extends Base<'appResp'> {
  readonly index: number;
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly logTerm: number;
}

/** RequestVote for `term`; (`index`, `logTerm`) is the candidate's last entry. `transfer` bypasses leader leases. */
export interface MsgVote extends Base<'vote'> {
  readonly index: number;
  readonly logTerm: number;
  readonly transfer: boolean;
}
export interface MsgVoteResp extends Base<'voteResp'> {
  readonly reject: boolean;
}
/** Pre-vote: "would you vote for me at `term`?" Nobody changes term or vote because of it. */
export interface MsgPreVote extends Base<'preVote'> {
  readonly index: number;
  readonly logTerm: number;
}
export interface MsgPreVoteResp extends Base<'preVoteResp'> {
  readonly reject: boolean;
}

/** InstallSnapshot. */
export interface MsgSnap extends Base<'snap'> {
  readonly snapshot: Snapshot;
}

/** `commit` is min(follower's match, leader commit); `context` carries a pending ReadIndex request. */
export interface MsgHeartbeat extends Base<'heartbeat'> {
  readonly commit: number;
  readonly context: Uint8Array | null;
}
export interface MsgHeartbeatResp extends Base<'heartbeatResp'> {
  readonly context: Uint8Array | null;
}

/** Ask the leader to hand leadership to `transferee`; followers forward it. */
export interface MsgTransferLeader extends Base<'transferLeader'> {
  readonly transferee: NodeId;
}
/** Leader → transferee: campaign now, without pre-vote and ignoring leases. */
export interface MsgTimeoutNow extends Base<'timeoutNow'> {}

/** ReadIndex request; followers forward it to the leader. */
export interface MsgReadIndex extends Base<'readIndex'> {
  readonly context: Uint8Array;
}
export interface MsgReadIndexResp extends Base<'readIndexResp'> {
  readonly index: number;
  readonly context: Uint8Array;
}

export type Message =
  | MsgHup
  | MsgBeat
  | MsgCheckQuorum
  | MsgUnreachable
  | MsgSnapStatus
  | MsgProp
  | MsgApp
  | MsgAppResp
  | MsgVote
  | MsgVoteResp
  | MsgPreVote
  | MsgPreVoteResp
  | MsgSnap
  | MsgHeartbeat
  | MsgHeartbeatResp
  | MsgTransferLeader
  | MsgTimeoutNow
  | MsgReadIndex
  | MsgReadIndexResp;

export type MessageType = Message['type'];

export interface MessageKind {
  /** Never crosses the network; RawNode.step refuses it. */
  readonly local: boolean;
  /** Answers a request from the leader/candidate; only accepted from known members. */
  readonly response: boolean;
}

/** The one table of which message types are local and which are responses. */
export const MESSAGE_KINDS: { readonly [T in MessageType]: MessageKind } = {
  hup: { local: true, response: false },
  beat: { local: true, response: false },
  checkQuorum: { local: true, response: false },
  unreachable: { local: true, response: true },
  snapStatus: { local: true, response: true },
  prop: { local: false, response: false },
  app: { local: false, response: false },
  appResp: { local: false, response: true },
  vote: { local: false, response: false },
  voteResp: { local: false, response: true },
  preVote: { local: false, response: false },
  preVoteResp: { local: false, response: true },
  snap: { local: false, response: false },
  heartbeat: { local: false, response: false },
  heartbeatResp: { local: false, response: true },
  transferLeader: { local: false, response: false },
  timeoutNow: { local: false, response: false },
  readIndex: { local: false, response: false },
  readIndexResp: { local: false, response: true },
};

/** Omit that distributes over a union, so each variant keeps its own fields. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A message being built inside raft: `from` and (usually) `term` are filled in by the sender. */
export type MessageDraft = DistributiveOmit<Message, 'from' | 'term'> & { readonly term?: number };

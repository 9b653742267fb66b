// Core value types of the Raft state machine. Everything here is plain data:
// the driver persists, sends and applies it; raft never performs I/O itself.

/**
 * A member ID. etcd member IDs are 64-bit unsigned integers, which do not fit
 * a JS number, so they are bigints. `NONE` (0n) means "no node" (no leader, no
 * vote) and is never a valid member ID.
 */
export type NodeId = bigint;
export const NONE: NodeId = 0n;

/** 'normal' entries carry opaque application data; 'confChange' entries carry an encoded ConfChange. */
export type EntryType = 'normal' | 'confChange';

/**
 * One log entry. Entries are immutable once created: the same object may be
 * referenced from the unstable log, a Ready, a message in flight and storage.
 * Invariant (log matching): two logs holding an entry with the same (index, term)
 * hold identical entries at every index up to and including it.
 */
export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** Opaque to raft for 'normal'; `encodeConfChange` output for 'confChange'. */
  readonly data: Uint8Array;
}

/**
 * The state that must be durable before any message produced together with it
 * is sent: the current term and the vote cast in it (so a restarted voter never
 * votes twice in a term), and the commit index (an optimisation: it may lag).
 */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: NONE, commit: 0 };

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/** The membership: who votes, who only learns. Both lists are sorted ascending. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export interface SnapshotMetadata {
  /** Index of the last entry the snapshot covers. */
  readonly index: number;
  /** Term of that entry. */
  readonly term: number;
  /** Membership as of `index` (after applying every conf change up to it). */
  readonly confState: ConfState;
}

export interface Snapshot {
  /** Opaque to raft: the application's serialized state machine. */
  readonly data: Uint8Array;
  readonly metadata: SnapshotMetadata;
}

export function isEmptySnapshot(s: Snapshot): boolean {
  return s.metadata.index === 0;
}

export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state, useful for the driver (who leads?) but never persisted. */
export interface SoftState {
  readonly lead: NodeId;
  readonly role: RaftRole;
}

/**
 * The answer to a ReadIndex request: once the local state machine has applied
 * `index`, a read issued with `requestCtx` may be served locally and is
 * linearizable.
 */
export interface ReadState {
  readonly index: number;
  readonly requestCtx: Uint8Array;
}

/**
 * Membership changes, applied one at a time (see docs/raft.md):
 * - addNode: add a voter, or promote an existing learner to voter;
 * - addLearnerNode: add a learner (a voter is demoted);
 * - removeNode: remove a voter or learner.
 */
export type ConfChangeType = 'addNode' | 'addLearnerNode' | 'removeNode';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
  /** Opaque to raft; e.g. the new member's peer URLs. */
  readonly context: Uint8Array;
}

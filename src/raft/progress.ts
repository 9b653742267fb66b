// The leader's view of each member (Progress), flow control (Inflights), and
// the membership with its quorum arithmetic (ProgressTracker).

import type { ConfState, NodeId } from './types.js';
import { sortedIds } from './util.js';

/**
 * Bounded window of in-flight appends to one follower: each entry is the last
 * index of one MsgApp and its size. Full when either limit is reached; freed
 * from the front as acknowledgements arrive.
 */
export class Inflights {
  private readonly indexes: number[] = [];
  private readonly sizes: number[] = [];
  private bytes = 0;

  constructor(
    readonly maxCount: number,
    /** 0 means no byte limit. */
    readonly maxBytes: number,
  ) {}

  add(lastIndex: number, size: number): void {
    this.indexes.push(lastIndex);
    this.sizes.push(size);
    this.bytes += size;
  }

  /** Frees every in-flight message whose last index is <= `to`. */
  freeLE(to: number): void {
    let n = 0;
    while (n < this.indexes.length && this.indexes[n]! <= to) {
      this.bytes -= this.sizes[n]!;
      n++;
    }
    if (n > 0) {
      this.indexes.splice(0, n);
      this.sizes.splice(0, n);
    }
  }

  full(): boolean {
    return this.indexes.length >= this.maxCount || (this.maxBytes > 0 && this.bytes >= this.maxBytes);
  }

  count(): number {
    return this.indexes.length;
  }

  reset(): void {
    this.indexes.length = 0;
    this.sizes.length = 0;
    this.bytes = 0;
  }
}

/**
 * - probe: we do not know where the follower's log matches ours. Send one
 *   append at a time (then pause until a response or a heartbeat response),
 *   backing `next` off on each rejection using the follower's hint.
 * - replicate: the follower matched; stream appends optimistically, advancing
 *   `next` past what is in flight, bounded by Inflights.
 * - snapshot: the follower needs entries we compacted; a snapshot is on its
 *   way and appends are paused until it is acknowledged or reported failed.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  /** Highest index known to be durably replicated on the follower. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = 'probe';
  /** In 'snapshot': the index of the snapshot sent. */
  pendingSnapshot = 0;
  /** Heard from within the last election timeout (check-quorum, snapshot sending). */
  recentActive: boolean;
  /** probe: one message is outstanding. replicate: the window is full and a probe went out. */
  msgAppFlowPaused = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, inflights: Inflights, isLearner: boolean, recentActive: boolean) {
    this.next = next;
    this.inflights = inflights;
    this.isLearner = isLearner;
    this.recentActive = recentActive;
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      // The snapshot probably arrived: resume after it rather than at match.
      const ps = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, ps + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** Records that an append with `count` entries of `bytes` total went out from `next`. */
  sentEntries(count: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next += count;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      this.msgAppFlowPaused = true;
    }
  }

  /** A successful append response acknowledging `n`. False if it is stale. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      this.msgAppFlowPaused = false;
      updated = true;
    }
    this.next = Math.max(this.next, n + 1);
    return updated;
  }

  /**
   * A rejection of the append whose previous index was `rejected`, with the
   * follower's hint. Returns false (and changes nothing) for stale rejections
   * produced by reordered or duplicated messages.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      // Something in flight was lost or refused: restart right after match.
      this.next = this.match + 1;
      return true;
    }
    // In probe only one append is outstanding, at next-1; anything else is stale.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.msgAppFlowPaused;
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Majority vote over `voters`; an empty voter set wins trivially (nothing to ask). */
export function voteResult(voters: ReadonlySet<NodeId>, vote: (id: NodeId) => boolean | undefined): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const v = vote(id);
    if (v === undefined) missing++;
    else if (v) granted++;
  }
  const q = Math.floor(voters.size / 2) + 1;
  if (granted >= q) return 'won';
  if (granted + missing >= q) return 'pending';
  return 'lost';
}

/** The largest index acknowledged by a majority of `voters` (0 if there are none). */
export function majorityCommitted(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number): number {
  if (voters.size === 0) return 0;
  const idx: number[] = [];
  for (const id of voters) idx.push(acked(id));
  idx.sort((a, b) => b - a);
  return idx[Math.floor(voters.size / 2)]!;
}

/**
 * Membership and per-member progress. Voters and learners are disjoint; every
 * member (and only members) has a Progress. Learners receive the log but are
 * never counted toward any quorum (commit, election, ReadIndex, check-quorum).
 */
export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflight: number,
    readonly maxInflightBytes: number,
  ) {}

  newProgress(next: number, isLearner: boolean): Progress {
    // A new member counts as recently active so check-quorum does not depose
    // the leader before the newcomer had a chance to answer.
    return new Progress(next, new Inflights(this.maxInflight, this.maxInflightBytes), isLearner, true);
  }

  /** Member IDs in ascending order, voters and learners. */
  ids(): NodeId[] {
    return sortedIds(this.progress.keys());
  }

  committed(): number {
    return majorityCommitted(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  quorumActive(): boolean {
    return voteResult(this.voters, (id) => this.progress.get(id)?.recentActive ?? false) === 'won';
  }

  isSingleton(): boolean {
    return this.voters.size === 1;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** First answer counts: a duplicated or reordered later response cannot flip a vote. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voters) {
      const v = this.votes.get(id);
      if (v === true) granted++;
      else if (v === false) rejected++;
    }
    return { granted, rejected, result: voteResult(this.voters, (id) => this.votes.get(id)) };
  }

  confState(): ConfState {
    return { voters: sortedIds(this.voters), learners: sortedIds(this.learners) };
  }
}

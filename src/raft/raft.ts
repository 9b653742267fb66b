// The Raft state machine. Pure and synchronous: inputs are step()/tick() and
// the driver's acknowledgements (advance); outputs are accumulated in fields
// (msgs, readStates, the unstable log, commit index) that RawNode packages
// into a Ready. No I/O, no clock, no randomness except the injected one.
//
// The role is the pair of functions in use (tickFn, stepFn), swapped by the
// become* methods, rather than `if (role === ...)` checks spread around.

import { applySimpleChange, restoreConfState, validateConfChange } from './confchange.js';
import { decodeConfChange } from './confchange_codec.js';
import { RaftError, isRaftError } from './errors.js';
import { RaftLog } from './log.js';
import type {
  Message,
  MessageDraft,
  MsgApp,
  MsgHeartbeat,
  MsgPreVote,
  MsgReadIndex,
  MsgSnap,
  MsgVote,
} from './messages.js';
import { ProgressTracker, voteResult } from './progress.js';
import type { Progress, VoteResult } from './progress.js';
import { ReadOnly } from './read_only.js';
import type { Storage } from './storage.js';
import type { ConfChange, ConfState, Entry, HardState, NodeId, RaftRole, ReadState, Snapshot, SoftState } from './types.js';
import { NONE, isEmptyHardState } from './types.js';
import { assertNever, entriesSize, fmtId, payloadsSize, sortedIds } from './util.js';

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export const NOOP_LOGGER: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface RaftConfig {
  /** This node's member ID; never 0. */
  readonly id: NodeId;
  readonly storage: Storage;
  /** Ticks without hearing from a leader before a follower campaigns; randomized in [electionTick, 2*electionTick). */
  readonly electionTick: number;
  /** Ticks between leader heartbeats. Must be < electionTick. */
  readonly heartbeatTick: number;
  /**
   * Returns an integer uniformly in [0, n). The only source of randomness
   * (election timeout jitter); inject a seeded generator for determinism.
   */
  readonly randomInt: (n: number) => number;
  /** Index the state machine has already applied (e.g. restored from its own store). Default: storage's snapshot index. */
  readonly applied?: number;
  /** Max bytes of entries per append message. Default 1 MiB. */
  readonly maxSizePerMsg?: number;
  /** Max bytes of committed entries per Ready. Default 16 MiB. */
  readonly maxCommittedSizePerReady?: number;
  /** Max append messages in flight per follower in 'replicate'. Default 256. */
  readonly maxInflightMsgs?: number;
  /** Max bytes in flight per follower; 0 = unlimited. Default 0. */
  readonly maxInflightBytes?: number;
  /** Max payload bytes of uncommitted entries on the leader; 0 = unlimited. Proposals beyond it are dropped. */
  readonly maxUncommittedEntriesSize?: number;
  /** Leader steps down if it has not heard from a quorum within an election timeout; followers in lease ignore votes. */
  readonly checkQuorum?: boolean;
  /** Run a pre-vote round before incrementing the term (a partitioned node does not disrupt on rejoin). */
  readonly preVote?: boolean;
  /** Followers drop proposals instead of forwarding them to the leader. */
  readonly disableProposalForwarding?: boolean;
  readonly logger?: Logger;
}

type StepFn = (r: Raft, m: Message) => void;
type CampaignKind = 'preElection' | 'election' | 'transfer';

const DEFAULT_MAX_SIZE_PER_MSG = 1024 * 1024;
const DEFAULT_MAX_COMMITTED_SIZE_PER_READY = 16 * 1024 * 1024;
const DEFAULT_MAX_INFLIGHT = 256;

function validateConfig(c: RaftConfig): void {
  if (c.id === NONE) throw new TypeError('raft: cannot use 0 as id');
  if (!(c.heartbeatTick > 0)) throw new TypeError('raft: heartbeatTick must be > 0');
  if (!(c.electionTick > c.heartbeatTick)) throw new TypeError('raft: electionTick must be > heartbeatTick');
  if (c.maxInflightMsgs !== undefined && !(c.maxInflightMsgs > 0)) throw new TypeError('raft: maxInflightMsgs must be > 0');
  if (typeof c.randomInt !== 'function') throw new TypeError('raft: randomInt must be provided');
}

export class Raft {
  readonly id: NodeId;
  term = 0;
  vote: NodeId = NONE;
  lead: NodeId = NONE;
  role: RaftRole = 'follower';
  isLearner = false;

  readonly log: RaftLog;
  trk: ProgressTracker;
  readOnly = new ReadOnly();
  readStates: ReadState[] = [];
  /** Outgoing messages; sent by the driver after persisting the Ready they come with. */
  msgs: Message[] = [];

  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  leadTransferee: NodeId = NONE;
  /** Index of the latest conf change the leader appended; a new one waits until it is applied. */
  pendingConfIndex = 0;
  uncommittedSize = 0;
  /** ReadIndex requests a new leader holds until it has committed an entry of its term. */
  pendingReadIndexMessages: MsgReadIndex[] = [];

  readonly electionTimeout: number;
  readonly heartbeatTimeout: number;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  readonly maxMsgSize: number;
  readonly maxUncommittedSize: number;
  readonly disableProposalForwarding: boolean;
  readonly randomInt: (n: number) => number;
  readonly logger: Logger;

  tickFn: () => void = () => this.tickElection();
  stepFn: StepFn = stepFollower;

  constructor(c: RaftConfig) {
    validateConfig(c);
    this.id = c.id;
    this.electionTimeout = c.electionTick;
    this.heartbeatTimeout = c.heartbeatTick;
    this.checkQuorum = c.checkQuorum ?? false;
    this.preVote = c.preVote ?? false;
    this.maxMsgSize = c.maxSizePerMsg ?? DEFAULT_MAX_SIZE_PER_MSG;
    this.maxUncommittedSize = c.maxUncommittedEntriesSize ?? 0;
    this.disableProposalForwarding = c.disableProposalForwarding ?? false;
    this.randomInt = c.randomInt;
    this.logger = c.logger ?? NOOP_LOGGER;
    this.log = new RaftLog(c.storage, c.maxCommittedSizePerReady ?? DEFAULT_MAX_COMMITTED_SIZE_PER_READY);
    this.trk = new ProgressTracker(c.maxInflightMsgs ?? DEFAULT_MAX_INFLIGHT, c.maxInflightBytes ?? 0);

    const { hardState, confState } = c.storage.initialState();
    restoreConfState(this.trk, confState, this.log.lastIndex());
    this.isLearner = this.trk.learners.has(this.id);
    if (!isEmptyHardState(hardState)) this.loadState(hardState);
    if (c.applied !== undefined && c.applied > 0) this.log.appliedTo(c.applied);
    this.becomeFollower(this.term, NONE);
    this.logger.info(
      `${fmtId(this.id)} newRaft term=${this.term} commit=${this.log.committed} applied=${this.log.applied} last=${this.log.lastIndex()}`,
    );
  }

  private loadState(hs: HardState): void {
    if (hs.commit < this.log.committed || hs.commit > this.log.lastIndex()) {
      throw new Error(`raft: ${fmtId(this.id)} hard state commit ${hs.commit} out of range [${this.log.committed}, ${this.log.lastIndex()}]`);
    }
    this.log.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  // ---- sending -------------------------------------------------------------

  /**
   * Queues a message. Vote traffic carries the election's term (set by the
   * caller); proposals and read requests carry 0 (they are forwarded requests,
   * not leader traffic); everything else carries our term.
   */
  send(d: MessageDraft): void {
    let term: number;
    switch (d.type) {
      case 'vote':
      case 'voteResp':
      case 'preVote':
      case 'preVoteResp':
        if (d.term === undefined || d.term === 0) throw new Error(`raft: term must be set when sending ${d.type}`);
        term = d.term;
        break;
      case 'prop':
      case 'readIndex':
        term = 0;
        break;
      default:
        term = this.term;
    }
    if (d.to === this.id) throw new Error(`raft: message ${d.type} addressed to self`);
    // The spread keeps the variant's own fields; the draft type guarantees them.
    this.msgs.push({ ...d, from: this.id, term } as Message);
  }

  sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /**
   * Sends an append with the entries from the follower's `next` (or a probe
   * without entries) unless flow control pauses it. Falls back to a snapshot
   * when the needed entries were compacted. Returns true if something was sent.
   * With sendIfEmpty=false, nothing is sent unless there are entries.
   */
  maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) return this.maybeSendSnapshot(to, pr);
    let ents: Entry[] = [];
    // A full window in 'replicate' only lets an empty probe out: it ensures the
    // follower answers even if every in-flight append was lost.
    if (pr.state !== 'replicate' || !pr.inflights.full()) {
      try {
        ents = this.log.entriesFrom(pr.next, this.maxMsgSize);
      } catch (e) {
        if (isRaftError(e, 'Compacted')) return this.maybeSendSnapshot(to, pr);
        throw e;
      }
    }
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.send({ type: 'app', to, index: prevIndex, logTerm: prevTerm, entries: ents, commit: this.log.committed });
    pr.sentEntries(ents.length, entriesSize(ents));
    return true;
  }

  private maybeSendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) {
      this.logger.debug(`${fmtId(this.id)} not sending snapshot to inactive ${fmtId(to)}`);
      return false;
    }
    let snap: Snapshot;
    try {
      snap = this.log.snapshot();
    } catch (e) {
      if (isRaftError(e, 'SnapshotTemporarilyUnavailable')) return false;
      throw e;
    }
    if (snap.metadata.index === 0) throw new Error('raft: need a non-empty snapshot to catch up a follower');
    pr.becomeSnapshot(snap.metadata.index);
    this.logger.info(`${fmtId(this.id)} sent snapshot ${snap.metadata.index}/${snap.metadata.term} to ${fmtId(to)}`);
    this.send({ type: 'snap', to, snapshot: snap });
    return true;
  }

  private sendHeartbeat(to: NodeId, context: Uint8Array | null): void {
    const pr = this.trk.progress.get(to);
    if (pr === undefined) return;
    // Never tell a follower to commit past what it is known to hold.
    const commit = Math.min(pr.match, this.log.committed);
    this.send({ type: 'heartbeat', to, commit, context });
  }

  bcastAppend(): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendAppend(id);
  }

  bcastHeartbeat(): void {
    this.bcastHeartbeatWithCtx(this.readOnly.lastPendingRequestCtx());
  }

  private bcastHeartbeatWithCtx(context: Uint8Array | null): void {
    for (const id of this.trk.ids()) if (id !== this.id) this.sendHeartbeat(id, context);
  }

  // ---- driver acknowledgements ---------------------------------------------

  /**
   * The driver took a Ready: it will persist `entries`/`snapshot` (persisted() says when that is
   * durable) and it applies `committedEntries` in order. Nothing here counts toward commit.
   */
  accepted(entries: readonly Entry[], snapshot: Snapshot | null, committedEntries: readonly Entry[]): void {
    this.log.unstable.acceptInProgress(entries, snapshot);
    if (snapshot !== null) this.log.appliedTo(Math.min(snapshot.metadata.index, this.log.committed));
    if (committedEntries.length > 0) {
      this.log.appliedTo(committedEntries[committedEntries.length - 1]!.index);
      this.reduceUncommittedSize(payloadsSize(committedEntries));
    }
  }

  /**
   * The `entries`/`snapshot`/`hardState` of an accepted Ready are durable. A leader counts its
   * own copy toward commit only here, so every replica in a commit quorum, the leader included,
   * holds the entry durably. Entries overwritten since they were accepted are left unstable. A
   * candidate counts its own vote only here (see campaign).
   */
  persisted(entries: readonly Entry[], snapshot: Snapshot | null, hardState: HardState | null): void {
    if (snapshot !== null) this.log.stableSnapTo(snapshot.metadata.index);
    if (entries.length > 0) {
      const last = entries[entries.length - 1]!;
      this.log.stableTo(last.index, last.term);
      if (this.role === 'leader' && this.log.matchTerm(last.index, last.term)) this.selfAck(last.index);
    }
    if (hardState !== null && this.role === 'candidate' && hardState.term === this.term && hardState.vote === this.id) {
      if (this.poll(this.id, true) === 'won') {
        this.becomeLeader();
        this.bcastAppend();
      }
    }
  }

  private selfAck(index: number): void {
    const pr = this.trk.progress.get(this.id);
    if (pr === undefined || !pr.maybeUpdate(index)) return;
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    }
  }

  /** Leader: commit the highest index held by a majority of voters, if it is of the current term. */
  maybeCommit(): boolean {
    return this.log.maybeCommit(this.trk.committed(), this.term);
  }

  // ---- role transitions ----------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.log.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const fresh = this.trk.newProgress(last + 1, pr.isLearner);
      fresh.recentActive = false;
      if (id === this.id) fresh.match = this.log.stableLastIndex();
      this.trk.progress.set(id, fresh);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    // Requests held for a previous term are dropped; the requester retries.
    this.pendingReadIndexMessages = [];
  }

  becomeFollower(term: number, lead: NodeId): void {
    this.stepFn = stepFollower;
    this.reset(term);
    this.tickFn = () => this.tickElection();
    this.lead = lead;
    this.role = 'follower';
    this.logger.info(`${fmtId(this.id)} became follower at term ${this.term}`);
  }

  becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('raft: invalid transition leader -> candidate');
    this.stepFn = stepCandidate;
    this.reset(this.term + 1);
    this.tickFn = () => this.tickElection();
    this.vote = this.id;
    this.role = 'candidate';
    this.logger.info(`${fmtId(this.id)} became candidate at term ${this.term}`);
  }

  becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('raft: invalid transition leader -> pre-candidate');
    // No term change, no vote: a pre-candidate disturbs nobody's state.
    this.stepFn = stepCandidate;
    this.trk.resetVotes();
    this.tickFn = () => this.tickElection();
    this.lead = NONE;
    this.role = 'preCandidate';
    this.logger.info(`${fmtId(this.id)} became pre-candidate at term ${this.term}`);
  }

  becomeLeader(): void {
    if (this.role === 'follower') throw new Error('raft: invalid transition follower -> leader');
    this.stepFn = stepLeader;
    this.reset(this.term);
    this.tickFn = () => this.tickHeartbeat();
    this.lead = this.id;
    this.role = 'leader';
    const self = this.trk.progress.get(this.id);
    if (self !== undefined) {
      self.becomeReplicate();
      self.recentActive = true;
    }
    // The no-op of the new term: committing it commits every earlier entry
    // (§5.4.2) and marks the point from which ReadIndex may be served.
    this.appendEntry([{ term: 0, index: 0, type: 'normal', data: new Uint8Array(0) }]);
    // No conf change until everything up to and including the no-op is
    // applied: the leader's config is then current, and it has committed an
    // entry of its term (the fix for the single-server-change bug in Ongaro's thesis).
    this.pendingConfIndex = this.log.lastIndex();
    this.logger.info(`${fmtId(this.id)} became leader at term ${this.term}`);
  }

  // ---- ticks ---------------------------------------------------------------

  tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step({ type: 'hup', from: this.id, to: this.id, term: 0 });
    }
  }

  tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step({ type: 'checkQuorum', from: this.id, to: this.id, term: 0 });
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.role === 'leader' && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step({ type: 'beat', from: this.id, to: this.id, term: 0 });
    }
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.randomInt(this.electionTimeout);
  }

  // ---- elections -----------------------------------------------------------

  /** Voter, and not about to replace its state with an incoming snapshot. */
  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && !this.log.hasPendingSnapshot();
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    for (let i = lo; i <= this.log.committed; ) {
      const ents = this.log.slice(i, this.log.committed + 1, this.log.maxApplyingEntsSize);
      for (const e of ents) if (e.type === 'confChange') return true;
      i += ents.length;
    }
    return false;
  }

  hup(kind: CampaignKind): void {
    if (this.role === 'leader') return;
    if (!this.promotable()) {
      this.logger.warn(`${fmtId(this.id)} is not promotable; not campaigning`);
      return;
    }
    // Our membership may be about to change; campaigning under a stale config could elect a non-member.
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${fmtId(this.id)} has unapplied conf changes; not campaigning at term ${this.term}`);
      return;
    }
    this.logger.info(`${fmtId(this.id)} starting a new election at term ${this.term}`);
    this.campaign(kind);
  }

  campaign(kind: CampaignKind): void {
    let term: number;
    if (kind === 'preElection') {
      this.becomePreCandidate();
      term = this.term + 1; // pre-votes ask about the next term without entering it
    } else {
      this.becomeCandidate();
      term = this.term;
    }
    // Our own vote. A pre-vote binds nothing: it counts now. A real one counts once the driver
    // has persisted it (persisted()): a leader may send before its writes are durable (a
    // pipelining driver does), so its term and vote must already be, or after a crash it could
    // lead the same term again with other entries. (A request to another voter waits for the
    // same write, so only a voter that wins alone becomes leader later than it used to.)
    if (kind === 'preElection' && this.poll(this.id, true) === 'won') {
      this.campaign('election');
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of sortedIds(this.trk.voters)) {
      if (id === this.id) continue;
      if (kind === 'preElection') this.send({ type: 'preVote', to: id, term, index: lastIndex, logTerm: lastTerm });
      else this.send({ type: 'vote', to: id, term, index: lastIndex, logTerm: lastTerm, transfer: kind === 'transfer' });
    }
  }

  poll(id: NodeId, granted: boolean): VoteResult {
    this.trk.recordVote(id, granted);
    const { granted: g, rejected, result } = this.trk.tallyVotes();
    this.logger.debug(`${fmtId(this.id)} has ${g} votes and ${rejected} rejections at term ${this.term}`);
    return result;
  }

  private handleVoteRequest(m: MsgVote | MsgPreVote): void {
    const canVote =
      // a repeat of the vote we already cast...
      this.vote === m.from ||
      // ...or we have not voted and know of no leader in this term...
      (this.vote === NONE && this.lead === NONE) ||
      // ...or a pre-vote for a future term (pre-votes bind nothing).
      (m.type === 'preVote' && m.term > this.term);
    // Learners answer too: one may have been promoted without knowing it yet.
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // Reply with the request's term: a pre-vote is for a term we have not entered.
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
        this.send({ type: 'voteResp', to: m.from, term: m.term, reject: false });
      } else {
        this.send({ type: 'preVoteResp', to: m.from, term: m.term, reject: false });
      }
    } else if (m.type === 'vote') {
      this.send({ type: 'voteResp', to: m.from, term: this.term, reject: true });
    } else {
      this.send({ type: 'preVoteResp', to: m.from, term: this.term, reject: true });
    }
  }

  // ---- the entry point -----------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // local message, or a forwarded proposal / read request
    } else if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        const force = m.type === 'vote' && m.transfer;
        // Leader lease: while we hear from a leader, a vote request is a disruption, not an election.
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          this.logger.info(`${fmtId(this.id)} ignored ${m.type} from ${fmtId(m.from)} at term ${m.term}: leader lease not expired`);
          return;
        }
      }
      if (m.type === 'preVote') {
        // never change term because of a pre-vote
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // granted pre-votes carry the term we will campaign for; we move there on winning
      } else {
        const fromLeader = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
        this.logger.info(`${fmtId(this.id)} [term ${this.term}] received ${m.type} with higher term ${m.term} from ${fmtId(m.from)}`);
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
        // A leader of an older term. With check-quorum/pre-vote our term may have
        // risen while it cannot win elections: tell it our term so it steps down
        // and a fresh election can include us.
        this.send({ type: 'appResp', to: m.from, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'preVote') {
        // Reject explicitly so a pre-candidate with a lower term learns ours instead of waiting.
        this.send({ type: 'preVoteResp', to: m.from, term: this.term, reject: true });
      }
      return;
    }

    switch (m.type) {
      case 'hup':
        this.hup(this.preVote ? 'preElection' : 'election');
        return;
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      default:
        this.stepFn(this, m);
    }
  }

  // ---- follower-side handlers ----------------------------------------------

  handleAppendEntries(m: MsgApp): void {
    if (m.index < this.log.committed) {
      // Everything up to our commit index is known to match: acknowledge it.
      this.send({ type: 'appResp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send({ type: 'appResp', to: m.from, index: lastNew, reject: false, rejectHint: 0, logTerm: 0 });
      return;
    }
    // Consistency check failed. Hint the largest (index, term) that may match:
    // entries after it have terms above the leader's prev term and cannot.
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({ type: 'appResp', to: m.from, index: m.index, reject: true, rejectHint: hintIndex, logTerm: hintTerm });
  }

  handleHeartbeat(m: MsgHeartbeat): void {
    this.log.commitTo(m.commit);
    this.send({ type: 'heartbeatResp', to: m.from, context: m.context });
  }

  handleSnapshot(m: MsgSnap): void {
    const { index, term } = m.snapshot.metadata;
    if (this.restore(m.snapshot)) {
      this.logger.info(`${fmtId(this.id)} restored snapshot ${index}/${term}`);
      this.send({ type: 'appResp', to: m.from, index: this.log.lastIndex(), reject: false, rejectHint: 0, logTerm: 0 });
    } else {
      this.logger.info(`${fmtId(this.id)} ignored snapshot ${index}/${term} (commit ${this.log.committed})`);
      this.send({ type: 'appResp', to: m.from, index: this.log.committed, reject: false, rejectHint: 0, logTerm: 0 });
    }
  }

  /** Replaces log and membership with the snapshot's. False if the snapshot is stale or unusable. */
  private restore(s: Snapshot): boolean {
    const { index, term, confState } = s.metadata;
    if (index <= this.log.committed) return false;
    if (this.role !== 'follower') {
      // Defensive: only followers restore. Leave the term so nothing acts on a half-restored state.
      this.logger.warn(`${fmtId(this.id)} attempted to restore a snapshot as ${this.role}`);
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    // A snapshot whose configuration lacks us is still installed (etcd refuses
    // it): the leader only sends to members, so it merely predates our
    // addition, which follows in the log. Refusing it would loop forever when
    // the leader has no newer snapshot. Until we apply that conf change we are
    // not promotable, so we cannot campaign under the older configuration.
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry: just fast-forward the commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflight, this.trk.maxInflightBytes);
    restoreConfState(this.trk, confState, this.log.lastIndex());
    this.isLearner = this.trk.learners.has(this.id);
    return true;
  }

  // ---- leader-side helpers -------------------------------------------------

  appendEntry(es: readonly Entry[]): boolean {
    const last = this.log.lastIndex();
    const ents = es.map((e, i): Entry => ({ term: this.term, index: last + 1 + i, type: e.type, data: e.data }));
    if (!this.increaseUncommittedSize(ents)) {
      this.logger.warn(`${fmtId(this.id)} uncommitted entry size limit reached; dropping proposal`);
      return false;
    }
    this.log.append(ents);
    // No self-ack here: the leader's copy counts once the driver has persisted it (advance).
    return true;
  }

  private increaseUncommittedSize(ents: readonly Entry[]): boolean {
    const s = payloadsSize(ents);
    // An empty tail always accepts one proposal; empty entries (no-op) are always accepted.
    if (this.maxUncommittedSize > 0 && this.uncommittedSize > 0 && s > 0 && this.uncommittedSize + s > this.maxUncommittedSize) {
      return false;
    }
    this.uncommittedSize += s;
    return true;
  }

  private reduceUncommittedSize(s: number): void {
    this.uncommittedSize = s > this.uncommittedSize ? 0 : this.uncommittedSize - s;
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  /** Registers a read at the current commit index and starts the heartbeat round that confirms leadership. */
  startReadIndex(m: MsgReadIndex): void {
    this.readOnly.addRequest(this.log.committed, m);
    const acks = this.readOnly.recvAck(this.id, m.context);
    if (acks !== undefined && voteResult(this.trk.voters, (id) => (acks.has(id) ? true : undefined)) === 'won') {
      // A single voter needs no round trip.
      this.finishReads(m.context);
      return;
    }
    this.bcastHeartbeatWithCtx(m.context);
  }

  finishReads(context: Uint8Array): void {
    for (const rs of this.readOnly.advance(context)) this.respondToReadIndex(rs.req, rs.index);
  }

  private respondToReadIndex(req: MsgReadIndex, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.context });
    } else {
      this.send({ type: 'readIndexResp', to: req.from, index, context: req.context });
    }
  }

  sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', to });
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- membership ----------------------------------------------------------

  /** Leader: why a conf change proposal must be refused now, or null. */
  confChangeRefusal(cc: ConfChange): string | null {
    if (this.pendingConfIndex > this.log.applied) {
      return `conf change at index ${this.pendingConfIndex} not yet applied (applied ${this.log.applied})`;
    }
    return validateConfChange(this.trk, cc);
  }

  applyConfChange(cc: ConfChange): ConfState {
    applySimpleChange(this.trk, cc, this.log.lastIndex());
    return this.switchedConfig();
  }

  private switchedConfig(): ConfState {
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr !== undefined && pr.isLearner;
    if ((pr === undefined || this.isLearner) && this.role === 'leader') {
      // Removed or demoted: a leader outside the voters must not keep leading.
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.role !== 'leader' || cs.voters.length === 0) return cs;
    // The quorum changed: more may be committed now; new members are probed at once.
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else {
      for (const id of this.trk.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
    }
    if (this.leadTransferee !== NONE && !this.trk.voters.has(this.leadTransferee)) this.abortLeaderTransfer();
    return cs;
  }
}

// ---- step functions, one per role --------------------------------------------

function stepLeader(r: Raft, m: Message): void {
  switch (m.type) {
    case 'beat':
      r.bcastHeartbeat();
      return;
    case 'checkQuorum': {
      if (!r.trk.quorumActive()) {
        r.logger.warn(`${fmtId(r.id)} stepped down: quorum not active`);
        r.becomeFollower(r.term, NONE);
      }
      // Everyone but us must prove activity again before the next check.
      for (const [id, pr] of r.trk.progress) if (id !== r.id) pr.recentActive = false;
      return;
    }
    case 'prop': {
      // Proposals may arrive forwarded from the network: malformed ones are dropped, not fatal.
      if (m.entries.length === 0) throw new RaftError('ProposalDropped', 'empty proposal');
      if (!r.trk.progress.has(r.id)) throw new RaftError('ProposalDropped', 'leader is no longer a member');
      if (r.leadTransferee !== NONE) throw new RaftError('ProposalDropped', `leadership transfer to ${fmtId(r.leadTransferee)} in progress`);
      let confIndex = 0;
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i]!;
        if (e.type !== 'confChange') continue;
        let cc: ConfChange;
        try {
          cc = decodeConfChange(e.data);
        } catch {
          throw new RaftError('ProposalDropped', 'malformed conf change');
        }
        const refusal = r.confChangeRefusal(cc);
        if (refusal !== null || confIndex !== 0) throw new RaftError('ProposalDropped', refusal ?? 'one conf change per proposal');
        confIndex = r.log.lastIndex() + 1 + i;
      }
      if (!r.appendEntry(m.entries)) throw new RaftError('ProposalDropped', 'uncommitted size limit');
      if (confIndex !== 0) r.pendingConfIndex = confIndex;
      r.bcastAppend();
      return;
    }
    case 'readIndex':
      // A new leader does not know the commit index of the previous term until
      // it commits its own entry; answering earlier could return a stale index.
      if (!r.committedEntryInCurrentTerm()) {
        r.pendingReadIndexMessages.push(m);
        return;
      }
      r.startReadIndex(m);
      return;
    case 'appResp': {
      const pr = r.trk.progress.get(m.from);
      if (pr === undefined) return;
      pr.recentActive = true;
      if (m.reject) {
        let nextProbe = m.rejectHint;
        // The follower's hint says its entry at rejectHint has term m.logTerm:
        // skip every index where our term is higher (they cannot match).
        if (m.logTerm > 0) nextProbe = r.log.findConflictByTerm(m.rejectHint, m.logTerm)[0];
        if (pr.maybeDecrTo(m.index, nextProbe)) {
          if (pr.state === 'replicate') pr.becomeProbe();
          r.sendAppend(m.from);
        }
        return;
      }
      // An ack equal to match still moves a probing follower to replicate.
      if (pr.maybeUpdate(m.index) || (pr.match === m.index && pr.state === 'probe')) {
        if (pr.state === 'probe') pr.becomeReplicate();
        else if (pr.state === 'snapshot' && pr.match + 1 >= r.log.firstIndex()) {
          // The follower caught up (from the snapshot or otherwise); resume from the log.
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

        if (r.maybeCommit()) {
          r.releasePendingReadIndexMessages();
          r.bcastAppend();
        }
        // The window may have opened: send as much as flow control allows.
        while (r.maybeSendAppend(m.from, false)) {
          // keep sending
        }
        if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) {
          r.logger.info(`${fmtId(r.id)} sent timeoutNow to ${fmtId(m.from)} after it caught up`);
          r.sendTimeoutNow(m.from);
        }
      }
      return;
    }
    case 'heartbeatResp': {
      const pr = r.trk.progress.get(m.from);
      if (pr === undefined) return;
      pr.recentActive = true;
      pr.msgAppFlowPaused = false;
      // Resume a stalled follower (lost appends leave the window full or the probe unanswered).
      if (pr.match < r.log.lastIndex() || pr.state === 'probe') r.sendAppend(m.from);
      if (m.context === null) return;
      const acks = r.readOnly.recvAck(m.from, m.context);
      if (acks === undefined) return;
      if (voteResult(r.trk.voters, (id) => (acks.has(id) ? true : undefined)) !== 'won') return;
      r.finishReads(m.context);
      return;
    }
    case 'snapStatus': {
      const pr = r.trk.progress.get(m.from);
      if (pr === undefined || pr.state !== 'snapshot') return;
      if (m.reject) pr.pendingSnapshot = 0; // probe from match, the snapshot never arrived
      pr.becomeProbe();
      // Wait for the follower's append response (or the next heartbeat) before sending more.
      pr.msgAppFlowPaused = true;
      return;
    }
    case 'unreachable': {
      const pr = r.trk.progress.get(m.from);
      // Optimistic appends to an unreachable peer were probably lost.
      if (pr !== undefined && pr.state === 'replicate') pr.becomeProbe();
      return;
    }
    case 'transferLeader': {
      const to = m.transferee;
      const pr = r.trk.progress.get(to);
      if (pr === undefined || pr.isLearner) return;
      if (r.leadTransferee !== NONE) {
        if (r.leadTransferee === to) return;
        r.abortLeaderTransfer();
      }
      if (to === r.id) return;
      // The transfer must finish within an election timeout (see tickHeartbeat).
      r.electionElapsed = 0;
      r.leadTransferee = to;
      if (pr.match === r.log.lastIndex()) r.sendTimeoutNow(to);
      else r.sendAppend(to);
      return;
    }
    case 'hup':
    case 'vote':
    case 'preVote':
      return; // handled in Raft.step
    case 'app':
    case 'heartbeat':
    case 'snap':
      // Another leader in our own term would violate election safety.
      r.logger.error(`${fmtId(r.id)} leader received ${m.type} from ${fmtId(m.from)} in its own term ${r.term}`);
      return;
    case 'voteResp':
    case 'preVoteResp':
    case 'timeoutNow':
    case 'readIndexResp':
      return; // stale answers to a candidacy or a follower's request
    default:
      assertNever(m);
  }
}

/** Shared by candidate and pre-candidate; each counts only its own kind of vote response. */
function stepCandidate(r: Raft, m: Message): void {
  switch (m.type) {
    case 'prop':
      throw new RaftError('ProposalDropped', `no leader at term ${r.term}`);
    case 'app':
      r.becomeFollower(m.term, m.from); // m.term === r.term here
      r.handleAppendEntries(m);
      return;
    case 'heartbeat':
      r.becomeFollower(m.term, m.from);
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.becomeFollower(m.term, m.from);
      r.handleSnapshot(m);
      return;
    case 'voteResp':
    case 'preVoteResp': {
      const mine = r.role === 'preCandidate' ? 'preVoteResp' : 'voteResp';
      if (m.type !== mine) return; // e.g. a late pre-vote answer after we became candidate
      const res = r.poll(m.from, !m.reject);
      if (res === 'won') {
        if (r.role === 'preCandidate') {
          // The pre-vote kept our term; now run the real election.
          r.campaign('election');
        } else {
          r.becomeLeader();
          r.bcastAppend();
        }
      } else if (res === 'lost') {
        // A pre-vote answer may carry a higher term; stay at ours and wait for the next timeout.
        r.becomeFollower(r.term, NONE);
      }
      return;
    }
    case 'timeoutNow':
    case 'readIndex':
    case 'transferLeader':
    case 'readIndexResp':
    case 'appResp':
    case 'heartbeatResp':
    case 'snapStatus':
    case 'unreachable':
    case 'beat':
    case 'checkQuorum':
      return; // nothing to do without a leader
    case 'hup':
    case 'vote':
    case 'preVote':
      return; // handled in Raft.step
    default:
      assertNever(m);
  }
}

function stepFollower(r: Raft, m: Message): void {
  switch (m.type) {
    case 'prop':
      if (r.lead === NONE) throw new RaftError('ProposalDropped', `no leader at term ${r.term}`);
      if (r.disableProposalForwarding) throw new RaftError('ProposalDropped', 'proposal forwarding disabled');
      r.send({ type: 'prop', to: r.lead, entries: m.entries });
      return;
    case 'app':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleAppendEntries(m);
      return;
    case 'heartbeat':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleHeartbeat(m);
      return;
    case 'snap':
      r.electionElapsed = 0;
      r.lead = m.from;
      r.handleSnapshot(m);
      return;
    case 'transferLeader':
      if (r.lead === NONE) return;
      r.send({ type: 'transferLeader', to: r.lead, transferee: m.transferee });
      return;
    case 'timeoutNow':
      // No pre-vote: the leader asked us, so we know the cluster is not partitioned from us.
      r.hup('transfer');
      return;
    case 'readIndex':
      if (r.lead === NONE) return;
      r.send({ type: 'readIndex', to: r.lead, context: m.context });
      return;
    case 'readIndexResp':
      r.readStates.push({ index: m.index, requestCtx: m.context });
      return;
    case 'appResp':
    case 'heartbeatResp':
    case 'voteResp':
    case 'preVoteResp':
    case 'snapStatus':
    case 'unreachable':
    case 'beat':
    case 'checkQuorum':
      return; // stale answers from when we led or campaigned
    case 'hup':
    case 'vote':
    case 'preVote':
      return; // handled in Raft.step
    default:
      assertNever(m);
  }
}

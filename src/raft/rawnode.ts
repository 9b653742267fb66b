// RawNode: the driver-facing API. The driver (src/cluster) owns the loop:
//
//   on timer:            node.tick()
//   on peer message:     node.step(msg)
//   on client request:   node.propose(data) / readIndex(ctx) / ...
//   then, while node.hasReady():
//     const rd = node.ready();
//     1. persist rd.snapshot (if any), then append rd.entries, then save rd.hardState
//        — one durable write, flushed (fsync) before step 2 when rd.mustSync;
//     2. send rd.messages;
//     3. apply rd.committedEntries in order (calling node.applyConfChange for
//        conf changes), and serve rd.readStates once applied >= their index;
//     4. node.advance(rd).
//
// Nothing in a Ready may be acted on out of this order: a vote or an append
// acknowledgement sent before the term, vote or entries it vouches for are
// durable can let a restarted node vote twice or lose a committed entry.
//
// Pipelined persistence (etcd raft's "async storage writes", in this shape):
// a driver may instead call node.accept(rd) once it has started rd's write,
// take further Readies while that write is in flight, and call
// node.persisted(rd) once it is durable — for each accepted Ready, in accept
// order. The rules stay the rules: messages that vouch for the write (every
// message of a non-leader, see Ready.messages) wait for persisted(); a
// leader's own copy counts toward commit only from persisted(); committed
// entries may be applied as soon as their log write precedes the apply in
// the storage's commit order (a crash then loses both or neither).

import { coalesceMessages } from './coalesce.js';
import { encodeConfChange } from './confchange_codec.js';
import { RaftError, isRaftError } from './errors.js';
import { MESSAGE_KINDS } from './messages.js';
import type { Message } from './messages.js';
import type { ProgressState } from './progress.js';
import { Raft } from './raft.js';
import type { RaftConfig } from './raft.js';
import type { ConfChange, ConfState, Entry, HardState, NodeId, RaftRole, ReadState, Snapshot, SoftState } from './types.js';
import { NONE, hardStateEqual, isEmptyHardState } from './types.js';
import { EMPTY_BYTES } from './util.js';

/** Everything the driver must do next. Handle the fields in the order documented on RawNode. */
export interface Ready {
  /**
   * New leader/role, or null if unchanged since the last Ready. Volatile:
   * never persisted; useful for routing proposals and for metrics.
   */
  readonly softState: SoftState | null;
  /**
   * Term, vote and commit to persist, or null if unchanged. Must be durable
   * (together with `entries`) before any of `messages` is sent.
   */
  readonly hardState: HardState | null;
  /**
   * Entries to append to stable storage, replacing any stored entries at the
   * same or later indexes (a new leader can overwrite an uncommitted tail).
   * Durable before sending `messages`.
   */
  readonly entries: readonly Entry[];
  /**
   * A snapshot received from the leader, to persist (Storage.applySnapshot:
   * replaces the log) and to restore the state machine from; or null. Persist
   * it before `entries` (which follow it) and before sending `messages`.
   */
  readonly snapshot: Snapshot | null;
  /**
   * Entries known committed, to apply to the state machine in order, after
   * the persistence above (they may include entries persisted by this very
   * Ready). For a 'confChange' entry call applyConfChange.
   */
  readonly committedEntries: readonly Entry[];
  /**
   * Messages to send, only AFTER everything above is durable. (A leader's own
   * messages vouch for nothing it has not already persisted — its appends carry
   * entries it may still be writing, which Raft allows — so a pipelining driver
   * may send a leader's messages before the write completes.) For a 'snap'
   * message, report the outcome with reportSnapshot(to, ...). A message that
   * cannot be delivered may be dropped (raft retries); reportUnreachable helps.
   */
  readonly messages: readonly Message[];
  /**
   * Answers to readIndex(): serve the read with context `requestCtx` once the
   * state machine has applied `index`.
   */
  readonly readStates: readonly ReadState[];
  /**
   * True when term, vote, entries or snapshot changed: the write must be
   * flushed to disk (fsync) before sending. A change of the commit index alone need not be.
   */
  readonly mustSync: boolean;
}

export interface ProgressStatus {
  readonly match: number;
  readonly next: number;
  readonly state: ProgressState;
  readonly isLearner: boolean;
  readonly recentActive: boolean;
  readonly pendingSnapshot: number;
  readonly inflight: number;
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  readonly lead: NodeId;
  readonly role: RaftRole;
  readonly leadTransferee: NodeId;
  readonly config: ConfState;
  /** Per-member replication progress; only on the leader (empty map otherwise). */
  readonly progress: ReadonlyMap<NodeId, ProgressStatus>;
}

export type SnapshotStatus = 'finish' | 'failure';

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet advanced or accepted; at most one at a time. */
  private outstanding: Ready | null = null;
  /** Accepted Readies not yet persisted, in accept order (see persisted()). */
  private readonly inFlight: Ready[] = [];

  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = config.storage.initialState().hardState;
  }

  /**
   * Initializes a brand-new cluster member on an EMPTY storage: writes one
   * 'addNode' entry per voter (and 'addLearnerNode' per learner) at term 1,
   * committed. Every founding member must bootstrap with the same lists in the
   * same order, so their logs start identical. The entries come out in the
   * next Ready to persist and apply like any others. Members that join later
   * start with an empty storage and no bootstrap: they learn the membership
   * from the leader's log or snapshot.
   */
  bootstrap(voters: readonly NodeId[], learners: readonly NodeId[] = []): void {
    const r = this.raft;
    if (r.log.lastIndex() !== 0 || r.term !== 0) throw new TypeError('raft: bootstrap needs an empty storage');
    if (voters.length === 0) throw new TypeError('raft: bootstrap needs at least one voter');
    const ccs: ConfChange[] = [
      ...voters.map((nodeId): ConfChange => ({ type: 'addNode', nodeId, context: EMPTY_BYTES })),
      ...learners.map((nodeId): ConfChange => ({ type: 'addLearnerNode', nodeId, context: EMPTY_BYTES })),
    ];
    r.becomeFollower(1, NONE);
    const ents = ccs.map((cc, i): Entry => ({ term: 1, index: i + 1, type: 'confChange', data: encodeConfChange(cc) }));
    r.log.append(ents);
    r.log.committed = ents.length;
    // Apply now so the node can campaign; applying again from the Ready is a no-op.
    for (const cc of ccs) r.applyConfChange(cc);
  }

  /** Advances the logical clock by one tick (election and heartbeat timeouts are counted in ticks). */
  tick(): void {
    this.raft.tickFn();
  }

  /** Starts an election now (pre-vote first if configured). */
  campaign(): void {
    this.raft.step({ type: 'hup', from: this.raft.id, to: this.raft.id, term: 0 });
  }

  /**
   * Proposes `data` for the log. Throws RaftError 'ProposalDropped' when it
   * certainly cannot be appended now (no known leader, transfer in progress,
   * size limit). Success means appended or forwarded, not committed: the
   * driver recognizes its entry when it is applied (e.g. by an ID in `data`).
   */
  propose(data: Uint8Array): void {
    this.raft.step({ type: 'prop', from: this.raft.id, to: this.raft.id, term: 0, entries: [{ term: 0, index: 0, type: 'normal', data }] });
  }

  /**
   * Proposes a membership change. On the leader it is refused (ProposalDropped)
   * while another change is not yet applied, before the leader applied its
   * first entry, or if it would remove the last voter.
   */
  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step({ type: 'prop', from: this.raft.id, to: this.raft.id, term: 0, entries: [{ term: 0, index: 0, type: 'confChange', data }] });
  }

  /**
   * Applies a committed conf change (call it while applying its entry, in log
   * order) and returns the resulting membership, which the driver stores with
   * its snapshots. Invalid changes are ignored identically on every member.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /**
   * Feeds a message received from a peer. Local-only message types are
   * refused (StepLocalMsg); responses from non-members are refused
   * (StepPeerNotFound). A forwarded proposal the leader drops is discarded
   * silently: the proposer notices by never seeing it applied.
   */
  step(m: Message): void {
    const kind = MESSAGE_KINDS[m.type];
    if (kind.local) throw new RaftError('StepLocalMsg', m.type);
    if (kind.response && !this.raft.trk.progress.has(m.from)) throw new RaftError('StepPeerNotFound', `${m.type} from ${m.from}`);
    try {
      this.raft.step(m);
    } catch (e) {
      if (isRaftError(e, 'ProposalDropped')) return;
      throw e;
    }
  }

  /**
   * Requests a linearizable read point. The answer comes as a ReadState with
   * the same context in a later Ready (possibly never, if leadership is lost:
   * retry with a NEW context). Contexts must be unique among pending requests.
   */
  readIndex(ctx: Uint8Array): void {
    this.raft.step({ type: 'readIndex', from: this.raft.id, to: this.raft.id, term: 0, context: ctx });
  }

  /** Asks the leader to hand leadership to `transferee` (forwarded if we are a follower). */
  transferLeader(transferee: NodeId): void {
    this.raft.step({ type: 'transferLeader', from: this.raft.id, to: this.raft.id, term: 0, transferee });
  }

  /** The transport failed to reach `id`: stop optimistic replication to it. */
  reportUnreachable(id: NodeId): void {
    this.raft.step({ type: 'unreachable', from: id, to: this.raft.id, term: 0 });
  }

  /** Outcome of sending a snapshot to `id`. */
  reportSnapshot(id: NodeId, status: SnapshotStatus): void {
    this.raft.step({ type: 'snapStatus', from: id, to: this.raft.id, term: 0, reject: status === 'failure' });
  }

  hasReady(): boolean {
    const r = this.raft;
    if (!softStateEqual(r.softState(), this.prevSoftState)) return true;
    const hs = r.hardState();
    if (!isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState)) return true;
    if (r.log.unstable.nextSnapshot() !== null) return true;
    if (r.msgs.length > 0 || r.log.unstable.hasNextEntries() || r.readStates.length > 0) return true;
    return r.log.hasNextCommittedEnts();
  }

  /**
   * Collects what to persist, send and apply. Call advance(ready) when done
   * before asking for another Ready (TypeError otherwise).
   */
  ready(): Ready {
    if (this.outstanding !== null) throw new TypeError('raft: advance() or accept() the previous Ready before calling ready() again');
    const r = this.raft;
    const soft = r.softState();
    const hs = r.hardState();
    const softChanged = !softStateEqual(soft, this.prevSoftState);
    const hardChanged = !isEmptyHardState(hs) && !hardStateEqual(hs, this.prevHardState);
    const entries = r.log.nextUnstableEntries();
    const snapshot = r.log.unstable.nextSnapshot();
    const rd: Ready = {
      softState: softChanged ? soft : null,
      hardState: hardChanged ? hs : null,
      entries,
      snapshot,
      committedEntries: r.log.nextCommittedEnts(),
      messages: coalesceMessages(r.msgs, r.maxMsgSize),
      readStates: r.readStates,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        (hardChanged && (hs.term !== this.prevHardState.term || hs.vote !== this.prevHardState.vote)),
    };
    r.msgs = [];
    r.readStates = [];
    if (softChanged) this.prevSoftState = soft;
    if (hardChanged) this.prevHardState = hs;
    this.outstanding = rd;
    return rd;
  }

  /** Acknowledges that `rd` was persisted, sent and applied as documented on Ready. */
  advance(rd: Ready): void {
    // Checked first, so a misuse changes nothing: persisted() would refuse rd behind older ones.
    if (this.inFlight.length > 0) throw new TypeError('raft: advance() while accepted Readies are still to be persisted()');
    this.accept(rd);
    this.persisted(rd);
  }

  /**
   * Pipelined persistence: the driver has started `rd`'s write (durable later, see persisted())
   * and hands out its committed entries for applying. ready() may be called again right away;
   * its entries are the ones `rd` did not carry.
   */
  accept(rd: Ready): void {
    if (this.outstanding !== rd) throw new TypeError('raft: accept() must be given the Ready last returned by ready()');
    this.outstanding = null;
    this.inFlight.push(rd);
    this.raft.accepted(rd.entries, rd.snapshot, rd.committedEntries);
  }

  /** Pipelined persistence: the write of the oldest accepted Ready, `rd`, is durable. */
  persisted(rd: Ready): void {
    if (this.inFlight[0] !== rd) throw new TypeError('raft: persisted() must be given the oldest accepted Ready');
    this.inFlight.shift();
    this.raft.persisted(rd.entries, rd.snapshot, rd.hardState);
  }

  /** Accepted Readies whose write is not yet durable. */
  get inFlightCount(): number {
    return this.inFlight.length;
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<NodeId, ProgressStatus>();
    if (r.role === 'leader') {
      for (const id of r.trk.ids()) {
        const pr = r.trk.progress.get(id)!;
        progress.set(id, {
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
          pendingSnapshot: pr.pendingSnapshot,
          inflight: pr.inflights.count(),
        });
      }
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      lead: r.lead,
      role: r.role,
      leadTransferee: r.leadTransferee,
      config: r.trk.confState(),
      progress,
    };
  }
}

function softStateEqual(a: SoftState, b: SoftState): boolean {
  return a.lead === b.lead && a.role === b.role;
}

import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RaftNode, type LogStore, type MessageSink, type Ticker } from '../cluster/index.js';
import {
  KvStore,
  validateDeleteRange,
  validatePut,
  validateRange,
  validateTxn,
  type ApplyResult,
  type Entry as KvEntry,
  type ExternalResponse,
  type WriteRequest,
  type WriteResult,
} from '../mvcc/index.js';
import { decodeConfChange, isRaftError } from '../raft/index.js';
import { EtcdError } from '../wire/index.js';
import { TenantError, UNLIMITED_QUOTAS, validTenantId, validateQuotas, type TenantOp, type TenantQuotas, type TenantRecord } from '../tenants/index.js';
import { TenantManager, type TenantChangeValue, type TenantInfo } from './tenants.js';
import type { ConfChange, ConfState, Entry, Message, ReadState, Snapshot, SoftState, Storage as RaftStorage } from '../raft/index.js';
import { ALL_SUB_DBS, RaftLogStore, Storage, prepareDataDir } from '../storage/index.js';
import { Transport, type PeerTlsOptions, type TransportLogger } from '../transport/index.js';
import { WatchHub, type WatchHubStats, type WatchStream, type WatchStreamOptions } from '../watch/index.js';
import type {
  LeaseGrantRequest,
  LeaseGrantResponse,
  LeaseLeasesResponse,
  LeaseRevokeResponse,
  LeaseTimeToLiveRequest,
  LeaseTimeToLiveResponse,
  CompactionRequest,
  CompactionResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  Member,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  TxnRequest,
  TxnResponse,
} from '../wire/index.js';
import { decodeConfContext, decodeEntry, encodeConfContext, encodeEntry, type AuthStamp, type EntryBody, type MemberAttrs } from './entry.js';
import { AuthManager, type AuditLogger, type AuthCheck, type Principal, type RequestAuth } from './auth.js';
import { AuthService } from './auth-service.js';
import { TokenService, isAuthError, tenantOfName, type AuthOp } from '../auth/index.js';
import { ClusterError, ServerError } from './errors.js';
import { AutoCompactor, type AutoCompactionConfig } from './compactor.js';
import { clusterIdFor, memberIdFor } from './identity.js';
import { MemberStore, type MemberOp } from './members.js';
import { LeaseError, LeaseTable, type LeaseOp, type LeaseOpValue } from '../lease/index.js';
import { LeaseManager, type LeaseApplied } from './leases.js';
import { ForwardError, forwardRenew, forwardTimeToLive, serveLeaseCalls } from './lease-forwarding.js';
import { proposalSize } from './proposal-size.js';
import { dumpState, restoreState } from './state-snapshot.js';
import { WaitRegistry } from './waiters.js';

/** The etcd API version Keyward answers as, so etcd tooling that checks versions accepts it. */
export const ETCD_API_VERSION = '3.4.0';

export interface InitialMember {
  name: string;
  peerUrls: string[];
}

export interface ServerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ServerOptions {
  name: string;
  dataDir: string;
  /** Peer URLs this member advertises; with the cluster token they determine the member ID. */
  advertisePeerUrls: string[];
  clusterToken: string;
  maxRequestBytes: number;
  maxTxnOps: number;
  /** Storage failed in a way the member cannot recover from; the owner should stop the process. */
  onFatal?: (err: unknown) => void;
  /** This member was removed from the cluster (applied here); the owner should stop it, as etcd does. */
  onRemoved?: () => void;
  /** --initial-cluster; default: this member alone. */
  initialCluster?: readonly InitialMember[];
  /** --initial-cluster-state; default 'new'. */
  initialClusterState?: 'new' | 'existing';
  /** --listen-peer-urls; without them the member has no peer transport (a lone in-process member). */
  listenPeerUrls?: string[];
  /**
   * Mutual TLS on the peer port (required with https peer URLs): the peer certificate reloader and
   * --peer-cert-allowed-cn. The server tells the transport each member's name, which the peer's
   * certificate CN must be (src/transport/peer-identity.ts).
   */
  peerTls?: Omit<PeerTlsOptions, 'memberNameOf'>;
  /** Client URLs this member publishes in the member list. */
  advertiseClientUrls?: string[];
  /** --heartbeat-interval in ms (one Raft tick). Default 100. */
  heartbeatIntervalMs?: number;
  /** --election-timeout in ms. Default 1000. */
  electionTimeoutMs?: number;
  /** --snapshot-count: applied entries between two snapshots. Default 10 000. */
  snapshotCount?: number;
  /** Entries kept behind a snapshot for slow followers. Default 1 000. */
  snapshotCatchUpEntries?: number;
  /** How long a request waits for its entry to apply. Default 5 s + 2 election timeouts (etcd). */
  requestTimeoutMs?: number;
  /** How often the state environment is flushed. Default 100 ms. */
  stateFlushIntervalMs?: number;
  /** etcd's --auto-compaction-mode / --auto-compaction-retention (compactor.ts). Absent: off. */
  autoCompaction?: AutoCompactionConfig;
  /** How often the auto-compactor looks (tests only; default: as etcd, see compactor.ts). */
  autoCompactionTickMs?: number;
  ticker?: Ticker;
  /**
   * Fault injection for tests only: a peer message from `from` to `to` is delivered only when this
   * returns true (checked on send and on receipt). Never set in production configuration.
   */
  testNetworkFilter?: (from: bigint, to: bigint) => boolean;
  logger?: ServerLogger;
  transportLogger?: TransportLogger;
  /** How often the leader records leases' remaining TTLs through Raft (0 disables). Default 5 minutes, as etcd. */
  leaseCheckpointIntervalMs?: number;
  /** Monotonic milliseconds for lease expiry (tests inject a clock). Default performance.now. */
  leaseClock?: () => number;
  /** Random 64-bit values for lease IDs the server picks (kept to positive 63-bit). Default crypto. */
  leaseRandomId?: () => bigint;
  /** etcd's --experimental-watch-progress-notify-interval in ms. Default 10 minutes. */
  watchProgressNotifyIntervalMs?: number;
  /** Encoded bytes a watch stream may hold for a slow client before its watchers fall back to catch-up. Default 1 MiB. */
  watchStreamBufferBytes?: number;
  /**
   * The Ed25519 private key (PKCS#8 PEM file, 0600) that signs auth tokens; the same file on every
   * member so a token from one is good on all. Default: `<data-dir>/token.key`, generated on first
   * use — tokens are then good only on the member that issued them (logged).
   */
  authTokenKeyFile?: string;
  /** --auth-token-ttl in seconds. Default 300 (etcd). */
  authTokenTtlSeconds?: number;
  /**
   * Secure default: once serving, propose the auth bootstrap (user root bound to its certificate,
   * role root, auth enabled) if the auth store was never initialised. Default false.
   */
  authBootstrap?: boolean;
  /** Where audit records go (one per auth or admin change and per authentication). */
  auditLogger?: AuditLogger;
}


interface ReadWaiter {
  resolve(): void;
  reject(e: unknown): void;
  deadline: number;
}

interface ReadRound {
  ctx: string;
  waiters: ReadWaiter[];
  started: number;
}

/**
 * The composition root of one member: validation, the write path through Raft (propose, wait
 * until applied here), linearizable reads through batched ReadIndex, membership, and the
 * response header. No HTTP and no encoding live here.
 */
/** What stageEntries wrote, for finishApply to act on once it is committed. */
interface StagedApply {
  res: ApplyResult | null;
  mine: Array<{ at: number; seq: bigint }>;
  adminDone: bigint[];
  leaseEvents: LeaseEvent[];
  membership: boolean;
  authChanged: boolean;
  /** The tables' write epochs after staging: what their committed() covers. */
  marks: { auth: number; tenants: number };
}

export class KeywardServer {
  readonly memberId: bigint;
  private clusterIdValue: bigint;
  private readonly node: RaftNode;
  private readonly transport: Transport | null;
  private readonly transportPeers = new Map<bigint, string>();
  private readonly writes: WaitRegistry<WriteResult>;
  private readonly admin: WaitRegistry<void>;
  private readonly requestTimeoutMs: number;
  private readonly electionMs: number;
  private readonly snapshotCount: number;
  private readonly catchUp: number;
  private nextSeq: bigint;
  /** Proposals refused for lack of a leader, retried when one is known. */
  private retry: Array<{ seq: bigint; fn: () => void }> = [];
  private applied: number;
  private appliedWaiters: Array<{ index: number; resolve: () => void }> = [];
  private readQueue: ReadWaiter[] = [];
  private readRound: ReadRound | null = null;
  private confState: ConfState;
  private snapshotIndex: number;
  private durableApplied: number;
  private flushing = false;
  /** The snapshot-and-compaction in progress, if any (at most one; see startSnapshot). */
  private snapshotting: Promise<void> | null = null;
  private publishing = false;
  private published = false;
  private removed = false;
  /** Proposals of this member's removal asked of this member, by seq (see markRemoved). */
  private readonly ownRemovals = new Set<bigint>();
  private stopped = false;
  private fatal: unknown;
  private cancelSweep: (() => void) | undefined;
  private cancelFlush: (() => void) | undefined;
  private cancelCompactor: (() => void) | undefined;
  private closing: Promise<void> | undefined;
  private snapCache: { index: number; at: number; data: Uint8Array } | undefined;
  private readyWaiters: Array<() => void> = [];
  /** Leases: the replicated table, and the lessor that is primary while this member leads. */
  private readonly leases: LeaseManager;
  /** Watchers of this member; told about every applied revision (see applyEntries). */
  private readonly watchHub: WatchHub;
  /** Users, roles, permissions and tokens; the edge and apply-time checks. */
  private readonly authz: AuthManager;
  /** etcd's /v3/auth/* operations. */
  readonly auth: AuthService;
  /** Tenant records, usage and quotas, lease ownership; tenant ops and deletion at apply. */
  private readonly tenants: TenantManager;

  private constructor(
    private readonly opts: ServerOptions,
    private readonly state: Storage,
    private readonly kv: KvStore,
    private readonly members: MemberStore,
    private readonly log: LogStore,
    bootstrap: { voters: bigint[]; clusterId: bigint } | null,
    tokens: TokenService,
    tenants: TenantManager,
  ) {
    this.tenants = tenants;
    this.memberId = memberIdFor(opts.advertisePeerUrls, opts.clusterToken);
    this.clusterIdValue = members.clusterId() ?? bootstrap?.clusterId ?? clusterIdFor([this.memberId]);
    const tickMs = opts.heartbeatIntervalMs ?? 100;
    this.electionMs = opts.electionTimeoutMs ?? 1000;
    if (!(this.electionMs >= 5 * tickMs)) throw new TypeError('election timeout must be at least 5 heartbeat intervals');
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 5000 + 2 * this.electionMs;
    this.snapshotCount = opts.snapshotCount ?? 10_000;
    this.catchUp = opts.snapshotCatchUpEntries ?? 1000;
    // Unique across restarts: a sequence number below one handed out before a crash could match
    // an old entry still being applied.
    this.nextSeq = BigInt(Date.now()) << 20n;
    this.writes = new WaitRegistry(this.requestTimeoutMs, () => new ServerError('TIMEOUT', 'etcdserver: request timed out'));
    this.admin = new WaitRegistry(this.requestTimeoutMs, () => new ServerError('TIMEOUT', 'etcdserver: request timed out'));
    const snap = log.snapshot();
    this.snapshotIndex = snap.metadata.index;
    this.confState = log.initialState().confState;
    this.applied = Math.max(snap.metadata.index, 0);
    this.durableApplied = this.applied;
    // Before raft starts applying: the hub's "now" is the store's revision as opened.
    this.watchHub = new WatchHub(kv, {
      header: () => ({ clusterId: this.clusterIdValue, memberId: this.memberId, raftTerm: this.node.term }),
      progressIntervalMs: opts.watchProgressNotifyIntervalMs ?? 10 * 60 * 1000,
      fragmentBytes: opts.maxRequestBytes,
      ...(opts.watchStreamBufferBytes !== undefined ? { maxBufferedBytes: opts.watchStreamBufferBytes } : {}),
      onFatal: (err) => this.fail(err),
    });

    let sink: MessageSink = { send() {} };
    if (opts.listenPeerUrls !== undefined && opts.listenPeerUrls.length > 0) {
      // A member's name is the members table's (founders from --initial-cluster, added members
      // once they publish); a joining member whose table is still empty uses its own flags.
      const flagNames = new Map((opts.initialCluster ?? []).map((m) => [memberIdFor(m.peerUrls, opts.clusterToken), m.name]));
      const memberNameOf = (id: bigint): string | undefined => this.members.get(id)?.name || flagNames.get(id);
      this.transport = new Transport({
        selfId: this.memberId,
        // The peer protocol's cluster check uses the token: a member joining an existing cluster
        // knows the token before it knows the cluster ID (which it learns from the replicated state).
        clusterId: memberIdFor([], opts.clusterToken),
        listenUrls: opts.listenPeerUrls,
        onMessage: (m: Message) => {
          if (opts.testNetworkFilter === undefined || opts.testNetworkFilter(m.from, this.memberId)) this.node.step(m);
        },
        onUnreachable: (id) => this.node.reportUnreachable(id),
        onSnapshotStatus: (id, ok) => this.node.reportSnapshot(id, ok),
        isRemovedMember: (id) => this.members.isRemoved(id),
        // A peer that already applied our removal refuses us (410) before we may see its commit.
        onRemovedFromCluster: () => this.markRemoved(),
        ...(opts.transportLogger !== undefined ? { logger: opts.transportLogger } : {}),
        ...(opts.peerTls !== undefined ? { tls: { ...opts.peerTls, memberNameOf } } : {}),
      });
      sink = this.transport;
      const filter = opts.testNetworkFilter;
      if (filter !== undefined) {
        const t = this.transport;
        sink = { send: (ms) => t.send(ms.filter((m) => filter(this.memberId, m.to))) };
      }
    } else {
      this.transport = null;
    }

    const raftStorage: RaftStorage = {
      initialState: () => log.initialState(),
      entries: (lo, hi, max) => log.entries(lo, hi, max),
      term: (i) => log.term(i),
      lastIndex: () => log.lastIndex(),
      firstIndex: () => log.firstIndex(),
      snapshot: () => this.snapshotWithData(),
    };
    this.node = new RaftNode({
      id: this.memberId,
      log,
      raftStorage,
      sink,
      applier: { apply: (e) => this.applyEntries(e), stage: (e) => this.stageEntries(e), restore: (s) => this.restore(s) },
      atomically: (fn) => state.batchSync(fn),
      pipelined: (fn) => state.batchAsync(fn),
      tickMs,
      electionTicks: Math.round(this.electionMs / tickMs),
      heartbeatTicks: 1,
      ...(bootstrap !== null ? { bootstrapVoters: bootstrap.voters } : {}),
      ...(opts.ticker !== undefined ? { ticker: opts.ticker } : {}),
      onSoftState: (s) => this.onSoftState(s),
      onReadStates: (rs) => this.onReadStates(rs),
      onFatal: (err) => this.fail(err),
    });
    // One tenant table for admission and quotas, so its record cache has one owner.
    this.authz = new AuthManager(state, { tokens, tenants: tenants.table, ...(opts.auditLogger !== undefined ? { audit: opts.auditLogger } : {}) });
    this.auth = new AuthService(this.authz, {
      propose: (op, stamp) => this.proposeAuth(op, stamp),
      readBarrier: () => this.readBarrier(),
      header: () => this.header(this.kv.currentRevision),
    });
    this.leases = new LeaseManager(
      new LeaseTable(state),
      {
        electionMs: this.electionMs,
        heartbeatMs: tickMs,
        checkpointIntervalMs: opts.leaseCheckpointIntervalMs ?? 5 * 60_000,
        ...(opts.leaseClock !== undefined ? { now: opts.leaseClock } : {}),
        randomId: opts.leaseRandomId ?? (() => randomBytes(8).readBigUInt64BE()),
      },
      {
        propose: (op, stamp) => this.proposeLease(op, stamp),
        readBarrier: () => this.readBarrier(),
        header: (revision) => this.header(revision ?? this.kv.currentRevision),
        ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
      },
    );
    this.tenants.wire({ auth: this.authz.table, leases: this.leases.table });
    // Followers forward lease renewals and time-to-live here when this member leads.
    if (this.transport !== null) serveLeaseCalls(this.transport, this, opts.logger);
    // And ask whether a learner may be promoted (null: this member does not lead).
    this.transport?.handle(LEARNER_IN_SYNC_CALL, (_from, body) => Promise.resolve(te.encode(JSON.stringify({ inSync: this.learnerInSync(parseLearnerId(body)) }))));
  }

  static async open(opts: ServerOptions): Promise<KeywardServer> {
    // One LMDB environment holds the Raft log and the state machine, so that persisting a Ready
    // and applying what it commits is one transaction with one fsync (Storage.batchSync).
    // The data dir itself is checked too (0700, ours): the member dir alone would let a
    // world-writable parent swap it (GUARANTEES A22).
    prepareDataDir(opts.dataDir);
    const state = Storage.open(join(opts.dataDir, 'member'), { subDbs: ALL_SUB_DBS });
    let kv: KvStore | undefined;
    let log: LogStore | undefined;
    try {
      // Tenant usage and quotas are decided inside mvcc's apply (src/server/tenants.ts).
      const tenants = new TenantManager(state);
      kv = KvStore.inStorage(state, { maxTxnOps: opts.maxTxnOps, leases: new LeaseTable(state), usage: tenants.usageObserver });
      const members = new MemberStore(state);
      log = RaftLogStore.inStorage(state);
      const self = memberIdFor(opts.advertisePeerUrls, opts.clusterToken);
      const initial = opts.initialCluster ?? [{ name: opts.name, peerUrls: opts.advertisePeerUrls }];
      const logEmpty = log.lastIndex() === 0 && log.initialState().hardState.term === 0;
      let bootstrap: { voters: bigint[]; clusterId: bigint } | null = null;
      if (logEmpty) {
        if (kv.appliedIndex > 0) throw new Error(`the raft log in ${state.dir} is missing but the state has applied entries`);
        const ids = initial.map((m) => memberIdFor(m.peerUrls, opts.clusterToken));
        if (!ids.includes(self)) throw new TypeError(`this member's peer URLs ${opts.advertisePeerUrls.join(',')} are not in the initial cluster`);
        if ((opts.initialClusterState ?? 'new') === 'new') {
          const clusterId = clusterIdFor(ids);
          // Founders seed the same table from the same flags, so their states start identical.
          const ops: MemberOp[] = initial.map((m, i) =>
            members.change({ op: 'put', member: { id: ids[i]!, name: m.name, peerUrls: m.peerUrls, clientUrls: [], isLearner: false } }),
          );
          ops.push(members.change({ op: 'clusterId', id: clusterId }));
          members.write(ops);
          bootstrap = { voters: ids, clusterId };
        }
      }
      const tokens = await TokenService.load({
        keyFile: await tokenKeyFile(opts),
        audience: `keyward:${memberIdFor([], opts.clusterToken).toString(16)}`,
        ttlSeconds: opts.authTokenTtlSeconds ?? 300,
      });
      const server = new KeywardServer(opts, state, kv, members, log, bootstrap, tokens, tenants);
      await server.start(initial);
      return server;
    } catch (err) {
      await kv?.close();
      await log?.close();
      await state.close();
      throw err;
    }
  }

  private async start(initial: readonly InitialMember[]): Promise<void> {
    if (this.transport !== null) {
      this.syncPeers(initial);
      await this.transport.start();
    }
    await this.node.start();
    this.leases.start();
    this.cancelSweep = every(Math.min(100, this.electionMs / 4), () => this.sweep());
    this.cancelFlush = every(this.opts.stateFlushIntervalMs ?? 100, () => void this.flushState());
    if (this.opts.autoCompaction !== undefined) {
      const compactor = new AutoCompactor(this.opts.autoCompaction, Date.now());
      this.cancelCompactor = every(this.opts.autoCompactionTickMs ?? compactor.tickMs, () => void this.autoCompact(compactor));
    }
  }

  /** One look of the auto-compactor; the leader proposes the compaction it decides (no user: the member's own). */
  private async autoCompact(compactor: AutoCompactor): Promise<void> {
    if (this.stopped || this.removed) return;
    const target = compactor.tick(Date.now(), this.kv.currentRevision, this.kv.compactRevision, this.node.isLeader);
    if (target === undefined) return;
    try {
      await this.proposeEntry({ kind: 'write', request: { type: 'compaction', compaction: { revision: target, physical: false } } });
      this.opts.logger?.info({ revision: target, mode: this.opts.autoCompaction?.mode }, 'auto-compaction finished');
    } catch (err) {
      // Compacted meanwhile by someone else, leadership lost, stopping: the next look tries again.
      this.opts.logger?.warn({ revision: target, err: err instanceof Error ? err.message : String(err) }, 'auto-compaction not done');
    }
  }

  get name(): string {
    return this.opts.name;
  }

  get clusterId(): bigint {
    return this.clusterIdValue;
  }

  /** The peer listener's URLs (with the bound port when listening on port 0). */
  get peerUrls(): readonly string[] {
    return this.transport?.listenUrls ?? [];
  }

  /** True when this member knows a leader (the cluster can serve). */
  get hasLeader(): boolean {
    return !this.stopped && !this.removed && this.node.leader !== 0n;
  }

  get leaderId(): bigint {
    return this.node.leader;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  // ---- KV ---------------------------------------------------------------------------------

  async range(req: RangeRequest, auth?: RequestAuth): Promise<RangeResponse> {
    validateRange(req);
    const check = (): void => void this.authz.authorize(auth, (c, u) => c.checkRange(u, req));
    check();
    if (!req.serializable) {
      await this.readBarrier();
      // Again after the barrier: a lagging follower has now applied every auth change committed
      // before the read began, so a token or permission revoked anywhere is seen here (A13).
      check();
    } else this.assertServing();
    const res = this.kv.range(req);
    return { ...res, header: this.header(res.header.revision) };
  }

  async put(req: PutRequest, auth?: RequestAuth): Promise<PutResponse> {
    validatePut(req);
    return this.write({ type: 'put', put: req }, auth) as Promise<PutResponse>;
  }

  async deleteRange(req: DeleteRangeRequest, auth?: RequestAuth): Promise<DeleteRangeResponse> {
    validateDeleteRange(req);
    return this.write({ type: 'deleteRange', deleteRange: req }, auth) as Promise<DeleteRangeResponse>;
  }

  async txn(req: TxnRequest, auth?: RequestAuth): Promise<TxnResponse> {
    validateTxn(req, this.opts.maxTxnOps);
    return this.write({ type: 'txn', txn: req }, auth) as Promise<TxnResponse>;
  }

  async compact(req: CompactionRequest, auth?: RequestAuth): Promise<CompactionResponse> {
    return this.write({ type: 'compaction', compaction: req }, auth) as Promise<CompactionResponse>;
  }

  async status(auth?: RequestAuth): Promise<StatusResponse> {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    const st = this.node.status();
    const stats = this.kv.stats();
    return {
      header: this.header(this.kv.currentRevision),
      version: ETCD_API_VERSION,
      dbSize: stats.dbSize,
      leader: st.lead,
      raftIndex: st.commit,
      raftTerm: st.term,
      raftAppliedIndex: this.applied,
      dbSizeInUse: stats.dbSizeInUse,
      errors: [],
      isLearner: this.members.get(this.memberId)?.isLearner ?? false,
    };
  }

  // ---- membership -------------------------------------------------------------------------

  memberList(auth?: RequestAuth): { header: ResponseHeader; members: Member[] } {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    return { header: this.clusterHeader(), members: this.members.list() };
  }

  async memberAdd(req: { peerUrls: string[]; isLearner: boolean }, auth?: RequestAuth): Promise<{ header: ResponseHeader; member: Member; members: Member[] }> {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    this.authz.record({ action: 'member.add', user: auth?.principal?.user, remote: auth?.remote, outcome: 'proposed', peerUrls: req.peerUrls });
    checkUrls(req.peerUrls);
    this.checkUrlsFree(req.peerUrls, 0n);
    const id = memberIdFor(req.peerUrls, this.opts.clusterToken);
    if (this.members.get(id) !== undefined) throw new ClusterError('MEMBER_EXISTS', 'etcdserver: member ID already exist');
    const attrs: MemberAttrs = { name: '', peerUrls: req.peerUrls, isLearner: req.isLearner };
    await this.proposeConf((seq) => ({ type: req.isLearner ? 'addLearnerNode' : 'addNode', nodeId: id, context: encodeConfContext({ member: this.memberId, seq }, attrs) }));
    const member = this.members.get(id) ?? { id, name: '', peerUrls: req.peerUrls, clientUrls: [], isLearner: req.isLearner };
    return { header: this.clusterHeader(), member, members: this.members.list() };
  }

  async memberRemove(req: { id: bigint }, auth?: RequestAuth): Promise<{ header: ResponseHeader; members: Member[] }> {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    this.authz.record({ action: 'member.remove', user: auth?.principal?.user, remote: auth?.remote, outcome: 'proposed', member: req.id.toString(16) });
    if (this.members.get(req.id) === undefined) throw new ClusterError('MEMBER_NOT_FOUND', 'etcdserver: member not found');
    // Raft makes a leader that applies its own removal step down, and the others then wait out
    // an election timeout before they elect: leadership moves first.
    await this.leadershipAwayFrom(req.id);
    let own: bigint | undefined;
    try {
      await this.proposeConf((seq) => {
        if (req.id === this.memberId) this.ownRemovals.add((own = seq));
        return { type: 'removeNode', nodeId: req.id, context: encodeConfContext({ member: this.memberId, seq }, null) };
      });
    } finally {
      if (own !== undefined) this.ownRemovals.delete(own);
    }
    // A member that removed itself may learn it from a peer before applying it.
    return { header: this.clusterHeader(), members: this.members.list().filter((m) => !(this.removed && m.id === this.memberId)) };
  }

  async memberPromote(req: { id: bigint }, auth?: RequestAuth): Promise<{ header: ResponseHeader; members: Member[] }> {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    this.authz.record({ action: 'member.promote', user: auth?.principal?.user, remote: auth?.remote, outcome: 'proposed', member: req.id.toString(16) });
    const m = this.members.get(req.id);
    if (m === undefined) throw new ClusterError('MEMBER_NOT_FOUND', 'etcdserver: member not found');
    if (!m.isLearner) throw new ClusterError('MEMBER_NOT_LEARNER', 'etcdserver: can only promote a learner member');
    // etcd's rule: a learner is ready once its log is within 90% of the leader's. Only the leader
    // tracks its progress, so a follower asks the leader (etcd forwards the whole promotion there).
    // Raft itself would accept the change from anyone: a follower that skipped the check promoted
    // a learner that had not even started, a voter with an empty log counted in every quorum.
    const inSync = this.node.isLeader ? this.learnerInSync(req.id) : await this.leaderSaysInSync(req.id);
    if (inSync !== true) throw new ClusterError('LEARNER_NOT_READY', 'etcdserver: can only promote a learner member which is in sync with leader');
    const attrs: MemberAttrs = { name: m.name, peerUrls: m.peerUrls, isLearner: false };
    await this.proposeConf((seq) => ({ type: 'addNode', nodeId: req.id, context: encodeConfContext({ member: this.memberId, seq }, attrs) }));
    return { header: this.clusterHeader(), members: this.members.list() };
  }

  /** Leader only: whether learner `id`'s log is within 90% of the leader's (etcd's isLearnerReady); null when this member does not lead. */
  private learnerInSync(id: bigint): boolean | null {
    if (!this.node.isLeader) return null;
    const st = this.node.status();
    const pr = st.progress.get(id);
    const leaderMatch = st.progress.get(this.memberId)?.match ?? st.lastIndex;
    return pr !== undefined && pr.match >= leaderMatch * 0.9;
  }

  /** Asks the leader learnerInSync over the peer port; NO_LEADER when no leader is known or none answers. */
  private async leaderSaysInSync(id: bigint): Promise<boolean> {
    const lead = this.node.leader;
    const noLeader = new ServerError('NO_LEADER', 'etcdserver: no leader');
    if (this.transport === null || lead === 0n || lead === this.memberId) throw noLeader;
    let answer: unknown;
    try {
      const raw = await this.transport.call(lead, LEARNER_IN_SYNC_CALL, te.encode(JSON.stringify({ id: id.toString() })), { timeoutMs: this.requestTimeoutMs });
      answer = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw noLeader;
    }
    const inSync = typeof answer === 'object' && answer !== null ? (answer as { inSync?: unknown }).inSync : undefined;
    // null: the member asked no longer leads.
    if (typeof inSync !== 'boolean') throw noLeader;
    return inSync;
  }

  async memberUpdate(req: { id: bigint; peerUrls: string[] }, auth?: RequestAuth): Promise<{ header: ResponseHeader; members: Member[] }> {
    this.assertServing();
    const stamp = this.authz.authorizeAdmin(auth);
    this.authz.record({ action: 'member.update', user: auth?.principal?.user, remote: auth?.remote, outcome: 'proposed', member: req.id.toString(16) });
    if (this.members.get(req.id) === undefined) throw new ClusterError('MEMBER_NOT_FOUND', 'etcdserver: member not found');
    checkUrls(req.peerUrls);
    this.checkUrlsFree(req.peerUrls, req.id);
    await this.proposeAdmin({ kind: 'memberUpdate', update: { id: req.id, peerUrls: req.peerUrls } }, stamp);
    return { header: this.clusterHeader(), members: this.members.list() };
  }

  /** Hands leadership to `targetId` and resolves once it leads (etcd's MoveLeader). */
  async moveLeader(req: { targetId: bigint }, auth?: RequestAuth): Promise<{ header: ResponseHeader }> {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    this.authz.record({ action: 'maintenance.move-leader', user: auth?.principal?.user, remote: auth?.remote, outcome: 'requested', target: req.targetId.toString(16) });
    const target = this.members.get(req.targetId);
    if (target === undefined || target.isLearner) throw new ClusterError('BAD_LEADER_TRANSFEREE', 'etcdserver: bad leader transferee');
    const deadline = Date.now() + this.requestTimeoutMs;
    while (this.node.leader !== req.targetId) {
      if (this.stopped) throw new ServerError('STOPPED', 'etcdserver: server stopped');
      if (Date.now() > deadline) throw new ServerError('TIMEOUT', 'etcdserver: request timed out, leader transfer took too long');
      if (this.node.leader !== 0n) this.node.transferLeader(req.targetId);
      await sleep(Math.max(10, this.electionMs / 4));
    }
    return { header: this.header(this.kv.currentRevision) };
  }

  // ---- tenants ----------------------------------------------------------------------------
  // Cluster administrators only, except tenantGet, which a principal of that tenant may ask too.
  // Changes go through the log (entry kind 'tenant') and are answered once applied here.

  async tenantCreate(req: { id: string; quotas?: Partial<TenantQuotas> }, auth?: RequestAuth): Promise<{ header: ResponseHeader; tenant: TenantInfo }> {
    this.assertServing();
    const stamp = this.authz.authorizeAdmin(auth);
    const quotas = checkedQuotas({ ...UNLIMITED_QUOTAS }, req.quotas);
    const { header, value } = await this.proposeTenant({ type: 'create', id: checkedTenantId(req.id), quotas }, stamp, auth);
    return { header, tenant: value.info };
  }

  /** A partial update: fields left out keep the tenant's current quotas (read linearizably first). */
  async tenantSetQuotas(req: { id: string; quotas: Partial<TenantQuotas> }, auth?: RequestAuth): Promise<{ header: ResponseHeader; tenant: TenantInfo }> {
    this.assertServing();
    const stamp = this.authz.authorizeAdmin(auth);
    const id = checkedTenantId(req.id);
    await this.readBarrier();
    const current = this.tenants.table.get(id);
    if (current === undefined) throw new TenantError('TENANT_NOT_FOUND');
    const quotas = checkedQuotas(current.quotas, req.quotas);
    const { header, value } = await this.proposeTenant({ type: 'setQuotas', id, quotas }, stamp, auth);
    return { header, tenant: value.info };
  }

  async tenantSuspend(req: { id: string }, auth?: RequestAuth): Promise<{ header: ResponseHeader; tenant: TenantInfo }> {
    this.assertServing();
    const stamp = this.authz.authorizeAdmin(auth);
    const { header, value } = await this.proposeTenant({ type: 'suspend', id: checkedTenantId(req.id) }, stamp, auth);
    return { header, tenant: value.info };
  }

  async tenantResume(req: { id: string }, auth?: RequestAuth): Promise<{ header: ResponseHeader; tenant: TenantInfo }> {
    this.assertServing();
    const stamp = this.authz.authorizeAdmin(auth);
    const { header, value } = await this.proposeTenant({ type: 'resume', id: checkedTenantId(req.id) }, stamp, auth);
    return { header, tenant: value.info };
  }

  /** Deletes the tenant's keys (one revision), leases, users and roles, and its record: one entry. */
  async tenantDelete(req: { id: string }, auth?: RequestAuth): Promise<{ header: ResponseHeader; deleted: number }> {
    this.assertServing();
    const stamp = this.authz.authorizeAdmin(auth);
    const { header, value } = await this.proposeTenant({ type: 'delete', id: checkedTenantId(req.id) }, stamp, auth);
    return { header, deleted: value.deleted };
  }

  /** Linearizable. A missing tenant is TENANT_NOT_FOUND for an administrator, forbidden for anyone else. */
  async tenantGet(req: { id: string }, auth?: RequestAuth): Promise<{ header: ResponseHeader; tenant: TenantInfo }> {
    this.assertServing();
    const check: AuthCheck = (c, u) => {
      if (auth?.principal?.tenant !== req.id) c.checkAdmin(u);
    };
    this.authz.authorize(auth, check);
    const id = checkedTenantId(req.id);
    await this.readBarrier();
    // Again after the barrier, as range does: a revocation committed before the read is seen.
    this.authz.authorize(auth, check);
    const tenant = this.tenants.info(id);
    if (tenant === undefined) throw new TenantError('TENANT_NOT_FOUND');
    return { header: this.header(this.kv.currentRevision), tenant };
  }

  /** Linearizable; every tenant in id order. */
  async tenantList(auth?: RequestAuth): Promise<{ header: ResponseHeader; tenants: TenantInfo[] }> {
    this.assertServing();
    this.authz.authorizeAdmin(auth);
    await this.readBarrier();
    this.authz.authorizeAdmin(auth);
    return { header: this.header(this.kv.currentRevision), tenants: this.tenants.list() };
  }

  /** The tenant's record as applied on this member, for the edge's per-request limits. Sync, not linearizable. */
  tenantRecord(id: string): TenantRecord | undefined {
    return this.tenants.record(id);
  }

  /** A tenant op through the log, audited, answered when applied here. */
  private async proposeTenant(op: TenantOp, stamp: AuthStamp, auth: RequestAuth | undefined): Promise<{ header: ResponseHeader; value: TenantChangeValue }> {
    const audit = { action: `tenant.${op.type}`, user: auth?.principal?.user, remote: auth?.remote, tenant: op.id };
    this.authz.record({ ...audit, outcome: 'proposed' });
    try {
      const res = (await this.proposeEntry({ kind: 'tenant', op }, stamp)) as ExternalResponse;
      const value = res.value as TenantChangeValue;
      this.authz.record({ ...audit, outcome: value.changed ? 'applied' : 'unchanged' });
      return { header: this.header(res.header.revision), value };
    } catch (e) {
      this.authz.record({ ...audit, outcome: 'refused', code: (e as { code?: unknown }).code });
      throw e;
    }
  }

  // ---- watch ------------------------------------------------------------------------------

  /**
   * Opens one client watch stream (POST /v3/watch, a WebSocket, an SSE connection). The caller
   * feeds it requests, drains its messages and closes it when the client goes away.
   */
  openWatchStream(opts: WatchStreamOptions = {}, auth?: RequestAuth): WatchStream {
    this.assertServing();
    // Refused at once when auth is on and nobody is asking (etcd: "user name is empty").
    this.authz.authorize(auth, () => {});
    const authorize = (key: Uint8Array, rangeEnd: Uint8Array): string | undefined => {
      try {
        this.authz.authorize(auth, (c, u) => c.checkWatch(u, key, rangeEnd));
        return undefined;
      } catch (e) {
        if (isAuthError(e)) return EtcdError[e.code].message;
        throw e;
      }
    };
    return this.watchHub.openStream({ ...opts, authorize });
  }

  /**
   * Refuses a stream (watch, keep-alive) whose opener names nobody while auth is on, before it
   * waits for a first request: etcd's "user name is empty" at once, not a silent open stream.
   */
  assertAuthenticated(auth: RequestAuth | undefined): void {
    this.authz.authorize(auth, () => {});
  }

  watchStats(): WatchHubStats {
    return this.watchHub.stats();
  }

  // ---- leases -----------------------------------------------------------------------------

  async leaseGrant(req: LeaseGrantRequest, auth?: RequestAuth): Promise<LeaseGrantResponse> {
    this.assertServing();
    return this.leases.grant(req, this.authz.authorize(auth, () => {}));
  }

  async leaseRevoke(id: bigint, auth?: RequestAuth): Promise<LeaseRevokeResponse> {
    this.assertServing();
    return this.leases.revoke(id, this.authz.authorize(auth, this.leaseKeysCheck(id, 'write')));
  }

  /**
   * Renews a lease in this member's lessor and returns its granted TTL. Only the leader's lessor
   * renews: elsewhere this throws LeaseError NOT_PRIMARY and the caller asks the leader
   * (`leaseLeader`). LEASE_NOT_FOUND when the lease does not exist (or expired meanwhile).
   */
  async leaseRenew(id: bigint, auth?: RequestAuth): Promise<number> {
    this.assertServing();
    // Keeping a lease alive keeps its keys alive: the same right as revoking it (A5).
    this.authz.authorize(auth, this.leaseKeysCheck(id, 'write'));
    return this.leases.renew(id);
  }

  /** Time to live from the leader's lessor; NOT_PRIMARY elsewhere (as leaseRenew). */
  leaseTimeToLive(req: LeaseTimeToLiveRequest, auth?: RequestAuth): LeaseTimeToLiveResponse {
    this.assertServing();
    // The attached keys are data: listing them needs READ on every one (A6, CVE-2023-32082).
    // Another tenant's lease answers as one that does not exist (TTL -1), not as forbidden (A21).
    let foreign = false;
    this.authz.authorize(auth, (c, u) => {
      if (this.foreignLease(u, req.id)) foreign = true;
      else if (req.keys) c.checkKeysReadable(u, this.leases.table.keys(req.id));
    });
    // Lease 0 is never granted: the lessor's own not-found answer (and its NOT_PRIMARY elsewhere).
    if (foreign) return { ...this.leases.timeToLive({ id: 0n, keys: false }), id: req.id };
    return this.leases.timeToLive(req);
  }

  async leaseLeases(auth?: RequestAuth): Promise<LeaseLeasesResponse> {
    this.authz.authorizeAdmin(auth);
    return this.leases.leases();
  }

  /**
   * Where renewals and time-to-live questions go: this member when it leads, else the leader
   * (asked with forwardLeaseRenew / forwardLeaseTimeToLive); null without a known leader.
   */
  leaseLeader(): { self: boolean; id: bigint } | null {
    const lead = this.node.leader;
    if (lead === 0n || this.stopped) return null;
    return { self: lead === this.memberId, id: lead };
  }

  /**
   * Renews at the leader over the peer port's call channel (server/lease-forwarding.ts), with the
   * caller's principal: the leader runs leaseRenew's checks itself. Its refusal is thrown as the
   * error it was there (LEASE_NOT_FOUND, PERMISSION_DENIED, NOT_PRIMARY when it no longer leads);
   * ForwardError when no answer came within timeoutMs or no other member leads.
   */
  forwardLeaseRenew(id: bigint, auth: RequestAuth | undefined, timeoutMs: number): Promise<number> {
    const lead = this.node.leader;
    if (this.transport === null || lead === 0n || lead === this.memberId) return Promise.reject(new ForwardError('no other member leads'));
    return forwardRenew(this.transport, lead, id, auth, timeoutMs);
  }

  /** Time to live from the leader, as forwardLeaseRenew (the response carries the leader's header). */
  forwardLeaseTimeToLive(req: LeaseTimeToLiveRequest, auth: RequestAuth | undefined, timeoutMs: number): Promise<LeaseTimeToLiveResponse> {
    const lead = this.node.leader;
    if (this.transport === null || lead === 0n || lead === this.memberId) return Promise.reject(new ForwardError('no other member leads'));
    return forwardTimeToLive(this.transport, lead, req, auth, timeoutMs);
  }

  /** The principal a client's token names; AuthError INVALID_AUTH_TOKEN when it does not verify or no longer holds. */
  principalFromToken(token: string): Promise<Principal> {
    return this.authz.principalFromToken(token);
  }

  /** A response header at the current revision, for answers the api assembles (forwarded ones). */
  responseHeader(): ResponseHeader {
    return this.header(this.kv.currentRevision);
  }

  /** etcd's request timeout (5 s + 2 election timeouts by default). */
  get requestTimeout(): number {
    return this.requestTimeoutMs;
  }

  // ---- lifecycle --------------------------------------------------------------------------

  /**
   * Stops taking requests, answers waiting ones with "server stopped", closes everything. A
   * leader first hands leadership to its most caught-up voter (handOffLeadership). Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.handOffLeadership();
      this.stopped = true;
      this.cancelSweep?.();
      this.cancelFlush?.();
      this.cancelCompactor?.();
      this.leases.close();
      const stopped = new ServerError('STOPPED', 'etcdserver: server stopped');
      // Ends every watch stream: their connections close and clients resume on another member.
      await this.watchHub.close();
      await this.node.close();
      await this.snapshotting;
      this.writes.rejectAll(stopped);
      this.admin.rejectAll(stopped);
      for (const w of this.readQueue.splice(0)) w.reject(stopped);
      if (this.readRound !== null) for (const w of this.readRound.waiters.splice(0)) w.reject(stopped);
      this.readRound = null;
      await this.transport?.close();
      await this.kv.close();
      await this.log.close();
      await this.state.close();
    })();
    return this.closing;
  }

  /**
   * etcd's Stop: a leader that is shutting down transfers leadership first, so a rolling restart
   * does not leave the cluster leaderless for an election timeout (the transferee campaigns at
   * once on raft's TimeoutNow). Closing goes on whatever the outcome (leadershipAwayFrom).
   */
  private async handOffLeadership(): Promise<void> {
    if (this.stopped || this.fatal !== undefined || !this.node.isLeader) return;
    await this.leadershipAwayFrom(this.memberId);
  }

  /**
   * Moves leadership off `leaving` (a voter about to stop or be removed), when it leads: raft's
   * TransferLeader, asked of the leader directly or forwarded to it by a follower. The leader
   * picks, among the other voters, the one recently heard from with the highest match index
   * (any voter if none was heard from since the last quorum check: raft clears that flag at
   * every check); a follower nominates itself (the leader catches it up before TimeoutNow), or,
   * being a learner, the first other voter. The wait ends when `leaving` no longer leads, when
   * raft gives the transfer up (seen on the leader only), or after one election timeout; callers
   * go on either way, at worst costing the election timeout this was meant to save. Proposals
   * made meanwhile are refused by raft and retried here once the new leader is known.
   */
  private async leadershipAwayFrom(leaving: bigint): Promise<void> {
    if (this.stopped || this.fatal !== undefined || this.node.leader !== leaving) return;
    const st = this.node.status();
    const others = st.config.voters.filter((id) => id !== leaving);
    let target: bigint | undefined;
    if (this.node.isLeader) {
      let best: { active: boolean; match: number } | undefined;
      for (const id of others) {
        const pr = st.progress.get(id);
        if (pr === undefined) continue;
        const better = best === undefined || (pr.recentActive && !best.active) || (pr.recentActive === best.active && pr.match > best.match);
        if (!better) continue;
        target = id;
        best = { active: pr.recentActive, match: pr.match };
      }
    } else {
      target = others.includes(this.memberId) ? this.memberId : others[0];
    }
    if (target === undefined) return;
    try {
      this.node.transferLeader(target);
    } catch {
      return;
    }
    const deadline = Date.now() + this.electionMs;
    const givenUp = (): boolean => this.node.isLeader && this.node.status().leadTransferee !== target;
    while (this.node.leader === leaving && !givenUp() && !this.stopped && Date.now() < deadline) await sleep(5);
  }

  // ---- write path -------------------------------------------------------------------------

  private async write(request: WriteRequest, auth: RequestAuth | undefined): Promise<{ header: ResponseHeader }> {
    if (proposalSize(request) > this.opts.maxRequestBytes) throw new ServerError('REQUEST_TOO_LARGE', 'request is too large');
    this.assertServing();
    const stamp = this.authz.authorize(auth, this.writeCheck(request));
    if (request.type === 'compaction') this.authz.record({ action: 'kv.compaction', user: auth?.principal?.user, remote: auth?.remote, outcome: 'proposed', revision: request.compaction.revision });
    const res = await this.proposeEntry({ kind: 'write', request }, stamp);
    return { ...res, header: this.header(res.header.revision) };
  }

  /** Proposes an entry of this member and waits until it is applied HERE; its apply result. */
  private async proposeEntry(body: EntryBody, stamp?: AuthStamp) {
    const seq = this.nextSeq++;
    const data = encodeEntry({ member: this.memberId, seq }, body, stamp);
    const done = this.writes.wait(seq);
    this.submit(seq, () => this.node.propose(data));
    const result = await done;
    if (!result.ok) {
      // Fresh entries always get a new index, so "skipped" (a replayed entry) cannot happen here.
      if (result.skipped) throw new TypeError('apply skipped a freshly proposed entry');
      throw result.error;
    }
    return result.response;
  }

  /** A lease entry through the log, answered when applied here (as `write`). */
  private async proposeLease(op: LeaseOp, stamp?: AuthStamp): Promise<{ value: LeaseOpValue; revision: number }> {
    this.assertServing();
    const res = (await this.proposeEntry({ kind: 'lease', op }, stamp)) as ExternalResponse;
    return { value: res.value as LeaseOpValue, revision: res.header.revision };
  }

  /** An auth op through the log, answered when applied here; the auth revision after it. */
  private async proposeAuth(op: AuthOp, stamp: AuthStamp | undefined): Promise<void> {
    this.assertServing();
    await this.proposeEntry({ kind: 'auth', op }, stamp);
  }

  /** The check a write needs, at the edge and (re-run by the guard) at apply. */
  private writeCheck(request: WriteRequest): AuthCheck {
    switch (request.type) {
      case 'put': {
        const put = request.put;
        // etcd's checkLeasePuts: attaching to a lease needs WRITE on every key already attached.
        return (c, u) => {
          c.checkPut(u, put);
          if (put.lease !== 0n) {
            this.fenceLease(u, put.lease);
            c.checkKeysWritable(u, this.leases.table.keys(put.lease));
          }
        };
      }
      case 'deleteRange':
        return (c, u) => c.checkDeleteRange(u, request.deleteRange);
      case 'txn':
        return (c, u) => {
          c.checkTxn(u, request.txn);
          for (const lease of txnLeases(request.txn)) {
            this.fenceLease(u, lease);
            c.checkKeysWritable(u, this.leases.table.keys(lease));
          }
        };
      case 'compaction':
        return (c, u) => c.checkAdmin(u);
    }
  }

  private leaseKeysCheck(id: bigint, need: 'read' | 'write'): AuthCheck {
    return need === 'read'
      ? (c, u) => {
          this.fenceLease(u, id);
          c.checkKeysReadable(u, this.leases.table.keys(id));
        }
      : (c, u) => {
          this.fenceLease(u, id);
          c.checkKeysWritable(u, this.leases.table.keys(id));
        };
  }

  /**
   * Whether `id` is a lease that the tenant of internal user `user` does not own (always false for
   * a cluster user). Tenants' leases are recorded at grant (TenantManager.leaseChange), replicated,
   * so the answer is the same at the edge and at apply on every member.
   */
  private foreignLease(user: string, id: bigint): boolean {
    const tenant = tenantOfName(user);
    return tenant !== undefined && this.tenants.table.leaseOwner(id) !== tenant;
  }

  /**
   * A tenant names only its own leases (A5, A21): revoking, renewing, reading or attaching to
   * another tenant's lease (or the cluster's) is answered exactly as a lease that does not exist,
   * before any key check, so the answer tells nothing about the lease or its keys. (A lease with
   * no keys attached passed the key checks: any tenant could revoke or renew it.)
   */
  private fenceLease(user: string, id: bigint): void {
    if (this.foreignLease(user, id)) throw new LeaseError('LEASE_NOT_FOUND');
  }

  private proposeAdmin(body: EntryBody, stamp?: AuthStamp): Promise<void> {
    const seq = this.nextSeq++;
    const data = encodeEntry({ member: this.memberId, seq }, body, stamp);
    const done = this.admin.wait(seq);
    this.submit(seq, () => this.node.propose(data));
    return done;
  }

  private async proposeConf(make: (seq: bigint) => ConfChange): Promise<void> {
    // A new leader refuses conf changes until it has applied every entry it inherited, and one
    // forwarded to it is then dropped without a word (the request would time out): a member that
    // does not lead first waits for a read barrier, which completes only once the leader has
    // committed an entry of its own term and this member has applied it — by then the leader has
    // applied it too, but for a rare race. On the leader, raft's refusal is seen and the proposal
    // retried (submit).
    if (!this.node.isLeader) await this.readBarrier();
    const seq = this.nextSeq++;
    const cc = make(seq);
    const done = this.admin.wait(seq);
    this.submit(seq, () => this.node.proposeConfChange(cc));
    return done;
  }

  /** Proposes now, or keeps the proposal for when a leader is known (raft refuses without one). */
  private submit(seq: bigint, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      if (!isRaftError(e, 'ProposalDropped')) throw e;
      this.retry.push({ seq, fn });
    }
  }

  private retryProposals(): void {
    if (this.node.leader === 0n || this.retry.length === 0) return;
    const pending = this.retry;
    this.retry = [];
    for (const p of pending) {
      if (this.writes.has(p.seq) || this.admin.has(p.seq)) this.submit(p.seq, p.fn);
    }
  }

  // ---- apply ------------------------------------------------------------------------------

  private async applyEntries(entries: readonly Entry[]): Promise<void> {
    await this.stageEntries(entries)();
  }

  /**
   * Applying in two parts (Applier.stage): now, the storage writes, inside the driver's write
   * transaction; then — once that transaction is committed, so every read sees what the answers
   * say — the effects in memory: applied index, lessor, watchers, answers, snapshots.
   */
  private stageEntries(entries: readonly Entry[]): () => Promise<void> {
    const kvEntries: KvEntry[] = [];
    const mine: Array<{ at: number; seq: bigint }> = [];
    const ops: MemberOp[] = [];
    const adminDone: bigint[] = [];
    // Lease entries and this leader's promotion, in log order, for the lessor once committed.
    const leaseEvents: LeaseEvent[] = [];
    let membership = false;
    let authChanged = false;
    for (const e of entries) {
      if (e.type === 'confChange') {
        const cc = decodeConfChange(e.data);
        this.confState = this.node.applyConfChange(cc);
        const ctx = decodeConfContext(cc.context);
        ops.push(...this.memberOpsFor(cc, ctx?.attrs ?? null));
        membership = true;
        if (ctx !== null && ctx.id.member === this.memberId) adminDone.push(ctx.id.seq);
        continue;
      }
      const d = decodeEntry(e.data);
      if (d === null) {
        // The empty entry a leader appends in its term: once it is applied, so is every entry of
        // earlier terms, and this member's lessor becomes primary (etcd promotes here too).
        // (Raft's own term: the driver's cached one may lag behind the entries it hands out.)
        if (this.node.isLeader && e.term === this.node.status().term) leaseEvents.push({ at: -1, op: null });
        continue;
      }
      const b = d.body;
      if (b.kind === 'write') {
        if (d.id.member === this.memberId) mine.push({ at: kvEntries.length, seq: d.id.seq });
        kvEntries.push(withGuard({ index: e.index, request: b.request }, this.authz.guard(d.stamp, this.writeCheck(b.request))));
      } else if (b.kind === 'lease') {
        if (d.id.member === this.memberId) mine.push({ at: kvEntries.length, seq: d.id.seq });
        leaseEvents.push({ at: kvEntries.length, op: b.op });
        const check: AuthCheck = b.op.type === 'revoke' ? this.leaseKeysCheck(b.op.id, 'write') : () => {};
        // A grant by a tenant's principal is owned by the tenant (maxLeases); a revoke releases it.
        const change = this.tenants.leaseChange(b.op, d.stamp?.tenant, this.leases.change(b.op));
        kvEntries.push(withGuard({ index: e.index, request: { type: 'external', external: change } }, this.authz.guard(d.stamp, check)));
      } else if (b.kind === 'auth') {
        if (d.id.member === this.memberId) mine.push({ at: kvEntries.length, seq: d.id.seq });
        authChanged = true;
        kvEntries.push(withGuard({ index: e.index, request: { type: 'external', external: this.authz.change(b.op) } }, this.authz.guard(d.stamp, this.authz.opCheck(b.op))));
      } else if (b.kind === 'tenant') {
        if (d.id.member === this.memberId) mine.push({ at: kvEntries.length, seq: d.id.seq });
        // A suspension or deletion ends the tenant's open watches once admission refuses them.
        authChanged = true;
        // A deletion revokes the tenant's leases: the lessor forgets them once the batch commits.
        if (b.op.type === 'delete') leaseEvents.push({ at: kvEntries.length, op: 'tenantDelete' });
        kvEntries.push(withGuard({ index: e.index, request: { type: 'external', external: this.tenants.change(b.op) } }, this.authz.guard(d.stamp, (c, u) => c.checkAdmin(u))));
      } else {
        const m = this.members.get(b.kind === 'publish' ? b.publish.id : b.update.id);
        // A member publishes only its own name and client URLs: the entry's proposer (in the
        // entry itself, so every member decides alike) must be the member it describes.
        const allowed = b.kind === 'publish' ? d.id.member === b.publish.id : this.authz.guard(d.stamp, (c, u) => c.checkAdmin(u))?.() === undefined;
        if (m !== undefined && allowed) {
          const next = b.kind === 'publish' ? { ...m, name: b.publish.name, clientUrls: b.publish.clientUrls } : { ...m, peerUrls: b.update.peerUrls };
          ops.push(this.members.change({ op: 'put', member: next }));
          membership = true;
        }
        if (d.id.member === this.memberId) adminDone.push(d.id.seq);
      }
    }
    this.members.write(ops);
    const res = kvEntries.length > 0 ? this.kv.applyInBatch(kvEntries) : null;
    const marks = { auth: this.authz.table.writeEpoch(), tenants: this.tenants.table.writeEpoch() };
    return () => this.finishApply(entries, { res, mine, adminDone, leaseEvents, membership, authChanged, marks });
  }

  private async finishApply(entries: readonly Entry[], s: StagedApply): Promise<void> {
    const { res, mine, adminDone, leaseEvents, membership, authChanged, marks } = s;
    // The batch's auth and tenant writes are final: their tables may cache again.
    this.authz.table.committed(marks.auth);
    this.tenants.table.committed(marks.tenants);
    this.applied = Math.max(this.applied, entries[entries.length - 1]!.index);
    if (leaseEvents.length > 0) this.leases.afterApply(leaseAppliedEvents(leaseEvents, res));
    // Watchers hear of the batch (in apply order) before any of its writers is answered.
    if (res !== null) this.watchHub.notifyApplied(res.events);
    // A permission that shrank ends the open watches it allowed (A8), before anyone is answered.
    if (authChanged) this.watchHub.reauthorize();
    if (res !== null) for (const m of mine) this.writes.resolve(m.seq, res.results[m.at]!);
    for (const seq of adminDone) this.admin.resolve(seq, undefined);
    if (membership) this.onMembershipChanged();
    this.wakeApplied();
    if (this.applied - this.snapshotIndex >= this.snapshotCount) this.startSnapshot();
  }

  /**
   * Records a snapshot point and compacts the log behind the apply chain, not on it: the
   * compaction removes --snapshot-count entries in chunks (src/storage/raft-log.ts), tens of
   * milliseconds in all, and applies waiting for it held every write answered meanwhile (a lone
   * member at 14k puts/s snapshots every 0.7 s; each such wait was a latency spike for all 64
   * connections in flight). One at a time; a restore or a close in between is harmless to it
   * (see snapshotAndCompact), and close() waits for it.
   */
  private startSnapshot(): void {
    if (this.snapshotting !== null || this.stopped) return;
    this.snapshotting = this.snapshotAndCompact()
      .catch((err: unknown) => {
        if (!this.stopped) this.fail(err);
      })
      .finally(() => {
        this.snapshotting = null;
      });
  }

  /** The members-table change a conf change makes, if raft accepted it (its ConfState says so). */
  private memberOpsFor(cc: ConfChange, attrs: MemberAttrs | null): MemberOp[] {
    const isVoter = this.confState.voters.includes(cc.nodeId);
    const isLearner = this.confState.learners.includes(cc.nodeId);
    const cur = this.members.get(cc.nodeId);
    switch (cc.type) {
      case 'removeNode':
        if (isVoter || isLearner) return [];
        return [this.members.change({ op: 'remove', id: cc.nodeId })];
      case 'addNode':
      case 'addLearnerNode': {
        if (!isVoter && !isLearner) return [];
        if (attrs === null && cur !== undefined) {
          if (cur.isLearner === isLearner) return [];
          return [this.members.change({ op: 'put', member: { ...cur, isLearner } })];
        }
        const base = cur ?? { id: cc.nodeId, name: attrs?.name ?? '', peerUrls: attrs?.peerUrls ?? [], clientUrls: [], isLearner };
        return [this.members.change({ op: 'put', member: { ...base, peerUrls: attrs?.peerUrls ?? base.peerUrls, isLearner } })];
      }
    }
  }

  private onMembershipChanged(): void {
    const id = this.members.clusterId();
    if (id !== undefined) this.clusterIdValue = id;
    if (this.transport !== null) this.syncPeers([]);
    if (this.members.isRemoved(this.memberId)) this.markRemoved();
  }

  private markRemoved(): void {
    if (this.removed || this.stopped) return;
    this.removed = true;
    this.opts.logger?.warn({ member: this.memberId.toString(16) }, 'this member was removed from the cluster');
    const err = new ServerError('STOPPED', 'etcdserver: server stopped');
    for (const w of this.readQueue.splice(0)) w.reject(err);
    // Its own removal was asked here: done, whether applied here or (more often, since the
    // leader that applies it stops replicating to it) learnt from a peer refusing it.
    for (const seq of this.ownRemovals) this.admin.resolve(seq, undefined);
    this.opts.onRemoved?.();
  }

  private syncPeers(initial: readonly InitialMember[]): void {
    const t = this.transport!;
    const want = new Map<bigint, string[]>();
    if (this.members.size > 0) for (const m of this.members.list()) want.set(m.id, m.peerUrls);
    else for (const m of initial) want.set(memberIdFor(m.peerUrls, this.opts.clusterToken), m.peerUrls);
    want.delete(this.memberId);
    for (const [id, urls] of want) {
      if (urls.length === 0) continue;
      const key = urls.join(',');
      const cur = this.transportPeers.get(id);
      if (cur === undefined) t.addPeer(id, urls);
      else if (cur !== key) t.updatePeer(id, urls);
      this.transportPeers.set(id, key);
    }
    for (const id of [...this.transportPeers.keys()]) {
      if (!want.has(id) && this.members.size > 0) {
        t.removePeer(id);
        this.transportPeers.delete(id);
      }
    }
  }

  private async restore(snap: Snapshot): Promise<void> {
    await restoreState(this.state, snap.data);
    // Before anything reads them again (the watches' re-authorization below asks both tables).
    this.kv.reload();
    this.authz.table.invalidate();
    this.tenants.reload();
    this.members.reload();
    this.confState = snap.metadata.confState;
    this.applied = Math.max(snap.metadata.index, this.kv.appliedIndex);
    this.snapshotIndex = snap.metadata.index;
    this.durableApplied = this.applied;
    this.restoredWatches();
    this.watchHub.reauthorize();
    this.leases.reload();
    this.onMembershipChanged();
    this.wakeApplied();
  }

  /** After a snapshot replaced the state: watchers catch up from the new history (or are canceled as compacted). */
  private restoredWatches(): void {
    const rev = this.kv.currentRevision;
    if (rev < this.watchHub.revision) {
      // A snapshot is only sent to a member behind it; never move the hub's "now" backwards.
      this.opts.logger?.warn({ revision: rev, watchRevision: this.watchHub.revision }, 'snapshot restored a revision behind the watch hub');
      return;
    }
    this.watchHub.restored(rev);
  }

  /** Raft's view of the latest snapshot, with the state machine as data (built on demand). */
  private snapshotWithData(): Snapshot {
    const s = this.log.snapshot();
    if (s.metadata.index === 0) return s;
    const now = Date.now();
    const c = this.snapCache;
    // Several lagging followers within a moment share one dump. The dump may be newer than the
    // snapshot's index: the receiver's state then skips the entries it already holds (the
    // applied index travels in the dump).
    if (c !== undefined && c.index === s.metadata.index && now - c.at < 1000) return { metadata: s.metadata, data: c.data };
    const data = dumpState(this.state);
    this.snapCache = { index: s.metadata.index, at: now, data };
    return { metadata: s.metadata, data };
  }

  // Runs beside applies and Readies (startSnapshot). Index and membership are taken together, so
  // they describe the same point. A snapshot installed meanwhile (restore) is newer: createSnapshot
  // then does nothing, snapshotIndex keeps the newer point (max), and compact stops at the
  // installed compaction point; compact also stops once the storage is closed.
  private async snapshotAndCompact(): Promise<void> {
    const index = this.applied;
    const conf = this.confState;
    // The log is never compacted past what the state holds durably.
    await this.state.flushed();
    this.durableApplied = Math.max(this.durableApplied, index);
    await this.log.createSnapshot(index, conf);
    this.snapshotIndex = Math.max(this.snapshotIndex, index);
    const compactTo = index - this.catchUp;
    if (compactTo > this.log.firstIndex()) await this.log.compact(compactTo);
  }

  private async flushState(): Promise<void> {
    if (this.flushing || this.stopped || this.applied <= this.durableApplied) return;
    this.flushing = true;
    const index = this.applied;
    try {
      await this.state.flushed();
      this.durableApplied = Math.max(this.durableApplied, index);
    } catch (err) {
      this.fail(err);
    } finally {
      this.flushing = false;
    }
  }

  // ---- reads ------------------------------------------------------------------------------

  private readBarrier(): Promise<void> {
    this.assertServing();
    return new Promise<void>((resolve, reject) => {
      this.readQueue.push({ resolve, reject, deadline: Date.now() + this.requestTimeoutMs });
      this.startReadRound();
    });
  }

  private readSeq = 0n;

  /** One ReadIndex round for every read waiting now; reads arriving later wait for the next. */
  private startReadRound(): void {
    if (this.readRound !== null || this.readQueue.length === 0 || this.stopped) return;
    const waiters = this.readQueue.splice(0);
    this.issueRound(waiters);
  }

  private issueRound(waiters: ReadWaiter[]): void {
    // A fresh context for every round and every retry (never reused: GUARANTEES L6). It names this
    // member, because the leader keys pending requests of all members by context.
    const ctxBytes = new Uint8Array(16);
    const dv = new DataView(ctxBytes.buffer);
    dv.setBigUint64(0, this.memberId);
    dv.setBigUint64(8, ++this.readSeq);
    const ctx = `${this.readSeq}`;
    this.readRound = { ctx, waiters, started: Date.now() };
    if (this.node.leader !== 0n) this.node.readIndex(ctxBytes);
  }

  private onReadStates(rs: readonly ReadState[]): void {
    for (const r of rs) {
      const round = this.readRound;
      if (round === null || r.requestCtx.byteLength !== 16) continue;
      const dv = new DataView(r.requestCtx.buffer, r.requestCtx.byteOffset, 16);
      if (dv.getBigUint64(0) !== this.memberId || `${dv.getBigUint64(8)}` !== round.ctx) continue;
      this.readRound = null;
      this.waitApplied(r.index, () => {
        for (const w of round.waiters) w.resolve();
      });
      this.startReadRound();
    }
  }

  private waitApplied(index: number, fn: () => void): void {
    if (this.applied >= index) fn();
    else this.appliedWaiters.push({ index, resolve: fn });
  }

  private wakeApplied(): void {
    if (this.appliedWaiters.length === 0) return;
    const ready = this.appliedWaiters.filter((w) => w.index <= this.applied);
    if (ready.length === 0) return;
    this.appliedWaiters = this.appliedWaiters.filter((w) => w.index > this.applied);
    for (const w of ready) w.resolve();
  }

  private onSoftState(s: SoftState): void {
    if (s.role !== 'leader') this.leases.demote();
    if (s.lead !== 0n) {
      this.retryProposals();
      this.publish();
      // ReadIndex requests pending at the old leader were dropped: ask the new one.
      const round = this.readRound;
      if (round !== null) {
        this.readRound = null;
        this.issueRound(round.waiters);
      }
    }
  }

  /** Periodic: timeouts, retries of lost read rounds and proposals, publishing this member. */
  private sweep(): void {
    if (this.stopped) return;
    this.writes.sweep();
    this.admin.sweep();
    const now = Date.now();
    const timeout = (): ServerError => new ServerError('TIMEOUT', 'etcdserver: request timed out');
    const round = this.readRound;
    if (round !== null) {
      const live = round.waiters.filter((w) => {
        if (w.deadline > now) return true;
        w.reject(timeout());
        return false;
      });
      if (live.length === 0) {
        this.readRound = null;
        this.startReadRound();
      } else if (now - round.started > Math.max(200, this.electionMs / 2)) {
        this.readRound = null;
        this.issueRound(live);
      } else {
        round.waiters = live;
      }
    }
    this.retryProposals();
    this.retry = this.retry.filter((p) => this.writes.has(p.seq) || this.admin.has(p.seq));
    this.publish();
  }

  private publish(): void {
    if (this.published || this.publishing || this.removed || this.node.leader === 0n) return;
    const me = this.members.get(this.memberId);
    const clientUrls = this.opts.advertiseClientUrls ?? [];
    if (me !== undefined && me.name === this.opts.name && me.clientUrls.join(',') === clientUrls.join(',')) {
      this.markPublished();
      return;
    }
    if (me === undefined) return; // not applied our own addition yet
    this.publishing = true;
    this.proposeAdmin({ kind: 'publish', publish: { id: this.memberId, name: this.opts.name, clientUrls } }).then(
      () => {
        this.publishing = false;
        this.markPublished();
      },
      () => {
        this.publishing = false;
      },
    );
  }

  private markPublished(): void {
    this.published = true;
    for (const w of this.readyWaiters.splice(0)) w();
  }

  /**
   * Resolves once this member has a leader and has published its name and client URLs through the
   * log (etcd serves clients only from then on). A member of a multi-member cluster needs a quorum
   * of its peers running for this.
   */
  async ready(): Promise<void> {
    if (!this.published) {
      await new Promise<void>((r) => {
        this.readyWaiters.push(r);
        this.publish();
      });
    }
    if (this.opts.authBootstrap === true) await this.auth.bootstrap();
  }

  // ---- helpers ----------------------------------------------------------------------------

  private assertServing(): void {
    if (this.fatal !== undefined) throw this.fatal;
    if (this.stopped || this.removed) throw new ServerError('STOPPED', 'etcdserver: server stopped');
  }

  private checkUrlsFree(urls: readonly string[], except: bigint): void {
    for (const m of this.members.list()) {
      if (m.id === except) continue;
      if (m.peerUrls.some((u) => urls.includes(u))) throw new ClusterError('PEER_URL_EXISTS', 'etcdserver: Peer URLs already exists');
    }
  }

  private fail(err: unknown): void {
    if (this.fatal !== undefined) return;
    this.fatal = err;
    this.opts.logger?.error({ err }, 'raft node failed');
    this.opts.onFatal?.(err);
    void this.close();
  }

  private header(revision: number): ResponseHeader {
    return { clusterId: this.clusterIdValue, memberId: this.memberId, revision, raftTerm: this.node.term };
  }

  private clusterHeader(): ResponseHeader {
    return { clusterId: this.clusterIdValue, memberId: this.memberId, revision: 0, raftTerm: this.node.term };
  }
}

/** The peer call a follower makes to ask the leader whether a learner may be promoted: `{"id": "<decimal>"}` → `{"inSync": boolean | null}`. */
const LEARNER_IN_SYNC_CALL = 'member.learner-in-sync';
const te = new TextEncoder();

/** The learner ID of a LEARNER_IN_SYNC_CALL; TypeError (the call is refused) for anything else. */
function parseLearnerId(body: Uint8Array): bigint {
  const m: unknown = JSON.parse(new TextDecoder().decode(body));
  const id = typeof m === 'object' && m !== null ? (m as { id?: unknown }).id : undefined;
  if (typeof id !== 'string' || !/^\d{1,20}$/.test(id)) throw new TypeError(`${LEARNER_IN_SYNC_CALL}: id must be a decimal string`);
  return BigInt(id);
}

/** etcd's check: every URL parses as scheme://host:port with nothing else. */
function checkUrls(urls: readonly string[]): void {
  const bad = (): never => {
    throw new ClusterError('MEMBER_BAD_URLS', 'etcdserver: given member URLs are invalid');
  };
  if (urls.length === 0) bad();
  for (const s of urls) {
    let u: URL;
    try {
      u = new URL(s);
    } catch {
      return bad();
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.port === '' || u.pathname !== '/' || u.search !== '' || u.hash !== '') bad();
  }
}

/** A lease entry, this leader's promotion, or a tenant deletion (which revokes leases), at its place in the batch. */
type LeaseEvent = { at: number; op: LeaseOp } | { at: -1; op: null } | { at: number; op: 'tenantDelete' };

/** The lease events of a batch that took effect (refused entries change nothing), in log order. */
function leaseAppliedEvents(events: readonly LeaseEvent[], res: { results: WriteResult[] } | null): LeaseApplied[] {
  const out: LeaseApplied[] = [];
  for (const e of events) {
    if (e.op === null) {
      out.push({ kind: 'promote' });
      continue;
    }
    if (e.op === 'tenantDelete') {
      const r = res?.results[e.at];
      if (r === undefined || !r.ok) continue;
      for (const id of ((r.response as ExternalResponse).value as TenantChangeValue).revokedLeases) {
        out.push({ kind: 'op', op: { type: 'revoke', id }, value: { type: 'revoke', deleted: 0 } });
      }
      continue;
    }
    const r = res?.results[e.at];
    if (r !== undefined && r.ok) out.push({ kind: 'op', op: e.op, value: (r.response as ExternalResponse).value as LeaseOpValue });
  }
  return out;
}

/** A tenant id from a request, refused at the edge when malformed (apply would refuse it too). */
function checkedTenantId(id: unknown): string {
  if (!validTenantId(id)) throw new TenantError('INVALID_TENANT_ID');
  return id;
}

/**
 * `base` with the fields `update` sets, all six checked here: a malformed quota must never reach
 * the log (its payload would not decode on the members).
 */
function checkedQuotas(base: TenantQuotas, update: Partial<TenantQuotas> | undefined): TenantQuotas {
  const merged: TenantQuotas = { ...base };
  if (update !== undefined && (typeof update !== 'object' || update === null)) throw new TenantError('INVALID_QUOTA');
  for (const f of Object.keys(UNLIMITED_QUOTAS) as (keyof TenantQuotas)[]) {
    const v = update?.[f];
    if (v !== undefined) merged[f] = v;
  }
  const invalid = validateQuotas(merged);
  if (invalid !== undefined) throw invalid;
  return merged;
}

function withGuard(entry: KvEntry, guard: KvEntry['guard']): KvEntry {
  return guard === undefined ? entry : { ...entry, guard };
}

/** The leases that the puts of a txn (both branches, nested) attach to. */
function txnLeases(txn: TxnRequest): bigint[] {
  const out: bigint[] = [];
  const walk = (t: TxnRequest): void => {
    for (const op of [...t.success, ...t.failure]) {
      if (op.type === 'put' && op.put.lease !== 0n) out.push(op.put.lease);
      else if (op.type === 'txn') walk(op.txn);
    }
  };
  walk(txn);
  return out;
}

/** The token signing key: the configured file, or one generated for this member alone. */
async function tokenKeyFile(opts: ServerOptions): Promise<string> {
  if (opts.authTokenKeyFile !== undefined) return opts.authTokenKeyFile;
  const file = join(opts.dataDir, 'token.key');
  try {
    await writeFile(file, await TokenService.generateKeyPem(), { mode: 0o600, flag: 'wx' });
    opts.logger?.warn({ file }, 'no --auth-token-key-file: generated a token signing key for this member only (tokens it issues are refused by other members)');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return file;
}

function every(ms: number, fn: () => void): () => void {
  const t = setInterval(fn, ms);
  t.unref();
  return () => clearInterval(t);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}


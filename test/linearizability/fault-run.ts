// One randomized fault run ("jepsen" run): three `keyward serve` processes, concurrent clients
// doing get / put / CAS on a few keys against random members, one fault in the middle, every
// operation recorded and checked for linearizability (test/harness/linearizability.ts), then the
// members' full contents compared once the cluster has healed. Used by jepsen.test.ts (one bounded
// run in `npm test`) and by scripts/jepsen.mjs (`npm run jepsen -- --runs N`).
//
// The process plumbing follows test/cluster/process-faults.test.ts (same flags, same readiness
// signal through startMemberProcess); it is kept here so that file stays untouched.
import { writeFileSync } from 'node:fs';
import { freePort } from '../harness/cluster.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterClient, KeywardError, KvClient, putRequest } from '../../src/client/index.js';
import { CompareResult, CompareTarget, type KeyValue } from '../../src/wire/index.js';
import { acknowledgedWrites, HistoryRecorder, observedReads, type Operation } from '../harness/history.js';
import { checkHistory, type CheckResult } from '../harness/linearizability.js';
import { Partitioner, TEST_FAULT_FILE_ENV } from '../harness/partition.js';
import { startMemberProcess, type MemberProcess } from '../harness/process.js';
import { staticMemberArgs } from '../harness/process-cluster.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';
import { txnOperation } from './txn-workload.js';

export const FAULTS = ['kill-leader', 'kill-follower', 'pause-leader', 'partition-leader', 'kill-all', 'membership'] as const;
export type Fault = (typeof FAULTS)[number];
/** register: single-key get/put/CAS (L1); txn: multi-key txns and reads over 3 keys, mixed with single-key operations on them (L2). */
export const WORKLOADS = ['register', 'txn'] as const;
export type WorkloadKind = (typeof WORKLOADS)[number];

export interface RunOptions {
  seed: number;
  /** Default: chosen by the seed. */
  fault?: Fault;
  clients?: number;
  /** Default: register. */
  workload?: WorkloadKind;
  /** Default: 5 for register, 3 for txn (the checker searches a txn workload's keys as one group). */
  keys?: number;
  /** Workload before the fault, and after healing, in ms. */
  beforeMs?: number;
  afterMs?: number;
  /** Fault duration (kill → restart, or SIGSTOP → SIGCONT), ms. */
  faultMs?: number;
  log?: (line: string) => void;
  /**
   * Serve the workload's gets as serializable (local) reads. They are not linearizable, so a run
   * with this set is expected to fail: it shows the checker catches stale reads on a real cluster.
   */
  serializableReads?: boolean;
}

export interface RunReport {
  seed: number;
  fault: Fault;
  workload: WorkloadKind;
  /** Which member the fault hit and whether it was the leader. */
  target: string;
  operations: number;
  completed: number;
  /** Refused connections: provably no effect. */
  failed: number;
  unknown: number;
  /** Completed operations by kind, e.g. "get 500, put 300, cas 40/120, cas-rev 50/110" (succeeded/answered). */
  mix: string;
  check: CheckResult;
  /** L3: problems with header revisions (per-client monotonicity, unique write revisions). */
  revisionProblems: string[];
  /** Null when every member converged to the same revision and content. */
  divergence: string | null;
  /**
   * L4: acknowledged writes missing from the converged store: each one's key, read at the
   * revision it was acknowledged with, must hold its value with that mod revision.
   */
  lostWrites: string[];
  historyFile: string | null;
  /**
   * partition-leader only: the member the majority side elected while the old leader was cut off
   * (null: none within the cut), and L6 on the isolated old leader (null: its linearizable read
   * of a key written on the majority side timed out or returned the new value, never the old).
   */
  partition?: { newLeader: string | null; staleRead: string | null };
}

const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
/**
 * Client timeout. Shorter than a leader pause, so clients stuck on the paused member give up
 * (unknown outcome) and go on against the others while the rest of the cluster elects a new
 * leader and moves on: then the old leader wakes up behind it, the interesting moment.
 */
const REQUEST_TIMEOUT_MS = 1000;

/** mulberry32: a small seeded PRNG, so a failing run's choices reproduce from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Slot {
  name: string;
  peerUrl: string;
  clientUrl: string;
  dataDir: string;
  proc: MemberProcess | null;
  /** Test-only fault file the member polls (harness/partition.ts), and its ID once started. */
  faultFile: string;
  memberId: string | null;
  /** Client used for maintenance calls (status, final ranges). */
  admin: KvClient;
}

export class ProcessCluster {
  /** Network cuts between members (every member runs with a fault file). */
  readonly partition: Partitioner;

  private constructor(
    readonly slots: Slot[],
    private readonly dir: TmpDir,
  ) {
    this.partition = new Partitioner(slots);
  }

  static async create(n: number): Promise<ProcessCluster> {
    const dir = makeTmpDir('keyward-jepsen-');
    const slots: Slot[] = [];
    for (let i = 0; i < n; i++) {
      const clientUrl = `http://127.0.0.1:${await freePort()}`;
      slots.push({
        name: `j${i}`,
        peerUrl: `http://127.0.0.1:${await freePort()}`,
        clientUrl,
        dataDir: dir.sub(`j${i}`),
        proc: null,
        faultFile: dir.sub(`j${i}.fault.json`),
        memberId: null,
        admin: new KvClient({ endpoints: [clientUrl], timeoutMs: 1000 }),
      });
    }
    return new ProcessCluster(slots, dir);
  }

  /** `existing`: join a running cluster the members were added to (etcd's --initial-cluster-state existing). */
  async start(which: number[] = this.slots.map((_, i) => i), existing = false): Promise<void> {
    await Promise.all(
      which.map(async (i) => {
        const s = this.slots[i]!;
        const args = staticMemberArgs(s, this.slots, 'jepsen', { heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS });
        if (existing) args.push('--initial-cluster-state', 'existing');
        s.proc = await startMemberProcess(s.dataDir, args, { [TEST_FAULT_FILE_ENV]: s.faultFile });
        s.memberId = s.proc.memberId;
      }),
    );
  }

  async kill(i: number): Promise<void> {
    const p = this.slots[i]!.proc;
    if (p === null) return;
    this.slots[i]!.proc = null;
    p.child.kill('SIGKILL');
    await p.exited;
  }

  signal(i: number, sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.slots[i]!.proc?.child.kill(sig);
  }

  /** Index of a running member that reports itself as leader, waiting up to `ms`. */
  async leader(ms = 15_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = 0; i < this.slots.length; i++) {
        const s = this.slots[i]!;
        if (s.proc === null) continue;
        try {
          const st = await s.admin.status();
          if (st.leader !== 0n && st.header.memberId === st.leader) return i;
        } catch {
          // not answering (yet)
        }
      }
      if (Date.now() > deadline) throw new Error('no leader elected');
      await sleep(50);
    }
  }

  /**
   * Index among `among` of a member that reports itself as leader and is not `exceptId` (hex),
   * waiting up to `ms`; null if none did.
   */
  async leaderAmong(among: number[], exceptId: string, ms: number): Promise<number | null> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      for (const i of among) {
        try {
          const st = await this.slots[i]!.admin.status();
          if (st.leader !== 0n && st.header.memberId === st.leader && st.leader.toString(16) !== exceptId) return i;
        } catch {
          // not answering
        }
      }
      await sleep(50);
    }
    return null;
  }

  /**
   * L9: removes member i through the member API of the others, kills it, and adds it back as a
   * new member: a new peer URL (member IDs derive from peer URLs, and a removed ID never comes
   * back) and an empty data dir, joining with --initial-cluster-state existing. The client URL
   * stays, so the workload's clients find it again. Returns what happened, for the log.
   */
  async replaceMember(i: number): Promise<string> {
    const s = this.slots[i]!;
    const others = this.slots.filter((_, j) => j !== i).map((o) => o.clientUrl);
    const cc = new ClusterClient({ endpoints: others, timeoutMs: 5000 });
    const oldId = BigInt(`0x${s.memberId!}`);
    await cc.memberRemove(oldId);
    const left = (await cc.memberList()).members.map((m) => m.id.toString(16));
    await this.kill(i);
    s.peerUrl = `http://127.0.0.1:${await freePort()}`;
    s.dataDir = this.dir.sub(`${s.name}-${Date.now()}`);
    const added = await cc.memberAdd([s.peerUrl]);
    await this.start([i], true);
    if (s.memberId !== added.member.id.toString(16)) throw new Error(`${s.name} started as ${s.memberId}, added as ${added.member.id.toString(16)}`);
    const now = (await cc.memberList()).members.map((m) => m.id.toString(16));
    return `removed ${oldId.toString(16)} (members then ${left.join(',')}), added ${s.memberId} with an empty data dir (members now ${now.join(',')})`;
  }

  /** Serializable full range of member i: its local revision and every key. */
  async contents(i: number): Promise<{ revision: number; kvs: KeyValue[] }> {
    const r = await this.slots[i]!.admin.range({ key: new Uint8Array([0]), rangeEnd: new Uint8Array([0]), serializable: true });
    return { revision: r.header.revision, kvs: r.kvs };
  }

  async dispose(): Promise<void> {
    for (let i = 0; i < this.slots.length; i++) {
      // A stopped process is killed as well; SIGCONT first only to be tidy.
      this.signal(i, 'SIGCONT');
      await this.kill(i);
    }
    this.dir.cleanup();
  }
}

interface Workload {
  stop(): Promise<void>;
}

function runClients(cluster: ProcessCluster, rec: HistoryRecorder, seed: number, keys: string[], clients: number, serializable: boolean, txnPrefix: string | null): Workload {
  let stopped = false;
  const perMember = cluster.slots.map((s) => new KvClient({ endpoints: [s.clientUrl], timeoutMs: REQUEST_TIMEOUT_MS }));
  let written = 0;
  const workers = Array.from({ length: clients }, async (_, c) => {
    const rnd = prng(seed * 1009 + c + 1); // one stream per client, so its choices do not depend on the others' timing
    const seen = new Map<string, { value: string; rev: number }>(); // last value (and its mod revision) this client saw per key: CAS expects it
    // Like a client with several endpoints, one that failed on a member leaves it alone for a while.
    const avoidUntil = perMember.map(() => 0);
    while (!stopped) {
      const now = Date.now();
      const usable = perMember.map((_, i) => i).filter((i) => avoidUntil[i]! <= now);
      const pool = usable.length > 0 ? usable : perMember.map((_, i) => i);
      const m = pool[Math.floor(rnd() * pool.length)]!;
      const kv = perMember[m]!;
      const member = cluster.slots[m]!.name;
      const key = keys[Math.floor(rnd() * keys.length)]!;
      const r = rnd();
      if (txnPrefix !== null && rnd() < 0.75) {
        const nextValue = (): string => `c${c}-${written++}`;
        await txnOperation({ rec, client: c, member, kv, rnd, keys, prefix: txnPrefix, seen, nextValue, serializable, onError: (op, e) => recordError(rec, op, e) });
      } else if (r < 0.45) {
        const op = rec.invoke(c, key, { f: 'get' }, member);
        try {
          const res = await kv.range({ key: enc(key), serializable });
          const kv0 = res.kvs[0];
          const value = kv0 === undefined ? null : dec(kv0.value);
          rec.ok(op, { f: 'get', value }, res.header.revision, kv0?.modRevision);
          if (kv0 !== undefined && value !== null) seen.set(key, { value, rev: kv0.modRevision });
        } catch (e) {
          recordError(rec, op, e);
        }
      } else if (r < 0.75) {
        const value = `c${c}-${written++}`;
        const op = rec.invoke(c, key, { f: 'put', value }, member);
        try {
          const res = await kv.put({ key: enc(key), value: enc(value) });
          rec.ok(op, { f: 'put' }, res.header.revision);
          seen.set(key, { value, rev: res.header.revision });
        } catch (e) {
          recordError(rec, op, e);
        }
      } else {
        const last = seen.get(key) ?? { value: 'c0-0', rev: 1 };
        const value = `c${c}-${written++}`;
        const byRev = rnd() < 0.5 && seen.has(key);
        const op = byRev
          ? rec.invoke(c, key, { f: 'cas-rev', expectRev: last.rev, expect: last.value, value }, member)
          : rec.invoke(c, key, { f: 'cas', expect: last.value, value }, member);
        try {
          const res = await kv.txn({
            compare: [
              byRev
                ? { key: enc(key), rangeEnd: new Uint8Array(0), target: CompareTarget.MOD, result: CompareResult.EQUAL, operand: { kind: 'modRevision', modRevision: last.rev } }
                : { key: enc(key), rangeEnd: new Uint8Array(0), target: CompareTarget.VALUE, result: CompareResult.EQUAL, operand: { kind: 'value', value: enc(last.value) } },
            ],
            success: [{ type: 'put', put: putRequest({ key: enc(key), value: enc(value) }) }],
            failure: [],
          });
          rec.ok(op, { f: 'cas', ok: res.succeeded }, res.header.revision);
          if (res.succeeded) seen.set(key, { value, rev: res.header.revision });
        } catch (e) {
          recordError(rec, op, e);
        }
      }
      if (rec.operations.at(-1)?.output === null) {
        avoidUntil[m] = Date.now() + 1000; // member down, paused, or without a leader
        await sleep(20);
      }
    }
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** Records a client error: a refused connection proves the request took no effect; anything else leaves the outcome unknown. */
function recordError(rec: HistoryRecorder, op: Operation, e: unknown): void {
  const text = errText(e);
  if (e instanceof KeywardError && e.httpStatus === 0 && /ECONNREFUSED/.test(text)) rec.fail(op, text);
  else rec.unknown(op, text);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 160) : String(e);
}

/** L3 checks on the recorded header revisions. */
function revisionProblems(ops: readonly Operation[]): string[] {
  const out: string[] = [];
  const lastByClient = new Map<number, Operation>();
  const writeRevs = new Map<number, Operation>();
  for (const op of [...ops].filter((o) => o.complete !== null).sort((a, b) => a.invoke - b.invoke)) {
    const rev = op.revision;
    if (rev === undefined) continue;
    const prev = lastByClient.get(op.client);
    if (prev !== undefined && prev.revision! > rev) {
      out.push(`client ${op.client}: header revision went back from ${prev.revision} (#${prev.id} @${prev.member}) to ${rev} (#${op.id} @${op.member})`);
    }
    lastByClient.set(op.client, op);
    // L3: a txn writing several keys gets one revision, and no other write gets it.
    if (acknowledgedWrites(op).length > 0) {
      const other = writeRevs.get(rev);
      if (other !== undefined) out.push(`revision ${rev} acknowledged for two writes: #${other.id} and #${op.id}`);
      writeRevs.set(rev, op);
    }
  }
  // Every value is written once, so it has exactly one mod revision: the one its write was
  // acknowledged with, and the one every read that returns it reports (what cas-rev relies on).
  // And the other way round, one value per key and mod revision: with both, a compare on a mod
  // revision holds exactly when the key holds the value seen at that revision (mod 0: absent).
  const modRevOf = new Map<string, { rev: number; op: Operation }>();
  const valueAt = new Map<string, { value: string; op: Operation }>();
  for (const op of ops) {
    const seenHere = [
      ...observedReads(op),
      ...(op.revision === undefined ? [] : acknowledgedWrites(op).map((w) => ({ key: w.key, value: w.value, mod: op.revision! }))),
    ];
    for (const { key, value, mod: rev } of seenHere) {
      if (value === null) continue;
      const k = `${key}\u0000${value}`;
      const seen = modRevOf.get(k);
      if (seen === undefined) modRevOf.set(k, { rev, op });
      else if (seen.rev !== rev) out.push(`${key}=${value} has mod revision ${seen.rev} (#${seen.op.id}) and ${rev} (#${op.id})`);
      const kr = `${key}\u0000${rev}`;
      const there = valueAt.get(kr);
      if (there === undefined) valueAt.set(kr, { value, op });
      else if (there.value !== value) out.push(`${key} at mod revision ${rev} holds ${there.value} (#${there.op.id}) and ${value} (#${op.id})`);
    }
  }
  return out;
}

/**
 * L4: every acknowledged write is in the converged store's history. The run never compacts, so the
 * key read at the write's acknowledged revision must hold the written value with that mod revision
 * (a write lost in a crash and its revision reused by another shows as a different value). Read
 * serializably from the first member after convergence (all members are identical then).
 */
async function lostAcknowledgedWrites(cluster: ProcessCluster, ops: readonly Operation[]): Promise<string[]> {
  const writes: Array<{ op: Operation; key: string; value: string | null; rev: number }> = [];
  for (const op of ops) {
    if (op.revision === undefined) continue;
    for (const w of acknowledgedWrites(op)) writes.push({ op, key: w.key, value: w.value, rev: op.revision });
  }
  const out: string[] = [];
  const admin = cluster.slots[0]!.admin;
  // A few reads in flight at once: one per write would otherwise take seconds.
  for (let i = 0; i < writes.length; i += 16) {
    await Promise.all(
      writes.slice(i, i + 16).map(async (w) => {
        try {
          const res = await admin.range({ key: enc(w.key), revision: w.rev, serializable: true });
          const kv0 = res.kvs[0];
          const got = kv0 === undefined ? 'absent' : `${dec(kv0.value)} (mod ${kv0.modRevision})`;
          // A delete: the key is absent at that revision.
          const lost = w.value === null ? kv0 !== undefined : kv0 === undefined || dec(kv0.value) !== w.value || kv0.modRevision !== w.rev;
          if (lost) {
            out.push(`#${w.op.id} ${w.key}=${w.value ?? '(deleted)'} acknowledged at revision ${w.rev}; the key at that revision is ${got}`);
          }
        } catch (e) {
          out.push(`#${w.op.id} ${w.key}=${w.value} at revision ${w.rev}: read failed: ${errText(e)}`);
        }
      }),
    );
  }
  return out;
}

/** Waits until every member reports the same local revision and the same content; null when they do. */
async function convergence(cluster: ProcessCluster, ms: number): Promise<string | null> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      const all = await Promise.all(cluster.slots.map((_, i) => cluster.contents(i)));
      const render = all.map((c) =>
        JSON.stringify({ revision: c.revision, kvs: c.kvs.map((kv) => [dec(kv.key), dec(kv.value), kv.createRevision, kv.modRevision, kv.version]) }),
      );
      if (render.every((r) => r === render[0])) return null;
      last = all.map((c, i) => `${cluster.slots[i]!.name}: revision ${c.revision}, ${c.kvs.length} keys`).join('; ');
    } catch (e) {
      last = `a member did not answer: ${errText(e)}`;
    }
    if (Date.now() > deadline) return `members did not converge within ${ms} ms: ${last}`;
    await sleep(100);
  }
}

export async function jepsenRun(opts: RunOptions): Promise<RunReport> {
  const rnd = prng(opts.seed);
  const fault = opts.fault ?? FAULTS[opts.seed % FAULTS.length]!;
  const log = opts.log ?? (() => {});
  const workload = opts.workload ?? 'register';
  // The txn workload's keys are the only ones under its prefix (the L6 key is jepsen/<seed>/l6).
  const txnPrefix = workload === 'txn' ? `jepsen/${opts.seed}/t` : null;
  const keys = Array.from({ length: opts.keys ?? (workload === 'txn' ? 3 : 5) }, (_, i) => `${txnPrefix ?? `jepsen/${opts.seed}/k`}${i}`);
  const cluster = await ProcessCluster.create(3);
  const rec = new HistoryRecorder();
  let target = '';
  try {
    await cluster.start();
    await cluster.leader();
    log(`seed ${opts.seed}: cluster up, fault ${fault}, workload ${workload}`);
    const w = runClients(cluster, rec, opts.seed, keys, opts.clients ?? 8, opts.serializableReads ?? false, txnPrefix);
    await sleep(opts.beforeMs ?? 1500);
    const lead = await cluster.leader();
    const faultMs = opts.faultMs ?? 1500;
    let partition: RunReport['partition'];
    if (fault === 'partition-leader') {
      target = `${cluster.slots[lead]!.name} (leader)`;
      const cutMs = Math.max(faultMs, 5 * ELECTION_MS);
      const others = [0, 1, 2].filter((i) => i !== lead);
      log(`isolate ${target} from both followers for ${cutMs} ms`);
      const cutAt = Date.now();
      cluster.partition.isolate(lead);
      const elected = await cluster.leaderAmong(others, cluster.slots[lead]!.memberId!, cutMs);
      let staleRead: string | null = null;
      if (elected !== null) {
        log(`${cluster.slots[elected]!.name} elected ${Date.now() - cutAt} ms into the cut`);
        staleRead = await isolatedReadCheck(cluster, rec, elected, lead, opts.seed, Math.max(0, cutAt + cutMs - Date.now() - 200));
      }
      partition = { newLeader: elected === null ? null : cluster.slots[elected]!.name, staleRead };
      await sleep(Math.max(0, cutAt + cutMs - Date.now()));
      cluster.partition.heal();
    } else if (fault === 'pause-leader') {
      target = `${cluster.slots[lead]!.name} (leader)`;
      const pauseMs = Math.max(faultMs, 5 * ELECTION_MS);
      log(`SIGSTOP ${target} for ${pauseMs} ms`);
      const before = rec.operations.filter((o) => o.output !== null).length;
      cluster.signal(lead, 'SIGSTOP');
      await sleep(pauseMs);
      log(`${rec.operations.filter((o) => o.output !== null).length - before} operations completed during the pause`);
      cluster.signal(lead, 'SIGCONT');
    } else if (fault === 'membership') {
      const victim = (lead + 1 + Math.floor(rnd() * 2)) % 3;
      target = `${cluster.slots[victim]!.name} (follower)`;
      log(`remove ${target} with the member API, wipe it, add it back as a new member`);
      log(await cluster.replaceMember(victim));
      await sleep(faultMs);
    } else if (fault === 'kill-all') {
      // L4 with three nodes: every member SIGKILLed at once (no member survives to replicate from),
      // then all restarted from their data dirs. Clients see refused connections meanwhile.
      target = 'all members';
      const acked = rec.operations.filter((o) => o.output !== null && o.input.f !== 'get').length;
      log(`kill -9 all members (${acked} writes answered so far), restart after ${faultMs} ms`);
      await Promise.all(cluster.slots.map((_, i) => cluster.kill(i)));
      await sleep(faultMs);
      await cluster.start();
      const elected = await cluster.leader();
      log(`${cluster.slots[elected]!.name} leads after the restart`);
    } else {
      const victim = fault === 'kill-leader' ? lead : (lead + 1 + Math.floor(rnd() * 2)) % 3;
      target = `${cluster.slots[victim]!.name}${victim === lead ? ' (leader)' : ' (follower)'}`;
      log(`kill -9 ${target}, restart after ${faultMs} ms`);
      await cluster.kill(victim);
      await sleep(faultMs);
      await cluster.start([victim]);
    }
    log('healed');
    await sleep(opts.afterMs ?? 1500);
    await w.stop();
    await cluster.leader();
    // Final linearizable reads of every key join the history: a lost acknowledged write shows here.
    for (const key of keys) {
      const op = rec.invoke(-1, key, { f: 'get' }, cluster.slots[0]!.name);
      try {
        const res = await cluster.slots[0]!.admin.range({ key: enc(key) });
        const kv0 = res.kvs[0];
        rec.ok(op, { f: 'get', value: kv0 === undefined ? null : dec(kv0.value) }, res.header.revision);
      } catch (e) {
        rec.unknown(op, errText(e));
      }
    }
    const divergence = await convergence(cluster, 15_000);
    const ops = rec.operations;
    const lostWrites = divergence === null ? await lostAcknowledgedWrites(cluster, ops) : [];
    const check = checkHistory(ops);
    const problems = revisionProblems(ops);
    if (divergence === null) {
      // L3: the cluster started empty (revision 1) and only the workload wrote, one revision per
      // write that took effect: every acknowledged write, plus some of the unknown ones.
      const final = (await cluster.contents(0)).revision;
      const writes = ops.filter((o) => o.input.f !== 'get' && o.input.f !== 'mget' && o.failed !== true);
      const acked = writes.filter((o) => acknowledgedWrites(o).length > 0).length;
      const unknown = writes.filter((o) => o.output === null).length;
      log(`converged at revision ${final}: ${acked} acknowledged writes, ${unknown} unknown`);
      if (final - 1 < acked || final - 1 > acked + unknown) {
        problems.push(`final revision ${final} does not fit ${acked} acknowledged and ${unknown} unknown writes (expected ${acked + 1}..${acked + unknown + 1})`);
      }
    }
    const completed = ops.filter((o) => o.output !== null).length;
    const failed = ops.filter((o) => o.failed === true).length;
    const answered = ops.filter((o) => o.output !== null);
    const count = (f: string, ok?: boolean): number =>
      answered.filter((o) => o.input.f === f && (ok === undefined || (o.output?.f === 'cas' && o.output.ok === ok))).length;
    const txns = answered.filter((o) => o.output?.f === 'txn');
    const mix =
      `get ${count('get')}, put ${count('put')}, cas ${count('cas', true)}/${count('cas')}, cas-rev ${count('cas-rev', true)}/${count('cas-rev')}` +
      (workload === 'txn' ? `, mget ${count('mget')}, txn ${txns.filter((o) => o.output?.f === 'txn' && o.output.ok).length}/${txns.length}` : '');
    let historyFile: string | null = null;
    if (!check.ok || problems.length > 0 || divergence !== null || lostWrites.length > 0) {
      historyFile = join(tmpdir(), `keyward-jepsen-seed-${opts.seed}.json`);
      writeFileSync(historyFile, JSON.stringify({ seed: opts.seed, fault, workload, target, ops }, null, 1));
    }
    return {
      seed: opts.seed, fault, workload, target, operations: ops.length, mix, completed, failed, unknown: ops.length - completed - failed, check, revisionProblems: problems, divergence, lostWrites, historyFile,
      ...(partition !== undefined ? { partition } : {}),
    };
  } finally {
    await cluster.dispose();
  }
}

/**
 * L6 on an isolated old leader: a key is written through the new leader, then read linearizably
 * on the old one. The old leader cannot confirm its leadership (no quorum answers it), so the read
 * must not answer at all, or answer with the new value once healed; the old value is a stale read.
 * Returns null when it held, else what went wrong. The key is outside the workload's keys.
 */
async function isolatedReadCheck(cluster: ProcessCluster, rec: HistoryRecorder, newLeader: number, oldLeader: number, seed: number, ms: number): Promise<string | null> {
  // Both operations join the history (client -2), so the checker and the L3 revision count see them.
  const name = `jepsen/${seed}/l6`;
  const key = enc(name);
  const put = rec.invoke(-2, name, { f: 'put', value: 'after-cut' }, cluster.slots[newLeader]!.name);
  try {
    const res = await cluster.slots[newLeader]!.admin.put({ key, value: enc('after-cut') });
    rec.ok(put, { f: 'put' }, res.header.revision);
  } catch (e) {
    rec.unknown(put, errText(e));
    return `write through the new leader failed: ${errText(e)}`;
  }
  const reader = new KvClient({ endpoints: [cluster.slots[oldLeader]!.clientUrl], timeoutMs: Math.max(200, ms) });
  const get = rec.invoke(-2, name, { f: 'get' }, cluster.slots[oldLeader]!.name);
  try {
    const res = await reader.range({ key });
    const kv0 = res.kvs[0];
    const value = kv0 === undefined ? null : dec(kv0.value);
    rec.ok(get, { f: 'get', value }, res.header.revision, kv0?.modRevision);
    return value === 'after-cut' ? null : `isolated old leader answered a linearizable read with ${JSON.stringify(value)} instead of "after-cut"`;
  } catch (e) {
    rec.unknown(get, errText(e));
    return null; // timed out or refused: no answer is not a stale answer
  }
}

export function summarize(r: RunReport): string {
  const verdict = passed(r) ? 'OK' : 'FAIL';
  const lines = [
    `seed ${r.seed} fault ${r.fault}${r.workload === 'register' ? '' : ` workload ${r.workload}`} on ${r.target}: ${verdict}; ${r.operations} ops (${r.completed} completed, ${r.failed} refused, ${r.unknown} unknown; ${r.mix})`,
  ];
  if (!r.check.ok) lines.push(r.check.message);
  for (const p of r.revisionProblems.slice(0, 10)) lines.push(`L3: ${p}`);
  if (r.divergence !== null) lines.push(`convergence: ${r.divergence}`);
  for (const l of r.lostWrites.slice(0, 10)) lines.push(`L4: ${l}`);
  if (r.historyFile !== null) lines.push(`history: ${r.historyFile}`);
  if (r.partition !== undefined) lines.push(`partition: new leader ${r.partition.newLeader ?? 'NONE'} during the cut; L6 on the isolated leader: ${r.partition.staleRead ?? 'no stale read'}`);
  return lines.join('\n');
}

export function passed(r: RunReport): boolean {
  const partitionOk = r.partition === undefined || (r.partition.newLeader !== null && r.partition.staleRead === null);
  return r.check.ok && r.revisionProblems.length === 0 && r.divergence === null && r.lostWrites.length === 0 && partitionOk;
}

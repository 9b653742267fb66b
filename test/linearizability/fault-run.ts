// One randomized fault run ("jepsen" run): three `keyward serve` processes, concurrent clients
// doing get / put / CAS on a few keys against random members, one fault in the middle, every
// operation recorded and checked for linearizability (test/harness/linearizability.ts), then the
// members' full contents compared once the cluster has healed. Used by jepsen.test.ts (one bounded
// run in `npm test`) and by scripts/jepsen.mjs (`npm run jepsen -- --runs N`).
//
// The processes are test/harness/fault-cluster.ts's ProcessCluster.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardError, KvClient, putRequest, WatchClient } from '../../src/client/index.js';
import { CompareResult, CompareTarget, GrpcCode, prefixEnd } from '../../src/wire/index.js';
import { acknowledgedWrites, HistoryRecorder, observedReads, type Operation } from '../harness/history.js';
import { checkHistory, type CheckResult } from '../harness/linearizability.js';
import { dec, ELECTION_MS, enc, errText, prng, ProcessCluster, sleep, waitFor } from '../harness/fault-cluster.js';
import { txnOperation } from './txn-workload.js';

// New faults go at the end: with --fault given, an existing fault's run is what it was (its
// choices draw from the seed's stream in the same order); only the fault a bare seed picks moves.
export const FAULTS = ['kill-leader', 'kill-follower', 'pause-leader', 'partition-leader', 'kill-all', 'membership', 'remove-leader', 'learner-promote'] as const;
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
   * learner-promote only: the learner catches up by snapshot (the members snapshot every 200
   * entries and the leader's log is compacted past index 1 before it is added) rather than by the
   * leader's log. Default: chosen by the seed.
   */
  learnerSnapshot?: boolean;
  /**
   * Serve the workload's gets as serializable (local) reads. They are not linearizable, so a run
   * with this set is expected to fail: it shows the checker catches stale reads on a real cluster.
   */
  serializableReads?: boolean;
  /**
   * Run the cluster as production does (no --insecure): mutual TLS on the client and peer ports,
   * peer certificates bound to member names, auth on. Members added by a fault get their
   * certificates from the CAs first (`keyward certs add-member`). Authorization is exercised
   * under the fault: the workload's clients connect as WORKLOAD_USER, whose certificate (CN) and
   * role root made before the workload started, with READWRITE on exactly the run's prefix
   * `jepsen/<seed>/`; INTRUDER_USER, with READ only there, tries writes on the workload's keys all
   * through the run (RunReport.authz). The harness's own calls (status, members, final reads) are root.
   */
  secure?: boolean;
}

export interface RunReport {
  seed: number;
  fault: Fault;
  workload: WorkloadKind;
  secure: boolean;
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
  /**
   * L7: serializable reads (made beside the history) that were wrong rather than stale: the
   * converged store, read at the revision the member answered with, holds something else.
   */
  wrongStaleReads: string[];
  /** How many serializable reads L7 checked. */
  staleReadsChecked: number;
  historyFile: string | null;
  /**
   * partition-leader only: the member the majority side elected while the old leader was cut off
   * (null: none within the cut), and L6 on the isolated old leader (null: its linearizable read
   * of a key written on the majority side timed out or returned the new value, never the old).
   */
  partition?: { newLeader: string | null; staleRead: string | null };
  /**
   * remove-leader and learner-promote (L9): what the membership change did, for the summary, and
   * what went wrong with it (the removed leader kept running, no new leader, a learner promoted
   * while it could not be in sync, a promotion that never took effect, ...). Empty: it held.
   */
  membership?: { note: string; problems: string[] };
  /**
   * Secure runs only: what showed the cluster did not run as production does (auth off on a
   * member, a plaintext URL in the member list, a client without a certificate served). Empty: it did.
   */
  security?: string[];
  /**
   * Secure runs only: INTRUDER_USER's writes, by phase of the run (before the fault, while it
   * lasts, after it healed), and what went wrong: a write that succeeded or took effect (found in
   * the converged history), an answer other than etcd's permission denied, WORKLOAD_USER allowed
   * a write outside its prefix. Unanswered attempts (a member down or paused) prove nothing either way.
   */
  authz?: { attempts: number; denied: { before: number; during: number; after: number }; unanswered: number; problems: string[] };
}

/**
 * Client timeout. Shorter than a leader pause, so clients stuck on the paused member give up
 * (unknown outcome) and go on against the others while the rest of the cluster elects a new
 * leader and moves on: then the old leader wakes up behind it, the interesting moment.
 */
const REQUEST_TIMEOUT_MS = 1000;




interface Workload {
  stop(): Promise<void>;
}

/** L7: a serializable read made beside the linearizable history, checked on its own after the run. */
export interface StaleRead {
  member: string;
  key: string;
  /** The value read (null: absent) and its mod revision. */
  value: string | null;
  modRevision: number;
  /** The revision the member said it answered at. */
  revision: number;
}

/** Slot indices the workload's clients may send to. */
type Endpoints = () => readonly number[];

/**
 * etcd clientv3's endpoint auto-sync, for the faults that change membership for good: every
 * SYNC_MS the member list is asked of a member the clients use, and the clients' endpoints become
 * the client URLs it names. A removed member drops out (clients sent there fail over to the rest),
 * a new member comes in once it has published its client URL. Until the first answer: `initial`.
 */
const SYNC_MS = 200;
function syncedEndpoints(cluster: ProcessCluster, initial: readonly number[]): { endpoints: Endpoints; stop(): Promise<void> } {
  let current = [...initial];
  let stopped = false;
  const loop = (async () => {
    for (let turn = 0; !stopped; turn++) {
      for (let k = 0; k < current.length; k++) {
        const i = current[(turn + k) % current.length]!;
        try {
          const urls = new Set((await cluster.members(i, 1000).memberList()).members.flatMap((m) => m.clientUrls.map((u) => u.replace(/\/+$/, ''))));
          const next = cluster.slots.map((_, j) => j).filter((j) => urls.has(cluster.slots[j]!.clientUrl));
          if (next.length > 0) current = next;
          break;
        } catch {
          // not answering (stopped, removed, no leader): ask the next one
        }
      }
      await sleep(SYNC_MS);
    }
  })();
  return {
    endpoints: () => current,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

function runClients(cluster: ProcessCluster, rec: HistoryRecorder, seed: number, keys: string[], clients: number, serializable: boolean, txnPrefix: string | null, endpoints: Endpoints, user: string): Workload & { staleReads: StaleRead[] } {
  let stopped = false;
  const staleReads: StaleRead[] = [];
  // One client per member, made when a member is first used (a member added later included).
  const perMember: KvClient[] = [];
  const clientOf = (i: number): KvClient => (perMember[i] ??= cluster.kv([cluster.slots[i]!.clientUrl], REQUEST_TIMEOUT_MS, user));
  let written = 0;
  const workers = Array.from({ length: clients }, async (_, c) => {
    const rnd = prng(seed * 1009 + c + 1); // one stream per client, so its choices do not depend on the others' timing
    const seen = new Map<string, { value: string; rev: number }>(); // last value (and its mod revision) this client saw per key: CAS expects it
    // Like a client with several endpoints, one that failed on a member leaves it alone for a while.
    const avoidUntil: number[] = [];
    while (!stopped) {
      const now = Date.now();
      const all = endpoints();
      const usable = all.filter((i) => (avoidUntil[i] ?? 0) <= now);
      const pool = usable.length > 0 ? usable : all;
      const m = pool[Math.floor(rnd() * pool.length)]!;
      const kv = clientOf(m);
      const member = cluster.slots[m]!.name;
      const key = keys[Math.floor(rnd() * keys.length)]!;
      const r = rnd();
      if (txnPrefix !== null && rnd() < 0.75) {
        const nextValue = (): string => `c${c}-${written++}`;
        await txnOperation({ rec, client: c, member, kv, rnd, keys, prefix: txnPrefix, seen, nextValue, serializable, onError: (op, e) => recordError(rec, op, e) });
      } else if (r < 0.1 && !serializable) {
        // L7: a serializable read may be stale, never wrong. Not part of the linearizable
        // history: checked after the run against the converged store at the revision it claims.
        try {
          const res = await kv.range({ key: enc(key), serializable: true });
          const kv0 = res.kvs[0];
          staleReads.push({ member, key, value: kv0 === undefined ? null : dec(kv0.value), modRevision: kv0?.modRevision ?? 0, revision: res.header.revision });
        } catch {
          avoidUntil[m] = Date.now() + 1000;
          await sleep(20);
        }
        continue;
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
    staleReads,
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
 * serializably from the first remaining member after convergence (all members are identical then).
 */
async function lostAcknowledgedWrites(cluster: ProcessCluster, ops: readonly Operation[]): Promise<string[]> {
  const writes: Array<{ op: Operation; key: string; value: string | null; rev: number }> = [];
  for (const op of ops) {
    if (op.revision === undefined) continue;
    for (const w of acknowledgedWrites(op)) writes.push({ op, key: w.key, value: w.value, rev: op.revision });
  }
  const out: string[] = [];
  const admin = cluster.slots[cluster.active()[0]!]!.admin;
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

/**
 * L7: each serializable read must equal the converged store read at the revision the member
 * answered with: the same value and mod revision, or absent in both. (Never compacted in a run.)
 */
export async function wrongStaleReads(admin: Pick<KvClient, 'range'>, reads: readonly StaleRead[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < reads.length; i += 16) {
    await Promise.all(
      reads.slice(i, i + 16).map(async (r) => {
        const said = r.value === null ? 'absent' : `${r.value} (mod ${r.modRevision})`;
        try {
          const res = await admin.range({ key: enc(r.key), revision: r.revision, serializable: true });
          const kv0 = res.kvs[0];
          const truth = kv0 === undefined ? 'absent' : `${dec(kv0.value)} (mod ${kv0.modRevision})`;
          if (truth !== said) out.push(`${r.member} answered ${r.key} = ${said} at revision ${r.revision}; the store at that revision holds ${truth}`);
        } catch (e) {
          out.push(`${r.key} at revision ${r.revision} (read on ${r.member}): check failed: ${errText(e)}`);
        }
      }),
    );
  }
  return out;
}

/** Waits until every (remaining) member reports the same local revision and the same content; null when they do. */
async function convergence(cluster: ProcessCluster, ms: number): Promise<string | null> {
  const deadline = Date.now() + ms;
  const members = cluster.active();
  let last = '';
  for (;;) {
    try {
      const all = await Promise.all(members.map((i) => cluster.contents(i)));
      const render = all.map((c) =>
        JSON.stringify({ revision: c.revision, kvs: c.kvs.map((kv) => [dec(kv.key), dec(kv.value), kv.createRevision, kv.modRevision, kv.version]) }),
      );
      if (render.every((r) => r === render[0])) return null;
      last = all.map((c, k) => `${cluster.slots[members[k]!]!.name}: revision ${c.revision}, ${c.kvs.length} keys`).join('; ');
    } catch (e) {
      last = `a member did not answer: ${errText(e)}`;
    }
    if (Date.now() > deadline) return `members did not converge within ${ms} ms: ${last}`;
    await sleep(100);
  }
}

/**
 * learner-promote by snapshot: members run with --snapshot-count SNAPSHOT_COUNT and keep the
 * server's SNAPSHOT_CATCH_UP entries behind each snapshot (KeywardServer's default; `keyward
 * serve` has no flag for it). Once every member has applied CATCH_UP + 3 * COUNT entries, each has
 * taken a snapshot past CATCH_UP + 1 and compacted its log past index 1, so a learner that joins
 * with an empty log can only be caught up by a snapshot.
 */
const SNAPSHOT_COUNT = 200;
const SNAPSHOT_CATCH_UP = 1000;

type Log = (line: string) => void;

/**
 * L9, remove-leader: the leader is removed through the member API (its own, or a follower's,
 * by the seed) while the clients run. It must stop on its own, the two others must elect a leader
 * among themselves, and the clients (following the member list) go on against them.
 */
async function removeLeader(cluster: ProcessCluster, lead: number, rnd: () => number, log: Log): Promise<{ target: string; membership: NonNullable<RunReport['membership']> }> {
  const others = cluster.active().filter((i) => i !== lead);
  const via = rnd() < 0.5 ? lead : others[Math.floor(rnd() * others.length)]!;
  const name = cluster.slots[lead]!.name;
  const oldId = cluster.slots[lead]!.memberId!;
  log(`remove ${name} (leader) through the member API of ${via === lead ? 'the leader itself' : `${cluster.slots[via]!.name} (follower)`}`);
  const t0 = Date.now();
  const removal = await cluster.removeMember(lead, via);
  log(removal.note);
  const elected = await cluster.leaderAmong(others, oldId, 15_000);
  const problems = [...removal.problems];
  let note = `${name} (leader) removed through ${via === lead ? 'itself' : cluster.slots[via]!.name}: ${removal.note}`;
  if (elected === null) {
    problems.push(`no leader among ${others.map((i) => cluster.slots[i]!.name).join(', ')} within 15 s of the removal`);
  } else {
    const line = `${cluster.slots[elected]!.name} leads ${Date.now() - t0} ms after the remove call`;
    log(line);
    note += `; ${line}`;
  }
  return { target: `${name} (leader, removed through ${via === lead ? 'itself' : cluster.slots[via]!.name})`, membership: { note, problems } };
}

/**
 * L9/L10, learner-promote: a fourth member is added as a learner (through a member chosen by the
 * seed), and a promotion is asked before it even starts: it holds no log then, so it cannot be in
 * sync and the promotion must be refused, whichever member is asked (etcd: the leader decides).
 * Then it starts empty with --initial-cluster-state existing, catches up under load (by snapshot
 * when `snapshot`), serves the clients once it has published its client URL, and is promoted
 * (retried while the leader says it lags). It must end a voter in every member's list.
 */
async function learnerPromote(
  cluster: ProcessCluster,
  rec: HistoryRecorder,
  o: { seed: number; snapshot: boolean; faultMs: number; rnd: () => number; log: Log; user: string },
): Promise<{ target: string; membership: NonNullable<RunReport['membership']> }> {
  const notes: string[] = [];
  const problems: string[] = [];
  const founders = cluster.active();
  const who = (i: number): string => cluster.slots[i]!.name;
  if (o.snapshot) {
    const index = SNAPSHOT_CATCH_UP + 3 * SNAPSHOT_COUNT;
    const t0 = Date.now();
    const fill = await fillLog(cluster, rec, `jepsen/${o.seed}/fill`, index, 30_000, o.user);
    const line = `${fill.puts} puts on jepsen/${o.seed}/fill in ${Date.now() - t0} ms ${fill.reached ? 'took' : 'did NOT take'} every member past index ${index} (logs compacted: the learner needs a snapshot)`;
    o.log(line);
    notes.push(line);
    if (!fill.reached) problems.push(`the members did not reach index ${index} within 30 s; the learner may have caught up from the log`);
  }
  const addVia = founders[Math.floor(o.rnd() * founders.length)]!;
  const { index: l, id } = await cluster.addLearner(addVia);
  const name = who(l);
  const target = `${name} (learner, caught up by ${o.snapshot ? 'snapshot' : 'log'})`;
  o.log(`added ${name} (${id.toString(16)}) as a learner through ${who(addVia)}`);
  const earlyVia = founders[Math.floor(o.rnd() * founders.length)]!;
  const asked = async (): Promise<string> => `${who(earlyVia)} (${(await isLeader(cluster, earlyVia)) ? 'leader' : 'follower'})`;
  try {
    await cluster.members(earlyVia).memberPromote(id);
    problems.push(`${name} was promoted before it started (it held no log), asked on ${await asked()}`);
  } catch (e) {
    if (e instanceof KeywardError && e.code === 'LEARNER_NOT_READY') notes.push(`a promotion before it started was refused on ${await asked()} (not in sync)`);
    else notes.push(`a promotion before it started failed on ${await asked()}: ${errText(e)}`);
  }
  await cluster.start([l], true);
  if (cluster.slots[l]!.memberId !== id.toString(16)) problems.push(`${name} started as ${cluster.slots[l]!.memberId}, added as ${id.toString(16)}`);
  const st = await cluster.slots[l]!.admin.status().catch(() => null);
  if (st !== null && !st.isLearner) problems.push(`${name} does not say it is a learner after it started`);
  // Right away (it is still catching up: refused until in sync, retried) or after faultMs, by the seed.
  const wait = o.rnd() < 0.5 ? 0 : o.faultMs;
  o.log(`${name} started empty as a learner; promote after ${wait} ms under load`);
  await sleep(wait);
  const promoteVia = founders[Math.floor(o.rnd() * founders.length)]!;
  const t1 = Date.now();
  const promotedAt = rec.now(); // on the history's clock
  const p = await cluster.promote(id, promoteVia, 20_000);
  if (p.error !== null) {
    problems.push(`promoting ${name} through ${who(promoteVia)} failed after ${p.attempts} attempts: ${p.error}`);
  } else {
    // How far behind it was when the promotion was answered (the leader allows 10% of its log).
    const [mine, theirs] = await Promise.all([cluster.slots[l]!.admin.status().catch(() => null), cluster.slots[promoteVia]!.admin.status().catch(() => null)]);
    const lag = mine === null || theirs === null ? 'unknown' : `${mine.raftAppliedIndex}/${theirs.raftIndex}`;
    const line = `${name} promoted through ${who(promoteVia)} after ${p.attempts} attempt(s), ${Date.now() - t1} ms (its applied index / ${who(promoteVia)}'s last index then: ${lag})`;
    o.log(line);
    notes.push(line);
    const voter = await waitFor(5000, async () => {
      for (const i of cluster.active()) {
        const m = (await cluster.members(i, 1000).memberList()).members.find((x) => x.id === id);
        if (m === undefined || m.isLearner) return false;
      }
      return !(await cluster.slots[l]!.admin.status()).isLearner;
    });
    if (!voter) problems.push(`${name} is not a voter in every member's list 5 s after its promotion was answered`);
  }
  const served = rec.operations.filter((op) => op.member === name && op.output !== null && op.complete !== null && op.complete < promotedAt);
  notes.push(`${name} answered ${served.length} client operations before its promotion was asked`);
  return { target, membership: { note: notes.join('; '), problems } };
}

async function isLeader(cluster: ProcessCluster, i: number): Promise<boolean> {
  const st = await cluster.slots[i]!.admin.status().catch(() => null);
  return st !== null && st.leader !== 0n && st.leader === st.header.memberId;
}

/**
 * Puts on `key` (16 in flight, spread over the members, recorded like the workload's: clients
 * -10..-25) until every member has applied `index` entries, or `ms` passed.
 */
async function fillLog(cluster: ProcessCluster, rec: HistoryRecorder, key: string, index: number, ms: number, user: string): Promise<{ reached: boolean; puts: number }> {
  let done = false;
  let puts = 0;
  const members = cluster.active();
  const workers = Array.from({ length: 16 }, async (_, w) => {
    const slot = cluster.slots[members[w % members.length]!]!;
    const kv = cluster.kv([slot.clientUrl], REQUEST_TIMEOUT_MS, user);
    for (let n = 0; !done; n++) {
      const value = `f${w}-${n}`;
      const op = rec.invoke(-10 - w, key, { f: 'put', value }, slot.name);
      try {
        const res = await kv.put({ key: enc(key), value: enc(value) });
        rec.ok(op, { f: 'put' }, res.header.revision);
        puts++;
      } catch (e) {
        recordError(rec, op, e);
        await sleep(20);
      }
    }
  });
  const reached = await waitFor(ms, async () => (await Promise.all(members.map((i) => cluster.slots[i]!.admin.status()))).every((s) => s.raftAppliedIndex >= index));
  done = true;
  await Promise.all(workers);
  return { reached, puts };
}

/** Secure runs: the workload's user (READWRITE on the run's prefix) and the one whose writes must be refused (READ there). */
export const WORKLOAD_USER = 'jepsen-rw';
export const INTRUDER_USER = 'jepsen-ro';
/** Every value INTRUDER_USER tries to write starts with it; no other client writes one. */
const INTRUDER_VALUE = 'intruder-';
const INTRUDER_GAP_MS = 50;
/** What INTRUDER_USER tries, each denied by its grant (READ on the run's prefix only). */
const INTRUDER_TRIES = ['put', 'txn put', 'delete', 'read outside', 'serializable read outside'] as const;
/** A key outside every grant of the run's users (root wrote nothing there either). */
const OUTSIDE_KEY = 'outside-jepsen/secret';

/**
 * Secure runs: root makes WORKLOAD_USER (READWRITE on exactly [prefix, prefixEnd)) and
 * INTRUDER_USER (READ on it), then waits until every member serves both as granted, so no
 * workload write is refused by a member that has not applied the grants yet. Returns what did not
 * hold: each member lets INTRUDER_USER read (it is authenticated, and only its writes are to be
 * refused) and refuses WORKLOAD_USER a put of prefixEnd (just past its grant: it is not root).
 */
async function addRunUsers(cluster: ProcessCluster, prefix: string): Promise<string[]> {
  const end = prefixEnd(enc(prefix));
  await cluster.addUser(WORKLOAD_USER, { permType: 'READWRITE', key: prefix, rangeEnd: end });
  await cluster.addUser(INTRUDER_USER, { permType: 'READ', key: prefix, rangeEnd: end });
  const out: string[] = [];
  for (const i of cluster.active()) {
    const s = cluster.slots[i]!;
    const served = await waitFor(5000, async () => {
      for (const u of [WORKLOAD_USER, INTRUDER_USER]) await cluster.kv([s.clientUrl], 1000, u).range({ key: enc(prefix), rangeEnd: end });
      return true;
    });
    if (!served) out.push(`${s.name} did not serve a range of ${prefix} to ${WORKLOAD_USER} and ${INTRUDER_USER} within 5 s of their grants`);
    const outside = await cluster.kv([s.clientUrl], 1000, WORKLOAD_USER).put({ key: end, value: enc('x') }).then(
      () => 'it succeeded',
      (e: unknown) => (e instanceof KeywardError && e.code === 'PERMISSION_DENIED' ? null : `it failed with ${errText(e)}`),
    );
    if (outside !== null) out.push(`${WORKLOAD_USER} put ${dec(end)} (just past its grant) on ${s.name}: ${outside}, not permission denied`);
  }
  return out;
}

interface Intruder {
  /** Which part of the run the next attempts belong to; jepsenRun moves it on. */
  phase: 'before' | 'during' | 'after';
  attempts: number;
  denied: { before: number; during: number; after: number };
  unanswered: number;
  problems: string[];
  stop(): Promise<void>;
}

/**
 * INTRUDER_USER tries what its READ grant does not allow, through the workload's members, one
 * request at a time until stopped: a put or a txn put of a workload key, a delete of one, and a
 * read (linearizable or serializable) outside its grant. A member that answers must answer etcd's
 * permission denied (403/7): the edge refuses before anything is proposed, so neither a leader
 * change nor a restart may change that answer. No answer (connection refused, timeout) or an
 * UNAVAILABLE one (the member is stopping) is counted, not held against it: such a write was not
 * acknowledged, and valuesInHistory checks it took no effect.
 */
function startIntruder(cluster: ProcessCluster, seed: number, keys: readonly string[], endpoints: Endpoints): Intruder {
  const rnd = prng(seed * 4099 + 7); // its own stream: the workload's and the faults' draws stay as they were
  const perMember: KvClient[] = [];
  const clientOf = (i: number): KvClient => (perMember[i] ??= cluster.kv([cluster.slots[i]!.clientUrl], REQUEST_TIMEOUT_MS, INTRUDER_USER));
  let stopped = false;
  const state: Intruder = { phase: 'before', attempts: 0, denied: { before: 0, during: 0, after: 0 }, unanswered: 0, problems: [], stop: async () => {} };
  const loop = (async () => {
    for (let n = 0; !stopped; n++) {
      const all = endpoints();
      const m = all[Math.floor(rnd() * all.length)]!;
      const key = enc(keys[Math.floor(rnd() * keys.length)]!);
      const value = enc(`${INTRUDER_VALUE}${n}`);
      const kind = INTRUDER_TRIES[Math.floor(rnd() * INTRUDER_TRIES.length)]!;
      const phase = state.phase;
      const target = kind === 'read outside' || kind === 'serializable read outside' ? OUTSIDE_KEY : dec(key);
      const what = `${kind === 'put' ? 'a put of' : kind === 'txn put' ? 'a txn putting' : kind === 'delete' ? 'a delete of' : `a ${kind.replace(' outside', '')} of`} ${target} on ${cluster.slots[m]!.name} (${phase} the fault)`;
      state.attempts++;
      try {
        const kv = clientOf(m);
        const outside = enc(OUTSIDE_KEY);
        const res =
          kind === 'put'
            ? await kv.put({ key, value })
            : kind === 'txn put'
              ? await kv.txn({ compare: [], success: [{ type: 'put', put: putRequest({ key, value }) }], failure: [] })
              : kind === 'delete'
                ? await kv.deleteRange({ key })
                : await kv.range({ key: outside, serializable: kind === 'serializable read outside' });
        state.problems.push(`${what} as ${INTRUDER_USER} succeeded at revision ${res.header.revision}`);
      } catch (e) {
        if (e instanceof KeywardError && e.code === 'PERMISSION_DENIED' && e.grpcCode === GrpcCode.PERMISSION_DENIED) state.denied[phase]++;
        else if (e instanceof KeywardError && (e.httpStatus === 0 || e.grpcCode === GrpcCode.UNAVAILABLE)) state.unanswered++;
        else state.problems.push(`${what} as ${INTRUDER_USER} was refused with ${errText(e)}, not permission denied`);
      }
      await sleep(INTRUDER_GAP_MS);
    }
  })();
  state.stop = async () => {
    stopped = true;
    await loop;
  };
  return state;
}

/**
 * Every value starting with `marker` in the converged history of `prefix`: a watch as root from
 * revision 1 (the run never compacts) up to the current revision of the first remaining member.
 */
async function valuesInHistory(cluster: ProcessCluster, prefix: string, marker: string): Promise<string[]> {
  const i = cluster.active()[0]!;
  const final = (await cluster.contents(i)).revision;
  const tls = cluster.clientTls();
  const watch = new WatchClient({ endpoints: [cluster.slots[i]!.clientUrl], timeoutMs: 5000, ...(tls === null ? {} : { tls }) }).watch(prefix, { prefix: true, startRevision: 1 });
  const out: string[] = [];
  // Progress answers move the watch's revision even if no event is at `final`; the timeout ends a stuck replay.
  const progress = setInterval(() => watch.requestProgress(), 500);
  const timeout = setTimeout(() => void watch.close(), 15_000);
  try {
    for await (const u of watch) {
      if (u.kind === 'events') {
        for (const e of u.events) {
          const value = e.kv === undefined ? '' : dec(e.kv.value);
          if (value.startsWith(marker)) out.push(`${dec(e.kv!.key)}=${value} (${INTRUDER_USER}'s) is in the history at revision ${e.kv!.modRevision}`);
        }
      }
      if (watch.revision >= final) break;
    }
  } catch (e) {
    out.push(`replaying ${prefix} from revision 1 failed: ${errText(e)}`);
  } finally {
    clearInterval(progress);
    clearTimeout(timeout);
    await watch.close();
  }
  if (watch.revision < final) out.push(`the replay of ${prefix} from revision 1 stopped at revision ${watch.revision} of ${final}`);
  return out;
}

export async function jepsenRun(opts: RunOptions): Promise<RunReport> {
  const rnd = prng(opts.seed);
  const fault = opts.fault ?? FAULTS[opts.seed % FAULTS.length]!;
  const log = opts.log ?? (() => {});
  const workload = opts.workload ?? 'register';
  // The txn workload's keys are the only ones under its prefix (the L6 key is jepsen/<seed>/l6).
  const txnPrefix = workload === 'txn' ? `jepsen/${opts.seed}/t` : null;
  const keys = Array.from({ length: opts.keys ?? (workload === 'txn' ? 3 : 5) }, (_, i) => `${txnPrefix ?? `jepsen/${opts.seed}/k`}${i}`);
  // Drawn only for learner-promote, so the other faults' draws from the seed stay as they were;
  // drawn even when the option pins it, so the later draws do not move.
  const learnerSnapshot = fault === 'learner-promote' && ((draw) => opts.learnerSnapshot ?? draw)(rnd() < 0.5);
  const secure = opts.secure ?? false;
  const cluster = await ProcessCluster.create(3, learnerSnapshot ? ['--snapshot-count', String(SNAPSHOT_COUNT)] : [], { secure });
  const rec = new HistoryRecorder();
  let target = '';
  try {
    await cluster.start();
    await cluster.leader();
    // Every key the run writes (workload, L6, fill) is under it: WORKLOAD_USER's grant, exactly.
    const prefix = `jepsen/${opts.seed}/`;
    const setupProblems = secure ? await addRunUsers(cluster, prefix) : [];
    const user = secure ? WORKLOAD_USER : 'root';
    log(`seed ${opts.seed}: ${secure ? `secure cluster up (workload as ${user}, forbidden requests tried as ${INTRUDER_USER})` : 'cluster up'}, fault ${fault}, workload ${workload}`);
    // The faults that change the membership for good: the clients follow the member list.
    const sync = fault === 'remove-leader' || fault === 'learner-promote' ? syncedEndpoints(cluster, cluster.active()) : null;
    const founders = cluster.active();
    const endpoints = sync?.endpoints ?? (() => founders);
    const w = runClients(cluster, rec, opts.seed, keys, opts.clients ?? 8, opts.serializableReads ?? false, txnPrefix, endpoints, user);
    const intruder = secure ? startIntruder(cluster, opts.seed, keys, endpoints) : null;
    await sleep(opts.beforeMs ?? 1500);
    const lead = await cluster.leader();
    const faultMs = opts.faultMs ?? 1500;
    let partition: RunReport['partition'];
    let membership: RunReport['membership'];
    if (intruder !== null) intruder.phase = 'during';
    if (fault === 'remove-leader') {
      ({ target, membership } = await removeLeader(cluster, lead, rnd, log));
      await sleep(faultMs);
    } else if (fault === 'learner-promote') {
      const res = await learnerPromote(cluster, rec, { seed: opts.seed, snapshot: learnerSnapshot, faultMs, rnd, log, user });
      membership = res.membership;
      target = res.target;
    } else if (fault === 'partition-leader') {
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
        staleRead = await isolatedReadCheck(cluster, rec, elected, lead, opts.seed, Math.max(0, cutAt + cutMs - Date.now() - 200), user);
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
    if (intruder !== null) intruder.phase = 'after';
    await sleep(opts.afterMs ?? 1500);
    await w.stop();
    await intruder?.stop();
    await sync?.stop();
    await cluster.leader();
    // Final linearizable reads of every key join the history: a lost acknowledged write shows here.
    const reader = cluster.slots[cluster.active()[0]!]!;
    for (const key of keys) {
      const op = rec.invoke(-1, key, { f: 'get' }, reader.name);
      try {
        const res = await reader.admin.range({ key: enc(key) });
        const kv0 = res.kvs[0];
        rec.ok(op, { f: 'get', value: kv0 === undefined ? null : dec(kv0.value) }, res.header.revision);
      } catch (e) {
        rec.unknown(op, errText(e));
      }
    }
    const divergence = await convergence(cluster, 15_000);
    const ops = rec.operations;
    const lostWrites = divergence === null ? await lostAcknowledgedWrites(cluster, ops) : [];
    const wrongStale = divergence === null ? await wrongStaleReads(cluster.slots[cluster.active()[0]!]!.admin, w.staleReads) : [];
    const security = secure ? await cluster.securityProblems() : undefined;
    let authz: RunReport['authz'];
    if (intruder !== null) {
      const problems = [...setupProblems, ...intruder.problems];
      // An attempt whose answer was lost (a timeout) may still have been applied: look for its
      // values in the whole converged history, not only in the answers.
      if (divergence === null) problems.push(...(await valuesInHistory(cluster, prefix, INTRUDER_VALUE)));
      authz = { attempts: intruder.attempts, denied: { ...intruder.denied }, unanswered: intruder.unanswered, problems };
      log(`${INTRUDER_USER}: ${intruder.attempts} forbidden requests tried, denied ${authz.denied.before}/${authz.denied.during}/${authz.denied.after} (before/during/after the fault), ${intruder.unanswered} unanswered`);
    }
    const check = checkHistory(ops);
    const problems = revisionProblems(ops);
    if (divergence === null) {
      // L3: the cluster started empty (revision 1) and only the workload wrote, one revision per
      // write that took effect: every acknowledged write, plus some of the unknown ones.
      const final = (await cluster.contents(cluster.active()[0]!)).revision;
      const writes = ops.filter((o) => o.input.f !== 'get' && o.input.f !== 'mget' && o.failed !== true);
      const acked = writes.filter((o) => acknowledgedWrites(o).length > 0).length;
      const unknown = writes.filter((o) => o.output === null).length;
      log(`converged at revision ${final}: ${acked} acknowledged writes, ${unknown} unknown`);
      if (final - 1 < acked || final - 1 > acked + unknown) {
        problems.push(`final revision ${final} does not fit ${acked} acknowledged and ${unknown} unknown writes (expected ${acked + 1}..${acked + unknown + 1})`);
      }
    }
    if (membership !== undefined) {
      // Where the clients went: the removed member drops out, the new one comes in.
      const per = cluster.slots.map((s) => `${s.name} ${ops.filter((o) => o.member === s.name && o.output !== null).length}`);
      membership.note += `; answered per member: ${per.join(', ')}`;
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
    if (!check.ok || problems.length > 0 || divergence !== null || lostWrites.length > 0 || wrongStale.length > 0 || (membership?.problems.length ?? 0) > 0 || (security?.length ?? 0) > 0 || (authz?.problems.length ?? 0) > 0) {
      historyFile = join(tmpdir(), `keyward-jepsen-seed-${opts.seed}.json`);
      writeFileSync(historyFile, JSON.stringify({ seed: opts.seed, fault, workload, target, ops }, null, 1));
    }
    return {
      seed: opts.seed, fault, workload, secure, target, operations: ops.length, mix, completed, failed, unknown: ops.length - completed - failed, check, revisionProblems: problems, divergence, lostWrites, wrongStaleReads: wrongStale, staleReadsChecked: w.staleReads.length, historyFile,
      ...(partition !== undefined ? { partition } : {}),
      ...(membership !== undefined ? { membership } : {}),
      ...(security !== undefined ? { security } : {}),
      ...(authz !== undefined ? { authz } : {}),
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
async function isolatedReadCheck(cluster: ProcessCluster, rec: HistoryRecorder, newLeader: number, oldLeader: number, seed: number, ms: number, user: string): Promise<string | null> {
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
  const reader = cluster.kv([cluster.slots[oldLeader]!.clientUrl], Math.max(200, ms), user);
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
    `seed ${r.seed} fault ${r.fault}${r.workload === 'register' ? '' : ` workload ${r.workload}`}${r.secure ? ' (mutual TLS)' : ''} on ${r.target}: ${verdict}; ${r.operations} ops (${r.completed} completed, ${r.failed} refused, ${r.unknown} unknown; ${r.mix})` +
      `; L7: ${r.staleReadsChecked} serializable reads checked` +
      (r.authz === undefined ? '' : `; ${INTRUDER_USER}'s forbidden requests denied ${r.authz.denied.before}/${r.authz.denied.during}/${r.authz.denied.after}, ${r.authz.problems.length} authz problems`),
  ];
  if (!r.check.ok) lines.push(r.check.message);
  for (const p of r.revisionProblems.slice(0, 10)) lines.push(`L3: ${p}`);
  if (r.divergence !== null) lines.push(`convergence: ${r.divergence}`);
  for (const l of r.lostWrites.slice(0, 10)) lines.push(`L4: ${l}`);
  for (const l of r.wrongStaleReads.slice(0, 10)) lines.push(`L7: ${l}`);
  if (r.historyFile !== null) lines.push(`history: ${r.historyFile}`);
  if (r.partition !== undefined) lines.push(`partition: new leader ${r.partition.newLeader ?? 'NONE'} during the cut; L6 on the isolated leader: ${r.partition.staleRead ?? 'no stale read'}`);
  if (r.membership !== undefined) {
    lines.push(`membership: ${r.membership.note}`);
    for (const p of r.membership.problems) lines.push(`L9: ${p}`);
  }
  for (const p of r.security ?? []) lines.push(`security: ${p}`);
  if (r.authz !== undefined) {
    const d = r.authz.denied;
    lines.push(`authz: ${INTRUDER_USER} tried ${r.authz.attempts} writes: permission denied ${d.before}/${d.during}/${d.after} (before/during/after the fault), ${r.authz.unanswered} unanswered`);
    for (const p of r.authz.problems.slice(0, 10)) lines.push(`authz: ${p}`);
  }
  return lines.join('\n');
}

export function passed(r: RunReport): boolean {
  const partitionOk = r.partition === undefined || (r.partition.newLeader !== null && r.partition.staleRead === null);
  const membershipOk = r.membership === undefined || r.membership.problems.length === 0;
  const authzOk = r.authz === undefined || r.authz.problems.length === 0;
  return r.check.ok && r.revisionProblems.length === 0 && r.divergence === null && r.lostWrites.length === 0 && r.wrongStaleReads.length === 0 && partitionOk && membershipOk && (r.security ?? []).length === 0 && authzOk;
}

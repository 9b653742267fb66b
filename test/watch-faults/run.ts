// One watch fault run: three `keyward serve` processes take puts, deletes, multi-key txns and
// delete-ranges from several clients while a compactor compacts and members are killed (-9, then
// restarted), paused (SIGSTOP / SIGCONT) or cut off from the other members (partition-leader). Throughout, watchers are opened at past, current,
// future, compacted and exactly-compacted revisions, on leader and followers, as raw streams (some
// carrying several watchers, some read slowly) and as client watches that resume across member
// failures (some with a tiny buffer and a slow consumer). Every event every watcher receives is
// recorded, then checked against the replay of the committed history (checker.ts).
//
// Used by watch-faults.test.ts and secure.test.ts (bounded runs in `npm test`) and
// scripts/watch-faults.mjs (`npm run watch-faults -- --runs N [--secure]`).
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeywardError, putRequest, WatchClient, WatchError, type Watch } from '../../src/client/index.js';
import { bytesToString, prefixEnd } from '../../src/wire/index.js';
import { ProcessCluster, prng } from '../harness/fault-cluster.js';
import { tlsConnection } from '../harness/tls-client.js';
import { checkHistory, checkWatcher, type AttemptedWrite, type KvState, type Observation, type WatcherRecord, type WatcherSpec } from './checker.js';
import { kvState, observedEvent, RawStream } from './raw-stream.js';

export const WATCH_FAULTS = ['kill-leader', 'kill-follower', 'pause-leader', 'pause-follower', 'partition-leader'] as const;
export type WatchFault = (typeof WATCH_FAULTS)[number];

export interface WatchRunOptions {
  seed: number;
  /** Faults, one after the other. Default: two chosen by the seed. */
  faults?: WatchFault[];
  writers?: number;
  /** Workload before the first fault, between faults and after the last, ms. */
  gapMs?: number;
  /** Kill → restart, or SIGSTOP → SIGCONT, ms. */
  faultMs?: number;
  /** Watchers opened during the run. */
  watchers?: number;
  log?: (line: string) => void;
  /**
   * Run the cluster as production does (ProcessCluster's secure mode, as `npm run jepsen --
   * --secure`): mutual TLS on the client and peer ports, auth on. The writers and every watcher,
   * raw streams included, connect with the certificate of WATCH_USER, a non-root user whose role
   * holds READWRITE on the workload's keys; only the compactor and the harness's reads are root.
   */
  secure?: boolean;
}

export interface WatchRunReport {
  seed: number;
  secure: boolean;
  faults: string[];
  writes: { ok: number; unknown: number; failed: number };
  finalRevision: number;
  compactions: number[];
  watchers: { raw: number; client: number; complete: number; compacted: number; events: number; reconnects: number };
  violations: string[];
  /** Harness notes that are not guarantee violations. */
  notes: string[];
  detailsFile: string | null;
}

const PREFIX = 'wf/';
const KEYS = Array.from({ length: 8 }, (_, i) => `${PREFIX}k${i}`);
const HISTORY_LAG = 30;
/**
 * Secure runs: the user the writers and watchers are. Its grant starts at PREFIX and is open-ended
 * ("\0"), so the watchers on [wf/k4, "\0") are allowed (A1/A7: a range must lie inside a grant).
 */
export const WATCH_USER = 'wf-user';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function errText(e: unknown): string {
  return e instanceof Error ? e.message.slice(0, 160) : String(e);
}

function outcomeOf(e: unknown): 'failed' | 'unknown' {
  return e instanceof KeywardError && e.httpStatus === 0 && /ECONNREFUSED/.test(e.message) ? 'failed' : 'unknown';
}

interface Shared {
  stopped: boolean;
  /** Highest revision any client saw acknowledged. */
  revision: number;
  writes: AttemptedWrite[];
  compactions: number[];
  /** Members to avoid until the given time (down or paused). */
  avoidUntil: number[];
}

function pickMember(s: Shared, rnd: () => number, n: number): number {
  const now = Date.now();
  const ok = Array.from({ length: n }, (_, i) => i).filter((i) => s.avoidUntil[i]! <= now);
  const pool = ok.length > 0 ? ok : Array.from({ length: n }, (_, i) => i);
  return pool[Math.floor(rnd() * pool.length)]!;
}

function startWriters(cluster: ProcessCluster, s: Shared, seed: number, writers: number, user: string): Promise<void>[] {
  const clients = cluster.slots.map((m) => cluster.kv([m.clientUrl], 1000, user));
  let n = 0;
  return Array.from({ length: writers }, async (_, c) => {
    const rnd = prng(seed * 7919 + c + 1);
    while (!s.stopped) {
      const m = pickMember(s, rnd, clients.length);
      const kv = clients[m]!;
      const r = rnd();
      const key = KEYS[Math.floor(rnd() * KEYS.length)]!;
      const w: AttemptedWrite = { id: s.writes.length, outcome: 'unknown', revision: 0, puts: [], deletes: [], deleted: 0 };
      s.writes.push(w);
      try {
        if (r < 0.5) {
          const value = `c${c}-${n++}`;
          w.puts.push({ key, value });
          w.revision = (await kv.put({ key: enc(key), value: enc(value) })).header.revision;
        } else if (r < 0.65) {
          w.deletes.push({ key, rangeEnd: '' });
          const res = await kv.deleteRange({ key: enc(key) });
          w.revision = res.header.revision;
          w.deleted = res.deleted;
        } else if (r < 0.85) {
          const keys = [...new Set([key, KEYS[Math.floor(rnd() * KEYS.length)]!, KEYS[Math.floor(rnd() * KEYS.length)]!])];
          for (const k of keys) w.puts.push({ key: k, value: `c${c}-${n++}` });
          const res = await kv.txn({ compare: [], success: w.puts.map((p) => ({ type: 'put' as const, put: putRequest({ key: enc(p.key), value: enc(p.value) }) })), failure: [] });
          w.revision = res.header.revision;
        } else {
          const a = Math.floor(rnd() * KEYS.length);
          const b = Math.min(KEYS.length, a + 1 + Math.floor(rnd() * 3));
          const end = b === KEYS.length ? bytesToString(prefixEnd(enc(PREFIX))) : KEYS[b]!;
          w.deletes.push({ key: KEYS[a]!, rangeEnd: end });
          const res = await kv.deleteRange({ key: enc(KEYS[a]!), rangeEnd: enc(end) });
          w.revision = res.header.revision;
          w.deleted = res.deleted;
        }
        w.outcome = 'ok';
        s.revision = Math.max(s.revision, w.revision);
      } catch (e) {
        w.outcome = outcomeOf(e);
        s.avoidUntil[m] = Date.now() + 1000;
        await sleep(20);
      }
    }
  });
}

/** A client watch, recorded as the checker wants it. */
class RecordedClientWatch {
  readonly obs: Observation[] = [];
  createdRevision: number | undefined;
  ended = false;
  reconnects = 0;
  readonly done: Promise<void>;

  constructor(
    readonly record: WatcherRecord,
    readonly watch: Watch,
    /** Pause after each update, to act as a slow consumer (set to 0 to let it catch up). */
    public slowMs: number,
  ) {
    void watch.ready.then((r) => (this.createdRevision = r), () => {});
    this.done = (async () => {
      try {
        for await (const u of watch) {
          if (u.kind === 'events') this.obs.push({ kind: 'events', events: u.events.map(observedEvent) });
          else this.obs.push({ kind: 'progress', revision: u.revision });
          if (this.slowMs > 0) await sleep(this.slowMs);
        }
        this.obs.push({ kind: 'end', reason: 'closed' });
      } catch (e) {
        if (e instanceof WatchError && e.code === 'COMPACTED') this.obs.push({ kind: 'compacted', compactRevision: e.compactRevision });
        else this.obs.push({ kind: 'canceled', reason: errText(e) });
      }
      this.ended = true;
    })();
  }

  finish(): WatcherRecord {
    const created: Observation[] = this.createdRevision === undefined ? [] : [{ kind: 'created', revision: this.createdRevision }];
    return { ...this.record, observations: [...created, ...this.obs] };
  }
}

function randomSpec(rnd: () => number, s: Shared): { spec: WatcherSpec; startKind: string } {
  const shape = rnd();
  let key: string;
  let rangeEnd: string;
  if (shape < 0.3) [key, rangeEnd] = [KEYS[Math.floor(rnd() * KEYS.length)]!, ''];
  else if (shape < 0.6) [key, rangeEnd] = [PREFIX, bytesToString(prefixEnd(enc(PREFIX)))];
  else if (shape < 0.8) [key, rangeEnd] = [KEYS[2]!, KEYS[6]!];
  else [key, rangeEnd] = [KEYS[4]!, '\0'];
  const last = s.compactions.at(-1) ?? 0;
  const k = rnd();
  let startKind: string;
  let startRevision: number;
  if (k < 0.2) [startKind, startRevision] = ['current', 0];
  else if (k < 0.5) [startKind, startRevision] = ['past', Math.max(1, s.revision - Math.floor(rnd() * 100))];
  else if (k < 0.7) [startKind, startRevision] = ['future', s.revision + 1 + Math.floor(rnd() * 100)];
  else if (k < 0.85 && last > 1) [startKind, startRevision] = ['compacted', 1 + Math.floor(rnd() * (last - 1))];
  else if (last > 0) [startKind, startRevision] = ['at-compaction', last];
  else [startKind, startRevision] = ['past', Math.max(1, s.revision - Math.floor(rnd() * 100))];
  const f = rnd();
  return { spec: { key, rangeEnd, startRevision, prevKv: rnd() < 0.5, noPut: f < 0.1, noDelete: f >= 0.1 && f < 0.2 }, startKind };
}

export async function watchFaultRun(opts: WatchRunOptions): Promise<WatchRunReport> {
  const rnd = prng(opts.seed);
  const log = opts.log ?? (() => {});
  const nf = WATCH_FAULTS.length;
  const faults = opts.faults ?? [WATCH_FAULTS[opts.seed % nf]!, WATCH_FAULTS[(opts.seed + 1 + Math.floor(rnd() * (nf - 1))) % nf]!];
  const gapMs = opts.gapMs ?? 2000;
  const faultMs = opts.faultMs ?? 1500;
  const secure = opts.secure ?? false;
  const cluster = await ProcessCluster.create(3, [], { secure });
  const user = secure ? WATCH_USER : 'root';
  const n = cluster.slots.length;
  const s: Shared = { stopped: false, revision: 1, writes: [], compactions: [], avoidUntil: cluster.slots.map(() => 0) };
  const raws: Array<{ stream: RawStream; member: number; records: WatcherRecord[] }> = [];
  const notes: string[] = [];
  const clients: RecordedClientWatch[] = [];
  const violations: string[] = [];
  const faultLog: string[] = [];
  try {
    await cluster.start();
    await cluster.leader();
    if (secure) violations.push(...(await secureSetup(cluster)));
    const tls = cluster.clientTls(user);
    const files = cluster.clientFiles(user);
    const rawTls = files === null ? null : tlsConnection(files);
    const all = cluster.slots.map((m) => m.clientUrl);
    const watchClient = (first: number, buffered = 1024): WatchClient =>
      new WatchClient({
        ...(tls === null ? {} : { tls }),
        endpoints: [...all.slice(first), ...all.slice(0, first)],
        timeoutMs: 1000,
        keepAliveMs: 400,
        backoff: { baseMs: 50, maxMs: 1000 },
        random: prng(opts.seed * 31 + clients.length),
        maxBufferedResponses: buffered,
      });
    // The replay source: everything under the prefix from revision 1, with prev_kv.
    const recorderSpec: WatcherSpec = { key: PREFIX, rangeEnd: bytesToString(prefixEnd(enc(PREFIX))), startRevision: 1, prevKv: true, noPut: false, noDelete: false };
    const recorder = new RecordedClientWatch(
      { id: 'recorder', kind: 'client', member: cluster.slots[0]!.name, spec: recorderSpec, observations: [], complete: false },
      watchClient(0).watch(PREFIX, { prefix: true, startRevision: 1, prevKv: true }),
      0,
    );
    await recorder.watch.ready;
    log(`seed ${opts.seed}: ${secure ? `secure cluster up (clients as ${user})` : 'cluster up'}, faults ${faults.join(', ')}`);

    const writers = startWriters(cluster, s, opts.seed, opts.writers ?? 4, user);
    // Root: compaction is a cluster administrator's operation (A9).
    const admin = cluster.slots.map((m) => cluster.kv([m.clientUrl], 1000));
    // Compactor: stays HISTORY_LAG revisions behind both the writers and the recorder.
    const compactor = (async () => {
      while (!s.stopped) {
        await sleep(600);
        const target = Math.min(s.revision, recorder.watch.revision) - HISTORY_LAG;
        if (target <= (s.compactions.at(-1) ?? 1)) continue;
        s.compactions.push(target);
        try {
          await admin[pickMember(s, rnd, n)]!.compact({ revision: target });
        } catch {
          // unknown outcome: still counted as requested
        }
      }
    })();
    // Opens watchers while the run lasts.
    let opened = 0;
    const maxWatchers = opts.watchers ?? 40;
    const opener = (async () => {
      while (!s.stopped && opened < maxWatchers) {
        await sleep(150 + Math.floor(rnd() * 150));
        const member = pickMember(s, rnd, n);
        const mName = cluster.slots[member]!.name;
        if (rnd() < 0.55) {
          const count = rnd() < 0.3 ? 2 + Math.floor(rnd() * 2) : 1;
          const specs = Array.from({ length: count }, () => randomSpec(rnd, s));
          const slow = rnd() < 0.2 ? 30 : 0;
          const stream = new RawStream(cluster.slots[member]!.clientUrl, specs.map((x) => x.spec), slow, rawTls);
          raws.push({
            stream,
            member,
            records: specs.map((x, i) => ({ id: `raw${raws.length}.${i}(${x.startKind}${slow > 0 ? ',slow' : ''})`, kind: 'raw', member: mName, spec: x.spec, observations: [], complete: false })),
          });
        } else {
          const { spec, startKind } = randomSpec(rnd, s);
          const slow = rnd() < 0.2;
          const w = watchClient(member, slow ? 4 : 1024).watch(spec.key, {
            rangeEnd: spec.rangeEnd,
            startRevision: spec.startRevision,
            prevKv: spec.prevKv,
            filters: [...(spec.noPut ? [0 as const] : []), ...(spec.noDelete ? [1 as const] : [])],
          });
          clients.push(new RecordedClientWatch({ id: `client${clients.length}(${startKind}${slow ? ',slow' : ''})`, kind: 'client', member: mName, spec, observations: [], complete: false }, w, slow ? 15 : 0));
        }
        opened++;
        // Progress requests now and then, on running streams and watches.
        if (rnd() < 0.3) raws[Math.floor(rnd() * raws.length)]?.stream.requestProgress();
        if (rnd() < 0.3) {
          const c = clients[Math.floor(rnd() * clients.length)];
          if (c !== undefined && !c.ended) c.watch.requestProgress();
        }
      }
    })();

    for (const fault of faults) {
      await sleep(gapMs);
      const lead = await cluster.leader();
      const victim = fault.endsWith('leader') ? lead : (lead + 1 + Math.floor(rnd() * 2)) % n;
      const what = `${fault} ${cluster.slots[victim]!.name}`;
      faultLog.push(what);
      // Client watches established on the victim, so they must resume elsewhere (W5).
      const forced = [0, Math.max(1, s.revision - 50)].map((startRevision, i) => {
        const spec: WatcherSpec = { key: PREFIX, rangeEnd: bytesToString(prefixEnd(enc(PREFIX))), startRevision, prevKv: i === 0, noPut: false, noDelete: false };
        const w = watchClient(victim).watch(spec.key, { rangeEnd: spec.rangeEnd, startRevision, prevKv: spec.prevKv });
        const id = `client${clients.length}(on-${fault}-victim,${startRevision === 0 ? 'current' : 'past'})`;
        const c = new RecordedClientWatch({ id, kind: 'client', member: cluster.slots[victim]!.name, spec, observations: [], complete: false }, w, 0);
        clients.push(c);
        return c;
      });
      await Promise.race([Promise.all(forced.map((c) => c.watch.ready)), sleep(2000)]).catch(() => {});
      s.avoidUntil[victim] = Date.now() + faultMs + 1500;
      if (fault.startsWith('kill')) {
        log(`kill -9 ${what}, restart after ${faultMs} ms (revision ~${s.revision})`);
        await cluster.kill(victim);
        // A raw stream has no keep-alive of its own: it learns of the death from its socket. Seen
        // once in ~15 runs: a slowly read stream never saw the reset. Its process is gone, so it
        // can deliver nothing more; end its recording there (events so far are still checked).
        const orphans = raws.filter((r) => r.member === victim && !r.stream.isEnded);
        await Promise.race([Promise.all(orphans.map((r) => r.stream.done)), sleep(3000)]);
        for (const r of orphans.filter((o) => !o.stream.isEnded)) {
          notes.push(`${r.records.map((x) => x.id).join(',')}: its socket did not report the death of ${cluster.slots[victim]!.name} within 3 s; closed`);
          await r.stream.close();
        }
        await sleep(faultMs);
        await cluster.start([victim]);
      } else if (fault === 'partition-leader') {
        // Cut off from both followers (test-only fault file, harness/partition.ts): its watchers
        // stay connected but see nothing new until the cut heals, then catch up.
        const cutMs = Math.max(faultMs, 2500);
        log(`isolate ${what} from both followers for ${cutMs} ms (revision ~${s.revision})`);
        cluster.partition.isolate(victim);
        await sleep(cutMs);
        cluster.partition.heal();
      } else {
        const pauseMs = Math.max(faultMs, 2500);
        log(`SIGSTOP ${what} for ${pauseMs} ms (revision ~${s.revision})`);
        cluster.signal(victim, 'SIGSTOP');
        await sleep(pauseMs);
        cluster.signal(victim, 'SIGCONT');
      }
    }
    await sleep(gapMs);
    s.stopped = true;
    await Promise.all([...writers, compactor, opener]);
    await cluster.leader();
    log(`workload stopped at revision ~${s.revision}; ${opened} watchers opened`);

    // The final state, once every member has applied everything.
    const final = await finalState(cluster);
    log(`final revision ${final.revision}, ${final.kvs.length} keys`);
    // It really ran secure: auth on everywhere, only https in the member list, no anonymous client served.
    if (secure) violations.push(...(await cluster.securityProblems()).map((p) => `security: ${p}`));
    // Drain: every watcher still running must reach the final revision. Slow consumers catch up.
    for (const r of raws) r.stream.slowMs = 0;
    for (const c of clients) c.slowMs = 0;
    await drainClient(recorder, final.revision, violations);
    await Promise.all(clients.map((c) => drainClient(c, final.revision, violations)));
    await Promise.all(
      raws.map(async (r) => {
        if (r.stream.isEnded) return;
        // A stream with a watcher whose future start was never reached gets no progress answer:
        // the hub answers only once every watcher of the stream is synced (src/watch/hub.ts,
        // answerProgress), as API.md's "created, then silence until that revision". Its events
        // are still checked; it just cannot be proven complete up to the final revision.
        const waiting = r.records.filter((x) => x.spec.startRevision > final.revision);
        if (waiting.length > 0) {
          notes.push(`${r.records.map((x) => x.id).join(',')}: ${waiting.map((x) => x.id).join(',')} waits for a start beyond the final revision ${final.revision}; no progress expected`);
          return;
        }
        const ok = await r.stream.progressAtLeast(final.revision, 10_000);
        if (ok) for (const rec of r.records) rec.complete = true;
        else violations.push(`${r.records.map((x) => x.id).join(',')}: stream on ${r.records[0]!.member} did not report progress up to ${final.revision}`);
      }),
    );
    await recorder.watch.close();
    await Promise.all(clients.map((c) => c.watch.close()));
    await Promise.all(raws.map((r) => r.stream.close()));
    await recorder.done;
    await Promise.all(clients.map((c) => c.done));

    // The replay, cross-checked, then every watcher against it.
    const history = recorder.obs.flatMap((o) => (o.kind === 'events' ? o.events : []));
    if (recorder.obs.some((o) => o.kind === 'compacted' || o.kind === 'canceled')) violations.push(`recorder ended early: ${JSON.stringify(recorder.obs.at(-1))}`);
    const hc = checkHistory(history, s.writes, final);
    violations.push(...hc.problems);
    const records: WatcherRecord[] = [];
    for (const r of raws) r.records.forEach((rec, i) => records.push({ ...rec, observations: r.stream.observations[i]! }));
    for (const c of clients) {
      records.push(c.finish());
      if (c.watch.stats.staleDropped > 0) violations.push(`${c.record.id}: the client dropped ${c.watch.stats.staleDropped} repeated events (W2 at the server)`);
    }
    for (const rec of records) violations.push(...checkWatcher(rec, hc.replay, { compactions: s.compactions }));

    const count = (f: (r: WatcherRecord) => boolean): number => records.filter(f).length;
    const report: WatchRunReport = {
      seed: opts.seed,
      secure,
      faults: faultLog,
      writes: {
        ok: s.writes.filter((w) => w.outcome === 'ok').length,
        unknown: s.writes.filter((w) => w.outcome === 'unknown').length,
        failed: s.writes.filter((w) => w.outcome === 'failed').length,
      },
      finalRevision: final.revision,
      compactions: s.compactions,
      watchers: {
        raw: count((r) => r.kind === 'raw'),
        client: count((r) => r.kind === 'client'),
        complete: count((r) => r.complete),
        compacted: count((r) => r.observations.some((o) => o.kind === 'compacted')),
        events: records.reduce((a, r) => a + r.observations.reduce((b, o) => b + (o.kind === 'events' ? o.events.length : 0), 0), 0),
        reconnects: clients.reduce((a, c) => a + c.watch.stats.connects - 1, 0),
      },
      violations,
      notes,
      detailsFile: null,
    };
    if (violations.length > 0) {
      report.detailsFile = join(tmpdir(), `keyward-watch-faults-seed-${opts.seed}.json`);
      writeFileSync(report.detailsFile, JSON.stringify({ report, history, writes: s.writes, records }, null, 1));
    }
    return report;
  } finally {
    s.stopped = true;
    await Promise.all(clients.map((c) => c.watch.close()));
    await Promise.all(raws.map((r) => r.stream.close()));
    await cluster.dispose();
  }
}

async function drainClient(c: RecordedClientWatch, final: number, violations: string[]): Promise<void> {
  if (c.ended) return;
  const deadline = Date.now() + 10_000;
  while (!c.ended && c.watch.revision < final && Date.now() < deadline) {
    c.watch.requestProgress();
    await sleep(200);
  }
  if (c.ended) return;
  if (c.watch.revision >= final) c.record.complete = true;
  else violations.push(`${c.record.id}: client watch stuck at revision ${c.watch.revision}, final ${final}`);
}

/**
 * Secure runs: WATCH_USER gets its certificate and READWRITE on [PREFIX, "\0") from root, before
 * any client connects. Returns what went wrong: WATCH_USER must be refused a put below its grant
 * and a watch that reaches below it, or the run would not show the watchers run as a restricted user.
 */
async function secureSetup(cluster: ProcessCluster): Promise<string[]> {
  await cluster.addUser(WATCH_USER, { permType: 'READWRITE', key: PREFIX, rangeEnd: '\0' });
  const out: string[] = [];
  const outside = 'wf.'; // sorts below 'wf/'
  const put = await cluster.kv([cluster.slots[0]!.clientUrl], 5000, WATCH_USER).put({ key: enc(outside), value: enc('x') }).then(
    () => 'succeeded',
    (e: unknown) => (e instanceof KeywardError && e.code === 'PERMISSION_DENIED' ? null : errText(e)),
  );
  if (put !== null) out.push(`security: a put of ${outside} as ${WATCH_USER} (no grant there) ${put === 'succeeded' ? 'succeeded' : `failed with ${put}`}, not permission denied`);
  const files = cluster.clientFiles(WATCH_USER)!;
  const spec: WatcherSpec = { key: outside, rangeEnd: '\0', startRevision: 0, prevKv: false, noPut: false, noDelete: false };
  const raw = new RawStream(cluster.slots[1]!.clientUrl, [spec], 0, tlsConnection(files));
  const deadline = Date.now() + 5000;
  while (raw.observations[0]!.length === 0 && !raw.isEnded && Date.now() < deadline) await sleep(20);
  const first = raw.observations[0]![0];
  await raw.close();
  if (first?.kind !== 'canceled' || !/permission denied/.test(first.reason)) {
    out.push(`security: a watch of [${outside}, "\\0") as ${WATCH_USER} was not refused for permission: ${JSON.stringify(first ?? 'no answer')}`);
  }
  return out;
}

/** Waits until all members hold the same revision and content, then reads it linearizably. */
async function finalState(cluster: ProcessCluster): Promise<{ revision: number; kvs: KvState[] }> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const all = await Promise.all(cluster.slots.map((_, i) => cluster.contents(i)));
      if (all.every((c) => c.revision === all[0]!.revision)) break;
    } catch {
      // a member is not answering yet
    }
    if (Date.now() > deadline) throw new Error('members did not converge');
    await sleep(100);
  }
  const res = await cluster.slots[0]!.admin.range({ key: enc(PREFIX), rangeEnd: prefixEnd(enc(PREFIX)) });
  return { revision: res.header.revision, kvs: res.kvs.map(kvState) };
}

export function summarize(r: WatchRunReport): string {
  const w = r.watchers;
  const lines = [
    `seed ${r.seed} faults ${r.faults.join(', ')}${r.secure ? ` (mutual TLS, clients as ${WATCH_USER})` : ''}: ${r.violations.length === 0 ? 'OK' : 'FAIL'}; writes ${r.writes.ok} ok / ${r.writes.unknown} unknown / ${r.writes.failed} refused; ` +
      `final revision ${r.finalRevision}; ${r.compactions.length} compactions (last ${r.compactions.at(-1) ?? 0}); ` +
      `${w.raw} raw + ${w.client} client watchers (${w.complete} drained to the end, ${w.compacted} compacted), ${w.events} events, ${w.reconnects} client reconnects`,
  ];
  for (const n of r.notes) lines.push(`note: ${n}`);
  for (const v of r.violations.slice(0, 20)) lines.push(`violation: ${v}`);
  if (r.violations.length > 20) lines.push(`… ${r.violations.length - 20} more`);
  if (r.detailsFile !== null) lines.push(`details: ${r.detailsFile}`);
  return lines.join('\n');
}

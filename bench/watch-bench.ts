// `npm run bench:watch` (also `npm run bench -- --ops watch`): watch fan-out of a three-member
// Keyward cluster against three etcd 3.4 members in the same run (when etcd is on PATH).
//
// Per target, one fresh cluster:
//   1. fan-out: `--watchers` (100) watchers on one prefix, spread round-robin over the members,
//      while `--writers` (16) closed-loop keep-alive connections put to keys under that prefix;
//   2. idle: `--idle` (1,000) more watchers on keys nobody writes (SDK watches), then the same load
//      again.
// Reported: puts/s, delivered events/s (and the share of puts × watchers that arrived in the
// window), put→event latency p50/p99 (from every 10th watcher, which parses its events), put p99,
// server CPU, and memory per idle watcher: the members' VmRSS growth (summed over members) and the
// SDK's client heap per watch.
//
// Processes: this orchestrator (writers), one forked watcher process (watch-worker.ts), the
// members. All of them share the machine's cores, so numbers are comparative, not absolute.
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { withInsecure } from './keyward-flags.js';
import { DEFAULT_KEYWARD_CLUSTER_CMD, onPath } from './options.js';
import { RawConnection } from './raw-client.js';
import { fmtMs, fmtRate, renderText, type Table } from './report.js';
import { LatencySamples } from './samples.js';
import { launchCluster, stopAll, type MemberContext, type ServerUnderTest } from './servers.js';
import type { FromWorker, ToWorker } from './watch-worker.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const REPO_ROOT = resolve(HERE, '..', '..');
const PREFIX = 'wb/';

const log = (m: string): void => void process.stderr.write(`[watch-bench] ${m}\n`);

export const WATCH_USAGE = `Usage: npm run bench:watch -- [flags]     (or: npm run bench -- --ops watch [flags])
  --target keyward|etcd|both   default: both when etcd is on PATH, else keyward
  --members N                  members per cluster (default 3)
  --watchers N                 active watchers on the written prefix (default 100)
  --idle N                     idle watchers added for the second scenario (default 1000; 0 skips it)
  --writers N                  closed-loop put connections (default 16)
  --duration S                 measured seconds per scenario (default 10)
  --warmup S                   unmeasured seconds before each window (default 2)
  --keys N                     keys under the prefix (default 100)
  --value-size N               bytes per value (default 256)
  --sample-every N             every N-th watcher parses events for latency (default 10)
  --etcd-bin PATH              default: etcd
  --json PATH                  results file (default bench/results/watch-latest.json)
`;

interface WatchOptions {
  targets: Array<'keyward' | 'etcd'>;
  members: number;
  watchers: number;
  idle: number;
  writers: number;
  durationS: number;
  warmupS: number;
  keys: number;
  valueSize: number;
  sampleEvery: number;
  etcdBin: string;
  jsonPath: string;
}

function parseWatchOptions(argv: string[]): WatchOptions | null {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      target: { type: 'string' },
      members: { type: 'string', default: '3' },
      watchers: { type: 'string', default: '100' },
      idle: { type: 'string', default: '1000' },
      writers: { type: 'string', default: '16' },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      keys: { type: 'string', default: '100' },
      'value-size': { type: 'string', default: '256' },
      'sample-every': { type: 'string', default: '10' },
      'etcd-bin': { type: 'string', default: 'etcd' },
      json: { type: 'string', default: join(REPO_ROOT, 'bench', 'results', 'watch-latest.json') },
      ops: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (v.help) return null;
  const int = (name: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}, got ${text}`);
    return n;
  };
  const etcdBin = v['etcd-bin']!;
  const target = v.target ?? (onPath(etcdBin) ? 'both' : 'keyward');
  if (!['keyward', 'etcd', 'both'].includes(target)) throw new Error('--target must be keyward, etcd or both');
  const valueSize = int('value-size', v['value-size']!, 32);
  return {
    targets: target === 'both' ? ['keyward', 'etcd'] : [target as 'keyward' | 'etcd'],
    members: int('members', v.members!, 1),
    watchers: int('watchers', v.watchers!, 1),
    idle: int('idle', v.idle!, 0),
    writers: int('writers', v.writers!, 1),
    durationS: int('duration', v.duration!, 1),
    warmupS: int('warmup', v.warmup!, 0),
    keys: int('keys', v.keys!, 1),
    valueSize,
    sampleEvery: int('sample-every', v['sample-every']!, 1),
    etcdBin,
    jsonPath: v.json!,
  };
}

function memberArgv(kind: 'keyward' | 'etcd', o: WatchOptions, m: MemberContext): string[] {
  if (kind === 'etcd') {
    return [
      o.etcdBin, '--name', m.name, '--data-dir', m.dataDir,
      '--listen-client-urls', m.url, '--advertise-client-urls', m.url,
      '--listen-peer-urls', m.peerUrl, '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', m.initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', m.token,
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
    ];
  }
  const argv = DEFAULT_KEYWARD_CLUSTER_CMD.split(' ').map((w, i) =>
    i === 0 && w === 'node'
      ? process.execPath
      : w
          .replaceAll('{data_dir}', m.dataDir)
          .replaceAll('{url}', m.url)
          .replaceAll('{name}', m.name)
          .replaceAll('{peer_url}', m.peerUrl)
          .replaceAll('{initial_cluster}', m.initialCluster)
          .replaceAll('{token}', m.token),
  );
  return withInsecure(argv, REPO_ROOT);
}

/** The forked watcher process. */
class Worker {
  private readonly child = fork(join(HERE, 'watch-worker.js'), [], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  private waiting: ((m: FromWorker) => void) | undefined;

  constructor() {
    this.child.on('message', (m: unknown) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m as FromWorker);
    });
    this.child.on('exit', (code) => this.waiting?.({ kind: 'failed', message: `watch worker exited (${code})` }));
  }

  call(m: ToWorker): Promise<FromWorker> {
    return new Promise((r) => {
      this.waiting = r;
      this.child.send(m);
    });
  }

  async expect<K extends FromWorker['kind']>(m: ToWorker, kind: K): Promise<Extract<FromWorker, { kind: K }>> {
    const r = await this.call(m);
    if (r.kind === 'failed') throw new Error(r.message);
    if (r.kind !== kind) throw new Error(`watch worker answered ${r.kind}, expected ${kind}`);
    return r as Extract<FromWorker, { kind: K }>;
  }

  /** A message without an answer. */
  send(m: ToWorker): void {
    this.child.send(m);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Closed-loop put connections; every value starts with process.hrtime at send. */
class Writers {
  private stopped = false;
  puts = 0;
  errors = 0;
  latency = new LatencySamples();
  private loops: Promise<void>[] = [];

  constructor(
    private readonly urls: readonly string[],
    private readonly o: WatchOptions,
  ) {}

  start(): void {
    this.loops = Array.from({ length: this.o.writers }, (_, c) => this.loop(c));
  }

  resetWindow(): void {
    this.puts = 0;
    this.errors = 0;
    this.latency = new LatencySamples();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  private async loop(c: number): Promise<void> {
    const u = new URL(this.urls[c % this.urls.length]!);
    let conn = new RawConnection(u.hostname, Number(u.port));
    let i = c;
    while (!this.stopped) {
      const key = Buffer.from(`${PREFIX}k${i % this.o.keys}`).toString('base64');
      i += this.o.writers;
      const t0 = process.hrtime.bigint();
      const value = t0.toString().padEnd(this.o.valueSize, 'x');
      const body = `{"key":"${key}","value":"${Buffer.from(value).toString('base64')}"}`;
      const req = Buffer.from(`POST /v3/kv/put HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const ok = await new Promise<boolean>((r) => conn.request(req, (err, status) => r(err === null && status === 200)));
      if (ok) {
        this.puts++;
        this.latency.record(Number(process.hrtime.bigint() - t0) / 1e6);
      } else {
        this.errors++;
        if (conn.broken) conn = new RawConnection(u.hostname, Number(u.port));
        await sleep(10);
      }
    }
    conn.close();
  }
}

interface ScenarioResult {
  target: string;
  scenario: string;
  watchers: number;
  idleWatchers: number;
  windowS: number;
  putsPerS: number;
  putErrors: number;
  eventsPerS: number;
  /** Delivered events / (puts × active watchers) in the window. */
  deliveredShare: number;
  eventLatencyMs: { p50: number; p99: number; samples: number };
  putLatencyMs: { p50: number; p99: number };
  serverCpuPct: number | null;
  /** CPU of the watcher process (all watchers' reading and counting). */
  watcherCpuPct: number;
  watchErrors: string[];
}

interface TargetWatchResult {
  target: string;
  scenarios: ScenarioResult[];
  memory: { serverKiBPerIdleWatcher: number | null; clientHeapBytesPerWatch: number; rssBeforeKiB: Array<number | null>; rssAfterKiB: Array<number | null> } | null;
  error: string | null;
}

async function measure(server: ServerUnderTest, worker: Worker, o: WatchOptions, target: string, scenario: string, idle: number): Promise<ScenarioResult> {
  const writers = new Writers(server.urls, o);
  writers.start();
  await sleep(o.warmupS * 1000);
  writers.resetWindow();
  worker.send({ kind: 'window', edge: 'start' });
  const cpu0 = server.cpuSeconds();
  const t0 = process.hrtime.bigint();
  await sleep(o.durationS * 1000);
  const done = await worker.expect({ kind: 'window', edge: 'end' }, 'window-done');
  const windowS = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu1 = server.cpuSeconds();
  const puts = writers.puts;
  const putErrors = writers.errors;
  const putLat = writers.latency.summary();
  await writers.stop();
  const r: ScenarioResult = {
    target,
    scenario,
    watchers: o.watchers,
    idleWatchers: idle,
    windowS,
    putsPerS: puts / windowS,
    putErrors,
    eventsPerS: done.events / windowS,
    deliveredShare: puts === 0 ? NaN : done.events / (puts * o.watchers),
    eventLatencyMs: { p50: done.latency.p50, p99: done.latency.p99, samples: done.latencySamples },
    putLatencyMs: { p50: putLat.p50, p99: putLat.p99 },
    serverCpuPct: cpu0 !== null && cpu1 !== null ? ((cpu1 - cpu0) / windowS) * 100 : null,
    watcherCpuPct: done.cpuPct,
    watchErrors: done.errors,
  };
  log(
    `  ${target} ${scenario}: ${fmtRate(r.putsPerS)} puts/s, ${fmtRate(r.eventsPerS)} events/s (${(r.deliveredShare * 100).toFixed(1)}% of puts × watchers), ` +
      `put→event p50 ${fmtMs(r.eventLatencyMs.p50)} ms p99 ${fmtMs(r.eventLatencyMs.p99)} ms, put p99 ${fmtMs(r.putLatencyMs.p99)} ms`,
  );
  await sleep(500);
  return r;
}

async function benchTarget(kind: 'keyward' | 'etcd', o: WatchOptions): Promise<TargetWatchResult> {
  const result: TargetWatchResult = { target: kind, scenarios: [], memory: null, error: null };
  let server: ServerUnderTest | null = null;
  let worker: Worker | null = null;
  try {
    log(`${kind}: starting ${o.members} members`);
    server = await launchCluster({ label: kind, members: o.members, cwd: REPO_ROOT, startupTimeoutMs: 60_000, argv: (m) => memberArgv(kind, o, m) });
    worker = new Worker();
    const opened = await worker.expect({ kind: 'open-active', urls: [...server.urls], count: o.watchers, prefix: PREFIX, sampleEvery: o.sampleEvery }, 'opened');
    log(`${kind}: ${o.watchers} watchers on ${PREFIX} open in ${opened.ms} ms`);
    result.scenarios.push(await measure(server, worker, o, kind, `${o.watchers} watchers`, 0));
    if (o.idle > 0) {
      await sleep(1000);
      const before = server.rssKiB();
      const idle = await worker.expect({ kind: 'open-idle', urls: [...server.urls], count: o.idle, duplex: kind === 'etcd' ? 'half' : 'full' }, 'opened');
      await sleep(2000);
      const after = server.rssKiB();
      const grown = before.every((b) => b !== null) && after.every((a) => a !== null) ? after.reduce<number>((s, a, i) => s + a! - before[i]!, 0) : null;
      result.memory = {
        serverKiBPerIdleWatcher: grown === null ? null : grown / o.idle,
        clientHeapBytesPerWatch: (idle.heapAfter - idle.heapBefore) / o.idle,
        rssBeforeKiB: before,
        rssAfterKiB: after,
      };
      log(`${kind}: ${o.idle} idle watchers open in ${idle.ms} ms; members grew ${grown ?? '?'} KiB (${result.memory.serverKiBPerIdleWatcher?.toFixed(2) ?? '?'} KiB per watcher); client heap ${result.memory.clientHeapBytesPerWatch.toFixed(0)} B per SDK watch`);
      result.scenarios.push(await measure(server, worker, o, kind, `${o.watchers} watchers + ${o.idle} idle`, o.idle));
    }
  } catch (e) {
    result.error = e instanceof Error ? e.message : String(e);
    log(`${kind}: FAILED: ${result.error}`);
  } finally {
    if (worker !== null) {
      await Promise.race([worker.call({ kind: 'close' }), sleep(5000)]);
      worker.kill();
    }
    if (server !== null) await server.stop();
  }
  return result;
}

function tables(results: TargetWatchResult[]): Table[] {
  const rows = results.flatMap((t) =>
    t.scenarios.map((s) => [
      s.target,
      s.scenario,
      fmtRate(s.putsPerS),
      fmtRate(s.eventsPerS),
      `${(s.deliveredShare * 100).toFixed(1)}%`,
      fmtMs(s.eventLatencyMs.p50),
      fmtMs(s.eventLatencyMs.p99),
      fmtMs(s.putLatencyMs.p99),
      s.serverCpuPct === null ? '-' : `${s.serverCpuPct.toFixed(0)}%`,
      `${s.watcherCpuPct.toFixed(0)}%`,
    ]),
  );
  const main: Table = {
    title: 'Watch fan-out (puts to one prefix, every active watcher receives every put)',
    header: ['target', 'scenario', 'puts/s', 'events/s', 'delivered', 'put→event p50 ms', 'p99 ms', 'put p99 ms', 'srv CPU', 'watchers CPU'],
    numeric: [false, false, true, true, true, true, true, true, true, true],
    rows,
    notes: [
      'delivered = events received in the window / (puts acknowledged in the window × active watchers); below 100% means watchers fall behind the writers',
      'srv CPU: all members together; watchers CPU: the one process reading every watch stream (percent of one core; the machine has ' + os.cpus().length + ')',
    ],
  };
  const mem: Table = {
    title: 'Memory per idle watcher',
    header: ['target', 'members RSS growth per watcher', 'client SDK heap per watch'],
    numeric: [false, true, true],
    rows: results.filter((t) => t.memory !== null).map((t) => [t.target, t.memory!.serverKiBPerIdleWatcher === null ? '-' : `${t.memory!.serverKiBPerIdleWatcher.toFixed(2)} KiB`, `${(t.memory!.clientHeapBytesPerWatch / 1024).toFixed(2)} KiB`]),
    notes: ['members RSS growth: VmRSS after opening the idle watchers minus before, summed over the members, divided by the watchers (includes each watcher\'s socket and HTTP state)'],
  };
  return [main, mem];
}

export async function watchBenchMain(argv: string[]): Promise<number> {
  let o: WatchOptions | null;
  try {
    o = parseWatchOptions(argv.filter((a, i) => !(a === '--ops' || argv[i - 1] === '--ops')));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${WATCH_USAGE}`);
    return 2;
  }
  if (o === null) {
    process.stdout.write(WATCH_USAGE);
    return 0;
  }
  const onSignal = (): void => {
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const results: TargetWatchResult[] = [];
  for (const t of o.targets) results.push(await benchTarget(t, o));
  for (const t of tables(results)) process.stdout.write(`\n${renderText(t)}\n`);
  mkdirSync(dirname(o.jsonPath), { recursive: true });
  writeFileSync(
    o.jsonPath,
    JSON.stringify({ schema: 'keyward-watch-bench/1', at: new Date().toISOString(), host: { cpus: os.cpus().length, node: process.version, loadavg: os.loadavg() }, options: o, results }, null, 1),
  );
  log(`results in ${o.jsonPath}`);
  return results.some((r) => r.error !== null) ? 1 : 0;
}

// Run when executed directly (node dist/bench/watch-bench.js), not when imported by kv-bench.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  watchBenchMain(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      void stopAll().then(() => process.exit(1));
    },
  );
}

// `npm run bench`: put and single-key range throughput and latency of etcd's v3 JSON API,
// Keyward against etcd 3.4, with 1/16/64 closed-loop keep-alive connections.
//
// Processes: this orchestrator (idle while measuring), one load-generator process
// (loadgen.ts, forked once and reused), and one server under test at a time (each started
// fresh in its own temp dir and process group; with --members N each target is an N-member
// cluster on loopback). Before the targets, the generator is run against
// a constant-answer node:http server to measure its own ceiling.

import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { DEFAULT_KEYWARD_CLUSTER_CMD, DEFAULT_KEYWARD_CMD, parseOptions, splitCommand, USAGE, UsageError } from './options.js';
import type { Options, TargetSpec } from './options.js';
import type { CellMeasurement, Credentials, FromGenerator, RunCell, ToGenerator } from './protocol.js';
import { BENCH_PREFIX, BENCH_USER, SecureMaterial } from './security.js';
import { benchTenant, preloadTenants, setupTenants, verifyTenants } from './tenants.js';
import {
  ceilingTable,
  compare,
  comparisonPairs,
  comparisonTable,
  GOAL_CONNECTIONS,
  goalNotes,
  SECURE_MIN_RATIO,
  securityCostGoals,
  securityTable,
  fmtMs,
  goalsFor,
  memoryTables,
  fmtRate,
  tenantComparisons,
  tenantsTable,
  renderMarkdown,
  renderText,
  targetsTable,
} from './report.js';
import type { CellResult, Comparison, MemoryResult, Table, TargetResult } from './report.js';
import { externalServer, fetchVersion, freePort, launch, launchCluster, StartupError, stopAll, waitHealthy } from './servers.js';
import type { MemberContext, ServerUnderTest } from './servers.js';
import { withInsecure } from './keyward-flags.js';
import { controlRequest } from './http-request.js';
import { keyName, valueBytes } from './workload.js';
import type { Op } from './workload.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/bench
const REPO_ROOT = resolve(HERE, '..', '..');
/** Pause between cells so one cell's tail (server flushes, TIME_WAIT churn) does not bleed into the next. */
const SETTLE_MS = 300;

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/** The forked load generator, driven by request/response messages matched on `id`. */
class Generator {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly waiting = new Map<number, (msg: FromGenerator) => void>();
  private readonly windowListeners = new Map<number, (edge: 'start' | 'end') => void>();
  private exitReason: string | null = null;

  constructor() {
    this.child = fork(join(HERE, 'loadgen.js'), [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (raw: unknown) => {
      // IPC carries only what loadgen sends: FromGenerator values.
      const msg = raw as FromGenerator;
      if (msg.kind === 'window') {
        this.windowListeners.get(msg.id)?.(msg.edge);
        return;
      }
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      w?.(msg);
    });
    this.child.on('exit', (code, signal) => {
      this.exitReason = `load generator exited (${signal ?? `code ${code}`})`;
      for (const w of this.waiting.values()) w({ kind: 'failed', id: 0, message: this.exitReason });
      this.waiting.clear();
    });
  }

  private call(msg: ToGenerator & { id: number }): Promise<FromGenerator> {
    if (this.exitReason !== null) return Promise.reject(new Error(this.exitReason));
    return new Promise<FromGenerator>((resolvePromise) => {
      this.waiting.set(msg.id, resolvePromise);
      this.child.send(msg);
    });
  }

  async run(spec: Omit<RunCell, 'kind' | 'id'>, onWindow: (edge: 'start' | 'end') => void): Promise<CellMeasurement> {
    const id = this.nextId++;
    this.windowListeners.set(id, onWindow);
    try {
      const res = await this.call({ kind: 'run', id, ...spec });
      if (res.kind === 'cell-done') return res.result;
      throw new Error(res.kind === 'failed' ? res.message : `unexpected ${res.kind}`);
    } finally {
      this.windowListeners.delete(id);
    }
  }

  async preload(urls: readonly string[], connections: number, keys: number, valueSize: number, credentials?: Credentials): Promise<number> {
    const id = this.nextId++;
    const res = await this.call({ kind: 'preload', id, urls: [...urls], connections, keys, valueSize, ...(credentials === undefined ? {} : { credentials }) });
    if (res.kind === 'preload-done') return res.elapsedMs;
    throw new Error(res.kind === 'failed' ? res.message : `unexpected ${res.kind}`);
  }

  /** Immediate stop, for an interrupted run. */
  kill(): void {
    if (this.exitReason === null) this.child.kill('SIGKILL');
  }

  async close(): Promise<void> {
    if (this.exitReason !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      this.child.send({ kind: 'shutdown' } satisfies ToGenerator);
    } catch {
      // channel already closed
    }
    const timedOut = await Promise.race([exited.then(() => false), sleep(5000).then(() => true)]);
    if (timedOut && this.child.pid !== undefined) this.child.kill('SIGKILL');
  }
}

async function measureCell(
  gen: Generator,
  server: ServerUnderTest,
  credentials: Credentials | undefined,
  laneCredentials: Credentials[] | undefined,
  label: string,
  idle: ServerUnderTest[],
  opts: Options,
  op: Op,
  connections: number,
  round: number,
): Promise<CellResult> {
  // CPU of the server under test, and of the targets waiting for their turn (to expose any
  // background work of theirs bleeding into this cell).
  const watched = [server, ...idle];
  let cpuStart: Array<number | null> = [];
  let cpuEnd: Array<number | null> = [];
  const m = await gen.run(
    {
      urls: [...server.urls],
      op,
      connections,
      warmupMs: opts.warmupS * 1000,
      durationMs: opts.durationS * 1000,
      keys: opts.keys,
      valueSize: opts.valueSize,
      client: opts.client,
      seed: opts.seed,
      ...(credentials === undefined ? {} : { credentials }),
      ...(laneCredentials === undefined ? {} : { laneCredentials }),
    },
    (edge) => {
      const sample = watched.map((s) => s.cpuSeconds());
      if (edge === 'start') cpuStart = sample;
      else cpuEnd = sample;
    },
  );
  const pct = (i: number): number | null => {
    const a = cpuStart[i] ?? null;
    const b = cpuEnd[i] ?? null;
    return a !== null && b !== null ? ((b - a) / m.windowS) * 100 : null;
  };
  const serverCpuPct = pct(0);
  const idlePcts = idle.map((_, i) => pct(i + 1));
  const idleTargetsCpuPct = idle.length > 0 && idlePcts.every((x) => x !== null) ? idlePcts.reduce<number>((a, x) => a + (x ?? 0), 0) : null;
  const cell: CellResult = { ...m, serverCpuPct, idleTargetsCpuPct };
  log(
    `  ${opts.rounds > 1 ? `round ${round + 1}/${opts.rounds} ` : ''}` +
      `${label.padEnd(14)} ${op.padEnd(7)} c=${String(connections).padStart(3)}  ` +
      `${fmtRate(cell.throughput).padStart(7)} req/s  p50 ${fmtMs(cell.latencyMs.p50)} ms  p99 ${fmtMs(cell.latencyMs.p99)} ms` +
      (cell.errors > 0 ? `  errors ${cell.errors} (${cell.firstError ?? ''})` : ''),
  );
  await sleep(SETTLE_MS);
  return cell;
}

/** One row of the matrix: an op at a connection count. */
interface CellKey {
  op: Op;
  connections: number;
}

function matrix(opts: Options): CellKey[] {
  const out: CellKey[] = [];
  for (const connections of opts.connections) for (const op of opts.ops) out.push({ op, connections });
  return out;
}

/** A started, preloaded target and the cells measured on it so far (every round). */
interface Running {
  result: TargetResult;
  server: ServerUnderTest;
  /** What the load generator presents (secure targets). */
  credentials: Credentials | undefined;
  /** Tenants mode: the tenants' credentials, connection k presenting laneCredentials[k % length]. */
  laneCredentials?: Credentials[];
  measured: CellResult[][];
}

/**
 * Runs every cell of the matrix `opts.rounds` times on each running target. Targets take
 * turns cell by cell, and the turn order alternates (A B, B A, …), so slow drifts in the
 * background load of a shared machine hit every target alike.
 */
async function runRounds(gen: Generator, running: Running[], opts: Options): Promise<void> {
  const cells = matrix(opts);
  for (const r of running) r.measured = cells.map(() => []);
  let turn = 0;
  for (let round = 0; round < opts.rounds; round++) {
    for (let k = 0; k < cells.length; k++) {
      const { op, connections } = cells[k]!;
      const order = turn++ % 2 === 0 ? running : [...running].reverse();
      for (const r of order) {
        // Tenant variants share their server with the baseline: it is not idle meanwhile.
        const idle = [...new Set(running.filter((o) => o.server !== r.server).map((o) => o.server))];
        r.measured[k]!.push(await measureCell(gen, r.server, r.credentials, r.laneCredentials, r.result.label, idle, opts, op, connections, round));
      }
    }
  }
  for (const r of running) {
    r.result.cells = r.measured.map(combineRounds);
    if (opts.rounds > 1) r.result.rounds = r.measured;
  }
}

function median(xs: number[]): number {
  const v = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 === 1 ? v[m]! : (v[m - 1]! + v[m]!) / 2;
}

/** One cell over several rounds: rates, latencies and CPU are medians; counts are totals. */
function combineRounds(rounds: CellResult[]): CellResult {
  const first = rounds[0]!;
  if (rounds.length === 1) return first;
  const med = (f: (c: CellResult) => number): number => median(rounds.map(f));
  const cpu = rounds.map((c) => c.serverCpuPct).filter((x): x is number => x !== null);
  const idleCpu = rounds.map((c) => c.idleTargetsCpuPct).filter((x): x is number => x !== null);
  return {
    op: first.op,
    connections: first.connections,
    client: first.client,
    windowS: rounds.reduce((a, c) => a + c.windowS, 0),
    requests: rounds.reduce((a, c) => a + c.requests, 0),
    errors: rounds.reduce((a, c) => a + c.errors, 0),
    firstError: rounds.find((c) => c.firstError !== null)?.firstError ?? null,
    throughput: med((c) => c.throughput),
    latencyMs: {
      mean: med((c) => c.latencyMs.mean),
      p50: med((c) => c.latencyMs.p50),
      p90: med((c) => c.latencyMs.p90),
      p99: med((c) => c.latencyMs.p99),
      p999: med((c) => c.latencyMs.p999),
      max: Math.max(...rounds.map((c) => c.latencyMs.max)),
    },
    genCpuPct: med((c) => c.genCpuPct),
    genElu: med((c) => c.genElu),
    genCpuUsPerReq: med((c) => c.genCpuUsPerReq),
    serverCpuPct: cpu.length === rounds.length ? median(cpu) : null,
    idleTargetsCpuPct: idleCpu.length === rounds.length ? Math.max(...idleCpu) : null,
  };
}

function emptyResult(label: string, kind: TargetResult['kind']): TargetResult {
  return { label, kind, url: null, command: null, version: null, preload: null, cells: [], error: null };
}

/** Reads back a few preloaded keys through the JSON API (from every member) and checks their values. */
async function verifyPreload(urls: readonly string[], opts: Options, credentials?: Credentials): Promise<void> {
  for (const url of urls) await verifyPreloadAt(url, opts, credentials);
}

async function verifyPreloadAt(url: string, opts: Options, credentials: Credentials | undefined): Promise<void> {
  for (const i of new Set([0, Math.floor(opts.keys / 2), opts.keys - 1])) {
    const res = await controlRequest(`${url}/v3/kv/range`, { body: JSON.stringify({ key: Buffer.from(keyName(i)).toString('base64') }), credentials });
    const text = res.text;
    if (res.status !== 200) throw new Error(`range of ${keyName(i)} at ${url} after preload: HTTP ${res.status} ${text.slice(0, 200)}`);
    // Shape per shared/API.md §5: {"header":{…},"kvs":[{"key":…,"value":…}],"count":"1"}
    const body = JSON.parse(text) as { kvs?: Array<{ key?: string; value?: string }> };
    const want = valueBytes(i, opts.valueSize).toString('base64');
    const got = body.kvs?.[0]?.value ?? '';
    if (body.kvs?.length !== 1 || got !== want) {
      throw new Error(`range of ${keyName(i)} at ${url} after preload returned ${text.slice(0, 200)}; expected its ${opts.valueSize}-byte value`);
    }
  }
}

/** etcd's flags for one member of a --members N cluster (default tuning, quiet log). */
function etcdMemberArgv(opts: Options, m: MemberContext): string[] {
  return [
    opts.etcdBin,
    '--name', m.name,
    '--data-dir', m.dataDir,
    '--listen-client-urls', m.url,
    '--advertise-client-urls', m.url,
    '--listen-peer-urls', m.peerUrl,
    '--initial-advertise-peer-urls', m.peerUrl,
    '--initial-cluster', m.initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', m.token,
    '--logger', 'zap',
    '--log-outputs', 'stderr',
    '--log-level', 'warn',
  ];
}

/** Where `node` starts a member command: first, or after `env NAME=value ...`; -1 when it does not. */
function nodeIndex(cmd: readonly string[]): number {
  let at = 0;
  if (cmd[0] === 'env') for (at = 1; at < cmd.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(cmd[at]!); at++);
  return cmd[at] === 'node' ? at : -1;
}

/**
 * --keyward-cmd with its placeholders filled in; a leading `node` (also after `env NAME=value ...`)
 * becomes this Node binary.
 */
function keywardArgv(cmd: readonly string[], ctx: { dataDir: string; url: string; port: number; host: string }, m?: MemberContext): string[] {
  const nodeAt = nodeIndex(cmd);
  return cmd.map((w, i) => {
    if (i === nodeAt && w === 'node') return process.execPath;
    let out = w
      .replaceAll('{data_dir}', ctx.dataDir)
      .replaceAll('{url}', ctx.url)
      .replaceAll('{port}', String(ctx.port))
      .replaceAll('{host}', ctx.host);
    if (m !== undefined) {
      out = out
        .replaceAll('{name}', m.name)
        .replaceAll('{peer_url}', m.peerUrl)
        .replaceAll('{initial_cluster}', m.initialCluster)
        .replaceAll('{token}', m.token);
    }
    return out;
  });
}

/** A started target and what its clients present (both undefined for plain targets). */
interface Started {
  server: ServerUnderTest;
  /** The load generator's credentials: user `bench`. */
  load: Credentials | undefined;
  /** The orchestrator's (health, version). */
  admin: Credentials | undefined;
  /** Tenants mode: each tenant's bench user (tenant j = bench-t<j>), and the certificates' store. */
  tenants?: { creds: Credentials[]; material: SecureMaterial };
}

/** A server whose stop() also removes the certificates made for it. */
class WithMaterial implements ServerUnderTest {
  constructor(
    private readonly inner: ServerUnderTest,
    private readonly material: SecureMaterial,
  ) {}
  get label(): string {
    return this.inner.label;
  }
  get url(): string {
    return this.inner.url;
  }
  get urls(): readonly string[] {
    return this.inner.urls;
  }
  get command(): string[] | null {
    return this.inner.command;
  }
  cpuSeconds(): number | null {
    return this.inner.cpuSeconds();
  }
  rssKiB(): Array<number | null> {
    return this.inner.rssKiB();
  }
  async stop(): Promise<void> {
    await this.inner.stop();
    this.material.remove();
    liveMaterials.delete(this.material);
  }
}

/** Certificate dirs not yet removed, for an interrupted run. */
const liveMaterials = new Set<SecureMaterial>();

function removeMaterials(): void {
  for (const m of liveMaterials) m.remove();
  liveMaterials.clear();
}

/** Member names of a started target: m1 … mN (a single etcd member is called `bench`, as before). */
function memberNames(t: TargetSpec, opts: Options): string[] {
  if (opts.members > 1) return Array.from({ length: opts.members }, (_, k) => `m${k + 1}`);
  return [t.kind === 'etcd' ? 'bench' : 'm1'];
}

async function startTarget(t: TargetSpec, opts: Options): Promise<Started> {
  const timeoutMs = opts.startupTimeoutS * 1000;
  if (t.kind === 'url') {
    await waitHealthy(t.url, timeoutMs);
    return { server: externalServer(t.label, t.url), load: undefined, admin: undefined };
  }
  if (t.kind === 'keyward') checkKeywardEntry(opts);
  const material = t.secure ? SecureMaterial.create(t.kind, memberNames(t, opts)) : null;
  if (material !== null) liveMaterials.add(material);
  const admin = material?.admin;
  // Secure members get their certificates' flags; a plain Keyward gets --insecure (when its
  // build knows the flag). A secure Keyward never does: it would switch the auth bootstrap off.
  const keyward = (ctx: { dataDir: string; url: string; port: number; host: string }, m: MemberContext | undefined, name: string, cmd = opts.keywardCmd): string[] =>
    material !== null ? [...keywardArgv(cmd, ctx, m), ...material.keywardFlags(name)] : withInsecure(keywardArgv(cmd, ctx, m), REPO_ROOT);
  const etcd = (m: MemberContext): string[] => [...etcdMemberArgv(opts, m), ...(material === null ? [] : material.etcdFlags(m.name))];
  let server: ServerUnderTest;
  try {
    if (opts.members > 1) {
      log(`${t.label}: starting ${opts.members} members`);
      server = await launchCluster({
        label: t.label,
        members: opts.members,
        cwd: REPO_ROOT,
        startupTimeoutMs: timeoutMs,
        ...(t.secure ? { scheme: 'https' as const } : {}),
        ...(admin === undefined ? {} : { credentials: admin }),
        argv: (m) => (t.kind === 'etcd' ? etcd(m) : keyward(m, m, m.name)),
      });
      log(`${t.label}: all ${opts.members} members healthy with an agreed leader`);
    } else {
      // One member: the same flags as a cluster member of one (etcd's single member is `bench`).
      const name = memberNames(t, opts)[0]!;
      const peerUrl = `${t.secure ? 'https' : 'http'}://127.0.0.1:${await freePort()}`;
      server = await launch({
        label: t.label,
        cwd: REPO_ROOT,
        startupTimeoutMs: timeoutMs,
        ...(t.secure ? { scheme: 'https' as const } : {}),
        ...(admin === undefined ? {} : { credentials: admin }),
        argv: (ctx) => {
          const m: MemberContext = { ...ctx, name, peerUrl, initialCluster: `${name}=${peerUrl}`, token: `bench-${t.label}-${process.pid}` };
          if (t.kind === 'etcd') return etcd(m);
          // The default command leaves the peer port at Keyward's default (127.0.0.1:2380, which a
          // test run or an etcd may hold): run it as a cluster of one on a free peer port instead.
          const defaulted = opts.keywardCmd.join(' ') === splitCommand(DEFAULT_KEYWARD_CMD).join(' ');
          return keyward(m, m, name, defaulted ? splitCommand(DEFAULT_KEYWARD_CLUSTER_CMD) : opts.keywardCmd);
        },
      });
    }
  } catch (err) {
    if (material !== null) {
      material.remove();
      liveMaterials.delete(material);
    }
    throw err;
  }
  if (material === null) return { server, load: undefined, admin: undefined };
  const wrapped = new WithMaterial(server, material);
  try {
    log(`${t.label}: switching auth on; user ${BENCH_USER} with READWRITE on ${BENCH_PREFIX}`);
    await material.configure(server.urls, timeoutMs);
    if (t.kind === 'keyward' && opts.tenants.length > 0) {
      const n = Math.max(...opts.tenants);
      log(`${t.label}: creating ${n} tenant(s) ${benchTenant(0)}${n > 1 ? ` … ${benchTenant(n - 1)}` : ''}, each with user ${BENCH_USER} (role rw: READWRITE on its keyspace) and a certificate`);
      const tenants = { creds: await setupTenants(material, server.url, n), material };
      return { server: wrapped, load: material.bench, admin: material.admin, tenants };
    }
  } catch (err) {
    await wrapped.stop();
    throw err;
  }
  return { server: wrapped, load: material.bench, admin: material.admin };
}

function checkKeywardEntry(opts: Options): void {
  const cmd = opts.keywardCmd;
  // The script is the first word after node that is not a Node option (--cpu-prof …).
  const at = nodeIndex(cmd);
  const script = at >= 0 ? cmd.slice(at + 1).find((w) => !w.startsWith('-')) : undefined;
  if (script !== undefined && !script.includes('{') && !existsSync(isAbsolute(script) ? script : join(REPO_ROOT, script))) {
    throw new StartupError(
      `Keyward entry point ${script} does not exist (relative to ${REPO_ROOT}); build it first, ` +
        `pass --keyward-cmd, or bench another target (--target etcd | url:http://host:port)`,
    );
  }
}

/** Targets that could not be started or preloaded. */
const failedTargets: TargetResult[] = [];

/** Starts and preloads a target (and its tenant variants); on failure records the error and returns []. */
async function prepareTarget(gen: Generator, t: TargetSpec, opts: Options): Promise<Running[]> {
  const result = emptyResult(t.label, t.kind);
  let server: ServerUnderTest | null = null;
  try {
    log(`${t.label}: starting`);
    const started = await startTarget(t, opts);
    server = started.server;
    result.url = server.url;
    result.command = server.command;
    result.version = await fetchVersion(server.url, started.admin);
    log(`${t.label}: healthy at ${server.urls.join(', ')}; preloading ${opts.keys} keys`);
    const elapsedMs = await gen.preload(server.urls, opts.preloadConnections, opts.keys, opts.valueSize, started.load);
    result.preload = { keys: opts.keys, elapsedMs };
    await verifyPreload(server.urls, opts, started.load);
    const out: Running[] = [{ result, server, credentials: started.load, measured: [] }];
    const tenants = started.tenants;
    if (tenants !== undefined) {
      const { creds, material } = tenants;
      log(`${t.label}: preloading ${opts.keys} keys in each of ${creds.length} tenant(s) (as root, in transactions)`);
      const elapsedMs = await preloadTenants(material, server.url, creds.length, opts.keys, opts.valueSize);
      await verifyTenants(server.urls, creds, opts.valueSize);
      log(`${t.label}: tenants preloaded in ${(elapsedMs / 1000).toFixed(1)} s; every tenant reads its own keys, tenant 0 not tenant 1's`);
      for (const n of opts.tenants) {
        const variant: TargetResult = { ...emptyResult(`keyward-t${n}`, 'keyward'), url: result.url, command: result.command, version: result.version, tenants: n };
        variant.preload = { keys: opts.keys * n, elapsedMs };
        out.push({ result: variant, server, credentials: creds[0], laneCredentials: creds.slice(0, n), measured: [] });
      }
    }
    await sleep(SETTLE_MS);
    return out;
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`${t.label}: FAILED: ${result.error}`);
    failedTargets.push(result);
    if (server !== null) await server.stop();
    return [];
  }
}

/**
 * Measures the targets. Interleaved (default): all run at once, idle but for their turn.
 * Sequential: one at a time, each stopped before the next starts.
 */
async function benchTargets(gen: Generator, opts: Options): Promise<TargetResult[]> {
  const done: Running[] = [];
  const measure = async (group: Running[]): Promise<void> => {
    try {
      await runRounds(gen, group, opts);
    } catch (err) {
      for (const r of group) r.result.error ??= err instanceof Error ? err.message : String(err);
    } finally {
      for (const r of group) await r.server.stop();
      done.push(...group);
    }
  };
  if (opts.sequential) {
    for (const t of opts.targets) {
      const rs = await prepareTarget(gen, t, opts);
      if (rs.length > 0) await measure(rs);
    }
  } else {
    const group: Running[] = [];
    for (const t of opts.targets) group.push(...(await prepareTarget(gen, t, opts)));
    if (group.length > 0) await measure(group);
  }
  // Report in the order the targets were asked for, tenant variants after their target.
  const all = [...done.map((r) => r.result), ...failedTargets];
  const variants = done.map((r) => r.result).filter((r) => r.tenants !== undefined);
  return [...opts.targets.map((t) => all.find((r) => r.label === t.label)!), ...variants];
}

/** Pause after loading before reading VmRSS, so in-flight work (flushes, compaction) settles. */
const MEMORY_SETTLE_MS = 2000;
/**
 * Then VmRSS again once the members have been idle this long: garbage collected runtimes keep the
 * heap a load burst grew until they notice the quiet (V8's memory reducer, Go's scavenger), so
 * the first reading is the burst and the second the steady state. Both targets get the same wait.
 */
const MEMORY_IDLE_MS = 60_000;

/**
 * `--memory`: one target at a time, a fresh cluster loaded with `opts.keys` keys through the
 * API (connections round-robin over the members), then each member's VmRSS.
 */
async function benchMemory(gen: Generator, opts: Options): Promise<MemoryResult[]> {
  const out: MemoryResult[] = [];
  for (const t of opts.targets) {
    const r: MemoryResult = {
      label: t.label,
      kind: t.kind,
      members: opts.members,
      keys: opts.keys,
      valueSize: opts.valueSize,
      loadMs: null,
      rssKiB: [],
      rssIdleKiB: [],
      error: null,
    };
    let server: ServerUnderTest | null = null;
    try {
      log(`${t.label}: starting for the memory measurement`);
      const started = await startTarget(t, opts);
      server = started.server;
      log(`${t.label}: loading ${opts.keys} keys of ${opts.valueSize} bytes`);
      r.loadMs = await gen.preload(server.urls, opts.preloadConnections, opts.keys, opts.valueSize, started.load);
      await verifyPreload(server.urls, opts, started.load);
      await sleep(MEMORY_SETTLE_MS);
      r.rssKiB = server.rssKiB();
      const fmt = (xs: Array<number | null>): string => xs.map((k) => (k === null ? '-' : `${(k / 1024).toFixed(1)} MiB`)).join(', ');
      log(`${t.label}: loaded in ${(r.loadMs / 1000).toFixed(1)} s; VmRSS ${fmt(r.rssKiB)}; idle ${MEMORY_IDLE_MS / 1000} s`);
      await sleep(MEMORY_IDLE_MS);
      r.rssIdleKiB = server.rssKiB();
      log(`${t.label}: VmRSS after ${MEMORY_IDLE_MS / 1000} s idle ${fmt(r.rssIdleKiB)}`);
    } catch (err) {
      r.error = err instanceof Error ? err.message : String(err);
      log(`${t.label}: FAILED: ${r.error}`);
    } finally {
      if (server !== null) await server.stop();
    }
    out.push(r);
  }
  return out;
}

async function benchCeiling(gen: Generator, opts: Options): Promise<TargetResult> {
  const result = emptyResult('constant', 'constant');
  let server: ServerUnderTest | null = null;
  try {
    log('generator ceiling: starting constant-answer node:http server');
    server = await launch({
      label: 'constant',
      cwd: REPO_ROOT,
      startupTimeoutMs: opts.startupTimeoutS * 1000,
      argv: ({ port, host }) => [process.execPath, join(HERE, 'constant-server.js'), '--port', String(port), '--host', host],
    });
    result.url = server.url;
    result.command = server.command;
    for (const { op, connections } of matrix(opts)) result.cells.push(await measureCell(gen, server, undefined, undefined, 'constant', [], opts, op, connections, 0));
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err);
    log(`generator ceiling: FAILED: ${result.error}`);
  } finally {
    if (server !== null) await server.stop();
  }
  return result;
}

interface BenchResults {
  schema: 'keyward-bench/1';
  startedAt: string;
  finishedAt: string;
  host: {
    cpus: number;
    cpuModel: string;
    totalMemMiB: number;
    loadavgAtStart: number[];
    node: string;
    platform: string;
  };
  config: {
    targets: string[];
    connections: number[];
    ops: Op[];
    durationS: number;
    warmupS: number;
    keys: number;
    valueSize: number;
    client: string;
    keywardCmd: string[];
    etcdBin: string;
    seed: number;
    rounds: number;
    sequential: boolean;
    members: number;
    memory: boolean;
    security: string[];
    tenants: number[];
  };
  ceiling: TargetResult | null;
  targets: TargetResult[];
  comparisons: Comparison[];
  /** --memory only. */
  memory?: MemoryResult[];
}

async function main(): Promise<number> {
  // `--ops watch` is the watch fan-out bench (watch-bench.ts), with its own flags.
  const opsAt = process.argv.indexOf('--ops');
  if (opsAt >= 0 && process.argv[opsAt + 1] === 'watch') return (await import('./watch-bench.js')).watchBenchMain(process.argv.slice(2));
  let opts: Options | null;
  try {
    opts = parseOptions(process.argv.slice(2), REPO_ROOT);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (opts === null) {
    process.stdout.write(USAGE);
    return 0;
  }

  const results: BenchResults = {
    schema: 'keyward-bench/1',
    startedAt: new Date().toISOString(),
    finishedAt: '',
    host: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
      loadavgAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
      node: process.version,
      platform: `${os.platform()} ${os.release()}`,
    },
    config: {
      targets: opts.targets.map((t) => t.label),
      connections: opts.connections,
      ops: opts.ops,
      durationS: opts.durationS,
      warmupS: opts.warmupS,
      keys: opts.keys,
      valueSize: opts.valueSize,
      client: opts.client,
      keywardCmd: opts.keywardCmd,
      etcdBin: opts.etcdBin,
      seed: opts.seed,
      rounds: opts.rounds,
      sequential: opts.sequential,
      members: opts.members,
      memory: opts.memory,
      security: opts.security,
      tenants: opts.tenants,
    },
    ceiling: null,
    targets: [],
    comparisons: [],
  };

  const gen = new Generator();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    log(`${sig}: stopping servers and cleaning up`);
    gen.kill();
    void stopAll().finally(() => {
      removeMaterials();
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (opts.memory) {
    let memory: MemoryResult[];
    try {
      memory = await benchMemory(gen, opts);
    } finally {
      await gen.close();
      await stopAll();
      removeMaterials();
    }
    results.memory = memory;
    results.finishedAt = new Date().toISOString();
    const tables = memoryTables(memory);
    process.stdout.write(`\n${tables.map(renderText).join('\n\n')}\n`);
    if (opts.markdown) process.stdout.write(`\n${tables.map(renderMarkdown).join('\n\n')}\n`);
    mkdirSync(dirname(opts.jsonPath), { recursive: true });
    writeFileSync(opts.jsonPath, `${JSON.stringify(results, null, 2)}\n`);
    log(`results written to ${opts.jsonPath}`);
    return memory.some((m) => m.error !== null) ? 1 : 0;
  }

  const perCell = opts.warmupS + opts.durationS + SETTLE_MS / 1000;
  const cellsPerTarget = opts.connections.length * opts.ops.length;
  // Tenant variants are measured like targets of their own (on the secure Keyward's server).
  const n = (opts.ceiling ? 1 : 0) + (opts.ceilingOnly ? 0 : (opts.targets.length + opts.tenants.length) * opts.rounds);
  log(`about ${Math.ceil(n * cellsPerTarget * perCell)} s of measurement (${n} x ${cellsPerTarget} cells), plus start-up and preload`);

  try {
    if (opts.ceiling) results.ceiling = await benchCeiling(gen, opts);
    if (!opts.ceilingOnly) {
      results.targets = await benchTargets(gen, opts);
    }
  } finally {
    await gen.close();
    await stopAll();
    removeMaterials();
  }
  results.finishedAt = new Date().toISOString();

  const goals = goalsFor(opts.members, opts.ops, opts.connections);
  const costGoals = securityCostGoals(opts.ops, opts.connections);
  const pairs = comparisonPairs(results.targets, goals, costGoals);
  for (const p of pairs) results.comparisons.push(...compare(p.subject, p.baseline, p.goals));
  results.comparisons.push(...tenantComparisons(results.targets));

  const tables: Table[] = [];
  if (results.ceiling !== null) tables.push(ceilingTable(results.ceiling));
  if (results.targets.length > 0) {
    const t = targetsTable(results.targets);
    if (opts.members > 1) t.title = `Results (${opts.members}-member clusters, connections round-robin over the members)`;
    tables.push(t);
  }
  for (const p of pairs) {
    const cmp = results.comparisons.filter((c) => c.subject === p.subject.label && c.baseline === p.baseline.label);
    const notes = p.goals === costGoals ? [`Goal: secure req/s >= ${SECURE_MIN_RATIO.toFixed(2)}x plain at ${GOAL_CONNECTIONS.join(' and ')} connections, no errors.`] : goalNotes(p.goals);
    if (cmp.length > 0) tables.push(comparisonTable(cmp, p.goals, notes));
  }
  const sec = securityTable(results.targets, goals, costGoals);
  // The tenants mode alone measures only keyward-secure: a security table would be all dashes.
  const secureOnly = opts.tenants.length > 0 && !results.targets.some((t) => t.label === 'keyward' || t.label === 'etcd-secure');
  if (sec !== null && !secureOnly) tables.push(sec);
  if (opts.tenants.length > 0) {
    const ten = tenantsTable(results.targets, opts.members);
    if (ten !== null) tables.push(ten);
  }
  process.stdout.write(`\n${tables.map(renderText).join('\n\n')}\n`);
  if (opts.markdown) process.stdout.write(`\n${tables.map(renderMarkdown).join('\n\n')}\n`);

  mkdirSync(dirname(opts.jsonPath), { recursive: true });
  writeFileSync(opts.jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${opts.jsonPath}`);

  const all = [...(results.ceiling === null ? [] : [results.ceiling]), ...results.targets];
  const failed = all.some((t) => t.error !== null || t.cells.some((c) => c.errors > 0));
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`[bench] fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await stopAll();
    removeMaterials();
    process.exit(1);
  },
);

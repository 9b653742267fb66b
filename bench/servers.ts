// Starting, watching and stopping the servers under test.
// Each managed server runs in its own process group (detached) with its stdout/stderr in a
// log file inside its own temp dir; readiness is GET /health answering 200 {"health":"true"};
// stop() sends SIGTERM to the group, SIGKILL after a grace period, then removes the temp dir.

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { controlRequest } from './http-request.js';
import type { Credentials } from './protocol.js';

const STOP_GRACE_MS = 10_000;
const HEALTH_POLL_MS = 100;

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface ServerUnderTest {
  readonly label: string;
  /** The first member's client URL. */
  readonly url: string;
  /** Every member's client URL (just `url` for a single server). */
  readonly urls: readonly string[];
  /** argv used to start it; null for an already-running endpoint. */
  readonly command: string[] | null;
  /** CPU seconds (user+sys) used so far by its process group; null when unknown. */
  cpuSeconds(): number | null;
  /** Resident set size (VmRSS, KiB) of each member's main process; null where unknown. */
  rssKiB(): Array<number | null>;
  stop(): Promise<void>;
}

/** An endpoint somebody else runs (`--target url:…`). */
export function externalServer(label: string, url: string): ServerUnderTest {
  return { label, url, urls: [url], command: null, cpuSeconds: () => null, rssKiB: () => [null], stop: async () => {} };
}

/** `n` distinct free loopback ports (all held open until every one is known, so none repeats). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let k = 0; k < n; k++) {
      const srv = net.createServer();
      srv.unref();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.on('error', reject);
          srv.listen(0, '127.0.0.1', () => {
            const addr = srv.address();
            const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
            if (port > 0) resolve(port);
            else reject(new Error('could not allocate a port'));
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((srv) => new Promise<void>((r) => srv.close(() => r()))));
  }
}

export async function freePort(): Promise<number> {
  return (await freePorts(1))[0]!;
}

/** VmRSS of process `pid` in KiB, from /proc/<pid>/status (Linux); null when unknown. */
export function vmRssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

let clockTicks: number | null = null;
function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Sum of utime+stime (seconds) over the live processes of process group `pgid` (Linux /proc). */
export function groupCpuSeconds(pgid: number): number | null {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return null;
  }
  let ticks = 0;
  let found = false;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …"
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(rest[2]) !== pgid) continue;
    found = true;
    ticks += Number(rest[11]) + Number(rest[12]);
  }
  return found ? ticks / ticksPerSecond() : null;
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n').trim();
  } catch {
    return '';
  }
}

export interface HealthResult {
  ok: boolean;
  detail: string;
}

/** `credentials`: what an https:// server wants to see (client certificate) before it answers. */
export async function checkHealth(url: string, credentials?: Credentials): Promise<HealthResult> {
  try {
    const res = await controlRequest(`${url}/health`, { credentials, timeoutMs: 2000 });
    const text = res.text;
    if (res.status !== 200) return { ok: false, detail: `HTTP ${res.status} ${text.slice(0, 200)}` };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, detail: `non-JSON body ${text.slice(0, 200)}` };
    }
    const health = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['health'] : undefined;
    return health === 'true' ? { ok: true, detail: text } : { ok: false, detail: `unhealthy: ${text.slice(0, 200)}` };
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}

/** Polls GET /health until it answers {"health":"true"}. */
export async function waitHealthy(url: string, timeoutMs: number, exited?: () => string | null, credentials?: Credentials): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const gone = exited?.() ?? null;
    if (gone !== null) throw new StartupError(gone);
    const h = await checkHealth(url, credentials);
    if (h.ok) return;
    last = h.detail;
    if (Date.now() > deadline) throw new StartupError(`${url}/health not ready after ${timeoutMs} ms (last: ${last})`);
    await sleep(HEALTH_POLL_MS);
  }
}

export interface LaunchSpec {
  label: string;
  /** Builds argv once the temp data dir and port are known. */
  argv: (ctx: { dataDir: string; url: string; port: number; host: string }) => string[];
  cwd: string;
  startupTimeoutMs: number;
  /** Client port to use; a fresh one when absent. */
  port?: number;
  /** URL scheme of the client port (default http). */
  scheme?: 'http' | 'https';
  /** What the orchestrator's own requests (health, leader) present; needed for https. */
  credentials?: Credentials;
}

/** Every process started here, so an interrupted run can still clean up. */
const live = new Set<ManagedProcess>();

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

class ManagedProcess implements ServerUnderTest {
  private exitInfo: string | null = null;
  private readonly exitPromise: Promise<void>;
  private stopping: Promise<void> | null = null;

  readonly urls: readonly string[];

  constructor(
    readonly label: string,
    readonly url: string,
    readonly command: string[],
    private readonly child: ChildProcess,
    private readonly tmpRoot: string,
    readonly logPath: string,
  ) {
    this.urls = [url];
    this.exitPromise = new Promise<void>((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = `${label} exited (${signal ?? `code ${code}`})`;
        resolve();
      });
      child.on('error', (err) => {
        this.exitInfo = `${label} failed to start: ${err.message}`;
        resolve();
      });
    });
  }

  exited(): string | null {
    if (this.exitInfo === null) return null;
    const t = tail(this.logPath, 30);
    return t === '' ? this.exitInfo : `${this.exitInfo}; last log lines:\n${t}`;
  }

  cpuSeconds(): number | null {
    const pid = this.child.pid;
    return pid === undefined || this.exitInfo !== null ? null : groupCpuSeconds(pid);
  }

  rssKiB(): Array<number | null> {
    const pid = this.child.pid;
    return [pid === undefined || this.exitInfo !== null ? null : vmRssKiB(pid)];
  }

  /** Idempotent: SIGTERM the group, SIGKILL after a grace period, remove the temp dir. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.exitInfo === null) {
      signalGroup(pid, 'SIGTERM');
      const killed = await Promise.race([this.exitPromise.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
      if (killed) {
        signalGroup(pid, 'SIGKILL');
        await this.exitPromise;
      }
    }
    // The leader may be gone while others of its group linger; make sure none survive.
    if (pid !== undefined && groupCpuSeconds(pid) !== null) signalGroup(pid, 'SIGKILL');
    rmSync(this.tmpRoot, { recursive: true, force: true });
    live.delete(this);
  }
}

function signalGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/** Starts a server in a fresh temp dir on a fresh loopback port and waits for /health. */
export async function launch(spec: LaunchSpec): Promise<ServerUnderTest> {
  const tmpRoot = mkdtempSync(join(tmpdir(), `keyward-bench-${spec.label}-`));
  const dataDir = join(tmpRoot, 'data');
  const host = '127.0.0.1';
  const port = spec.port ?? (await freePort());
  const url = `${spec.scheme ?? 'http'}://${host}:${port}`;
  const argv = spec.argv({ dataDir, url, port, host });
  const logPath = join(tmpRoot, 'server.log');
  const logFd = openSync(logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(argv[0]!, argv.slice(1), { cwd: spec.cwd, detached: true, stdio: ['ignore', logFd, logFd] });
  } finally {
    closeSync(logFd);
  }
  const proc = new ManagedProcess(spec.label, url, argv, child, tmpRoot, logPath);
  live.add(proc);
  try {
    await waitHealthy(url, spec.startupTimeoutMs, () => proc.exited(), spec.credentials);
  } catch (err) {
    const t = tail(logPath, 30);
    await proc.stop();
    const msg = err instanceof Error ? err.message : String(err);
    throw new StartupError(`${spec.label} did not become healthy: ${msg}${t !== '' && !msg.includes(t) ? `\nlast log lines:\n${t}` : ''}`);
  }
  return proc;
}

/** GET /version, for the record; null when the server has none. */
export async function fetchVersion(url: string, credentials?: Credentials): Promise<unknown> {
  try {
    const res = await controlRequest(`${url}/version`, { credentials, timeoutMs: 2000 });
    if (res.status !== 200) return null;
    const text = res.text;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text.slice(0, 200);
    }
  } catch {
    return null;
  }
}

/** What a cluster member's command line may use. */
export interface MemberContext {
  dataDir: string;
  url: string;
  port: number;
  host: string;
  /** Member name: m1, m2, … */
  name: string;
  peerUrl: string;
  /** etcd's --initial-cluster value: name=peerUrl,… */
  initialCluster: string;
  /** --initial-cluster-token, unique per started cluster. */
  token: string;
}

export interface ClusterSpec {
  label: string;
  members: number;
  argv: (ctx: MemberContext) => string[];
  cwd: string;
  startupTimeoutMs: number;
  /** Client and peer URL scheme (default http). */
  scheme?: 'http' | 'https';
  credentials?: Credentials;
}

/** Several managed members seen as one target: CPU is their sum, stop stops them all. */
class ClusterUnderTest implements ServerUnderTest {
  readonly url: string;
  readonly urls: readonly string[];
  readonly command: string[];

  constructor(
    readonly label: string,
    private readonly members: ServerUnderTest[],
  ) {
    this.url = members[0]!.url;
    this.urls = members.map((m) => m.url);
    this.command = members[0]!.command ?? [];
  }

  cpuSeconds(): number | null {
    let sum = 0;
    for (const m of this.members) {
      const c = m.cpuSeconds();
      if (c === null) return null;
      sum += c;
    }
    return sum;
  }

  rssKiB(): Array<number | null> {
    return this.members.flatMap((m) => m.rssKiB());
  }

  async stop(): Promise<void> {
    await Promise.all(this.members.map((m) => m.stop()));
  }
}

let clusterSeq = 0;

/**
 * Starts a fresh `spec.members`-member cluster on loopback (every member in its own temp dir
 * and process group), waits until every member's /health is 200 and all of them name the same
 * leader in POST /v3/maintenance/status.
 */
export async function launchCluster(spec: ClusterSpec): Promise<ServerUnderTest> {
  const host = '127.0.0.1';
  const ports = await freePorts(spec.members * 2);
  const names = Array.from({ length: spec.members }, (_, k) => `m${k + 1}`);
  const peerUrls = names.map((_, k) => `${spec.scheme ?? 'http'}://${host}:${ports[2 * k + 1]!}`);
  const initialCluster = names.map((n, k) => `${n}=${peerUrls[k]!}`).join(',');
  const token = `bench-${spec.label}-${process.pid}-${++clusterSeq}`;
  const started = await Promise.allSettled(
    names.map((name, k) =>
      launch({
        label: `${spec.label}-${name}`,
        cwd: spec.cwd,
        startupTimeoutMs: spec.startupTimeoutMs,
        port: ports[2 * k]!,
        ...(spec.scheme === undefined ? {} : { scheme: spec.scheme }),
        ...(spec.credentials === undefined ? {} : { credentials: spec.credentials }),
        argv: (ctx) => spec.argv({ ...ctx, name, peerUrl: peerUrls[k]!, initialCluster, token }),
      }),
    ),
  );
  const members = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure !== undefined) {
    await Promise.all(members.map((m) => m.stop()));
    throw failure.reason instanceof Error ? failure.reason : new StartupError(String(failure.reason));
  }
  const cluster = new ClusterUnderTest(spec.label, members);
  try {
    await waitLeader(cluster.urls, spec.startupTimeoutMs, spec.credentials);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}

/** The leader id each member reports in POST /v3/maintenance/status ("0" or absent: none). */
async function reportedLeader(url: string, credentials?: Credentials): Promise<string> {
  try {
    const res = await controlRequest(`${url}/v3/maintenance/status`, { body: '{}', credentials, timeoutMs: 2000 });
    const text = res.text;
    if (res.status !== 200) return `HTTP ${res.status}`;
    const body = JSON.parse(text) as { leader?: unknown };
    return body.leader === undefined || body.leader === null ? 'none' : String(body.leader);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Waits until every member names the same non-zero leader. */
export async function waitLeader(urls: readonly string[], timeoutMs: number, credentials?: Credentials): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const leaders = await Promise.all(urls.map((u) => reportedLeader(u, credentials)));
    const first = leaders[0]!;
    if (/^[1-9]\d*$/.test(first) && leaders.every((l) => l === first)) return first;
    if (Date.now() > deadline) {
      throw new StartupError(`no agreed leader after ${timeoutMs} ms: ${urls.map((u, k) => `${u} -> ${leaders[k]!}`).join(', ')}`);
    }
    await sleep(HEALTH_POLL_MS);
  }
}

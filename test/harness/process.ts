import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import { certLayout } from '../../src/tls/index.js';
import type { ClientTlsFiles } from './tls-client.js';

export type { ClientTlsFiles } from './tls-client.js';

// Real `keyward` processes for end-to-end tests, run from source through tsx.

export const CLI = resolve('src/cli/main.ts');

export interface MemberProcess {
  child: ChildProcess;
  url: string;
  /** The member's ID in hex, as its ready line logs it. */
  memberId: string;
  /** Every log line the member printed so far (pino JSON). */
  logs: string[];
  /** Everything it wrote to stderr so far (the first-run message of a secure member). */
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Secure members only: the client CA and the root user's certificate and key (admin). */
  tls?: ClientTlsFiles;
}

export interface StartOptions {
  /**
   * Start a secure member: https client URLs, the certificates of `certsDir` (laid out by
   * CertStore; `keyward serve` creates it on first run for this member if it does not exist),
   * auth bootstrapped (root bound to its certificate). Without it the member runs with
   * --insecure and plaintext URLs, as every process test did before TLS.
   */
  secure?: { certsDir: string };
}

/** The admin files of a certs dir laid out by CertStore. */
export function rootClientFiles(certsDir: string): ClientTlsFiles {
  const l = certLayout(certsDir);
  const root = l.client('root');
  return { ca: l.clientCa.cert, cert: root.cert, key: root.key };
}

/** The base `keyward serve` arguments the harness passes before a test's own (which win). */
export function baseServeArgs(dataDir: string, opts: StartOptions = {}): string[] {
  if (opts.secure === undefined) {
    return ['serve', '--insecure', '--data-dir', dataDir, '--listen-client-urls', 'http://127.0.0.1:0', '--advertise-client-urls', 'http://127.0.0.1:0', '--listen-peer-urls', 'http://127.0.0.1:0'];
  }
  return ['serve', '--certs-dir', opts.secure.certsDir, '--data-dir', dataDir, '--listen-client-urls', 'https://127.0.0.1:0', '--advertise-client-urls', 'https://127.0.0.1:0', '--listen-peer-urls', 'https://127.0.0.1:0'];
}

export function keywardArgs(args: string[]): string[] {
  return ['--import', 'tsx', CLI, ...args];
}

/**
 * Every child this process started and that has not exited. They are killed when the test process
 * exits for any reason (a failed test, the runner's --test-force-exit): a member left running
 * holds its pipes open and would keep the test process, and so the whole run, alive forever
 * (seen: CI timed out after a start failed half-way through a cluster).
 */
const live = new Set<ChildProcess>();
const killAll = (): void => {
  for (const child of live) child.kill('SIGKILL');
};
process.once('exit', killAll);
// Inside node's test runner (not when scripts/jepsen.mjs uses this harness): once every test of
// the file has finished, so that a member a failed test left running cannot hold the file open.
if (process.env['NODE_TEST_CONTEXT'] !== undefined) after(killAll);

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/**
 * Starts `keyward serve` and resolves once it logs that it is ready. A start that fails only
 * because a fixed port is briefly held (a killed member's socket not yet released) is retried.
 */
export async function startMemberProcess(dataDir: string, extra: string[] = [], env: Record<string, string> = {}, opts: StartOptions = {}): Promise<MemberProcess> {
  for (let attempt = 1; ; attempt++) {
    try {
      const m = await startOnce(dataDir, extra, env, opts);
      if (opts.secure !== undefined) m.tls = rootClientFiles(opts.secure.certsDir);
      return m;
    } catch (e) {
      if (attempt >= 10 || !(e instanceof Error) || !/address already in use/.test(e.message)) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

function startOnce(dataDir: string, extra: string[], env: Record<string, string>, opts: StartOptions): Promise<MemberProcess> {
  const child = spawn(process.execPath, keywardArgs([...baseServeArgs(dataDir, opts), ...extra]), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  track(child);
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; clientUrls?: string[]; memberId?: string };
        if (entry.msg === 'ready to serve client requests') resolveReady({ child, url: entry.clientUrls![0]!, memberId: entry.memberId ?? '', logs, stderr: () => stderr, exited });
      } catch {
        // not JSON: keep it in logs only
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`keyward exited before ready (code ${code}, signal ${signal}): ${stderr}${logs.join('\n')}`)));
  });
}

/** Runs a one-shot keyward command and collects its output. */
export function runKeyward(args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, keywardArgs(args), { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((r) => child.once('exit', (code) => r({ code, stdout, stderr })));
}

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';

// Real `keyward` processes for end-to-end tests, run from source through tsx.

export const CLI = resolve('src/cli/main.ts');

export interface MemberProcess {
  child: ChildProcess;
  url: string;
  /** Every log line the member printed so far (pino JSON). */
  logs: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function keywardArgs(args: string[]): string[] {
  return ['--import', 'tsx', CLI, ...args];
}

/** Starts `keyward serve` on a free loopback port and resolves once it logs that it is ready. */
export function startMemberProcess(dataDir: string, extra: string[] = []): Promise<MemberProcess> {
  const child = spawn(
    process.execPath,
    keywardArgs(['serve', '--data-dir', dataDir, '--listen-client-urls', 'http://127.0.0.1:0', '--advertise-client-urls', 'http://127.0.0.1:0', '--listen-peer-urls', 'http://127.0.0.1:0', ...extra]),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  return new Promise((resolveReady, reject) => {
    const lines = createInterface({ input: child.stdout! });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    lines.on('line', (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; clientUrls?: string[] };
        if (entry.msg === 'ready to serve client requests') resolveReady({ child, url: entry.clientUrls![0]!, logs, exited });
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
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(stdin ?? '');
  return new Promise((r) => child.once('exit', (code) => r({ code, stdout, stderr })));
}

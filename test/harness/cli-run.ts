// A `keyward` CLI child whose output the test reads as it comes, for commands that run until
// signalled (watch, lock), and a poll for what they print.
import { spawn } from 'node:child_process';
import { after, before } from 'node:test';
import { KvClient } from '../../src/client/index.js';
import { TestCluster } from './cluster.js';
import { keywardArgs } from './process.js';

export interface CliRun {
  stdout(): string;
  stderr(): string;
  child: ReturnType<typeof spawn>;
  /** The exit code (null when killed by a signal). */
  exit: Promise<number | null>;
}

export function runCli(args: string[]): CliRun {
  const child = spawn(process.execPath, keywardArgs(args), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { stdout: () => out, stderr: () => err, child, exit };
}

/** Polls `cond` every 50 ms; throws naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * For a test file of one CLI command against one member: starts the member before the file's
 * tests and disposes of it after (node:test hooks); `run` runs `keyward --endpoints <it> <command>`.
 */
export function oneMemberCli(command: string): { run(args: string[]): CliRun; kv(): KvClient } {
  let cluster: TestCluster | undefined;
  let url = '';
  let client: KvClient | undefined;
  before(async () => {
    cluster = await TestCluster.start(1);
    await cluster.leader();
    url = cluster.member(0).url;
    client = new KvClient({ endpoints: [url] });
  });
  after(async () => {
    await client?.close();
    await cluster?.dispose();
  });
  return {
    run: (args) => runCli(['--endpoints', url, command, ...args]),
    kv: () => client!,
  };
}

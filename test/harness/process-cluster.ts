// A static cluster of `keyward serve` processes on fixed loopback ports, for tests that kill -9
// members: the slots, starting some or all of them with etcd's static-cluster flags, SIGKILL, and
// finding the leader. (test/linearizability/fault-run.ts has a richer one with partitions.)
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { CertStore, certLayout } from '../../src/tls/index.js';
import { TEST_HOSTS } from './certs.js';
import { call, type Json } from './cluster.js';
import { freePort } from './ports.js';
import { rootClientFiles, startMemberProcess, type ClientTlsFiles, type MemberProcess } from './process.js';
import { callTls } from './tls-client.js';
import type { TmpDir } from './tmpdir.js';

export interface ProcessSlot {
  name: string;
  peerUrl: string;
  clientUrl: string;
  dataDir: string;
  proc: MemberProcess | null;
  /** Secure slots: the shared certs dir, and the root user's client files for calls. */
  certsDir?: string;
  tls?: ClientTlsFiles;
}

export interface SlotOptions {
  /**
   * Secure members sharing one certs dir (`<dir>/certs`, made by CertStore.init for every slot
   * before any starts, as an operator would with `keyward certs init`): https client URLs, auth
   * bootstrapped, peers over mutual TLS with their peer certificates (peerScheme 'http' keeps a
   * secure cluster's peer port plaintext, for tests of that refusal).
   */
  secure?: boolean;
  peerScheme?: 'http' | 'https';
}

/** `n` slots named `<prefix>0..`, with their own ports and data dirs under `dir`. */
export async function processSlots(n: number, dir: TmpDir, prefix: string, opts: SlotOptions = {}): Promise<ProcessSlot[]> {
  const out: ProcessSlot[] = [];
  const clientScheme = opts.secure === true ? 'https' : 'http';
  const peerScheme = opts.peerScheme ?? clientScheme;
  for (let i = 0; i < n; i++) {
    out.push({
      name: `${prefix}${i}`,
      peerUrl: `${peerScheme}://127.0.0.1:${await freePort()}`,
      clientUrl: `${clientScheme}://127.0.0.1:${await freePort()}`,
      dataDir: dir.sub(`${prefix}${i}`),
      proc: null,
    });
  }
  if (opts.secure === true) {
    const certsDir = dir.sub('certs');
    if (!existsSync(certLayout(certsDir).clientCa.cert)) new CertStore(certsDir).init(out.map((s) => s.name), TEST_HOSTS);
    for (const s of out) {
      s.certsDir = certsDir;
      s.tls = rootClientFiles(certsDir);
    }
  }
  return out;
}

/** A POST to a slot's client port: over TLS as root for secure slots, plaintext otherwise. */
export function callSlot(s: ProcessSlot, path: string, body: unknown): Promise<{ status: number; json: Json }> {
  return s.tls === undefined ? call(s.clientUrl, path, body) : callTls(s.clientUrl, path, body, s.tls);
}

type Addressed = Pick<ProcessSlot, 'name' | 'peerUrl' | 'clientUrl'>;

/** `keyward serve` flags for member `s` of the static cluster `all` (etcd's flag names). */
export function staticMemberArgs(s: Addressed, all: readonly Addressed[], token: string, timing = { heartbeatMs: 50, electionMs: 500 }): string[] {
  return [
    '--name', s.name,
    '--listen-client-urls', s.clientUrl,
    '--advertise-client-urls', s.clientUrl,
    '--listen-peer-urls', s.peerUrl,
    '--initial-advertise-peer-urls', s.peerUrl,
    '--initial-cluster', all.map((m) => `${m.name}=${m.peerUrl}`).join(','),
    '--initial-cluster-token', token,
    '--heartbeat-interval', String(timing.heartbeatMs),
    '--election-timeout', String(timing.electionMs),
  ];
}

/** Starts the slots in `which` (all by default) as one static cluster, with fast Raft timing. */
export async function startSlots(ss: ProcessSlot[], token: string, opts: { which?: number[]; extra?: string[] } = {}): Promise<void> {
  await Promise.all(
    (opts.which ?? ss.map((_, i) => i)).map(async (i) => {
      const s = ss[i]!;
      const secure = s.certsDir === undefined ? {} : { secure: { certsDir: s.certsDir } };
      s.proc = await startMemberProcess(s.dataDir, [...staticMemberArgs(s, ss, token), ...(opts.extra ?? [])], {}, secure);
    }),
  );
}

/** SIGKILL, and wait until the process is gone. */
export async function killSlot(s: ProcessSlot): Promise<void> {
  const p = s.proc;
  if (p === null) return;
  s.proc = null;
  p.child.kill('SIGKILL');
  await p.exited;
}

export async function killSlots(ss: ProcessSlot[]): Promise<void> {
  await Promise.all(ss.map(killSlot));
}

/** The index of the running member that says it leads (asserts one appears within 20 s). */
export async function leaderSlot(ss: ProcessSlot[]): Promise<number> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    for (let i = 0; i < ss.length; i++) {
      const s = ss[i]!;
      if (s.proc === null) continue;
      const st = await callSlot(s, '/v3/maintenance/status', {}).catch(() => undefined);
      const lead = st?.status === 200 ? st.json['leader'] : undefined;
      if (lead !== undefined && lead !== '0' && lead === st!.json['header']['member_id']) return i;
    }
    assert.ok(Date.now() < deadline, 'a leader is elected');
    await new Promise((r) => setTimeout(r, 50));
  }
}

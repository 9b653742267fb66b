// A static cluster of `keyward serve` processes on fixed loopback ports, for tests that kill -9
// members: the slots, starting some or all of them with etcd's static-cluster flags, SIGKILL, and
// finding the leader. (test/linearizability/fault-run.ts has a richer one with partitions.)
import assert from 'node:assert/strict';
import { call } from './cluster.js';
import { freePort } from './ports.js';
import { startMemberProcess, type MemberProcess } from './process.js';
import type { TmpDir } from './tmpdir.js';

export interface ProcessSlot {
  name: string;
  peerUrl: string;
  clientUrl: string;
  dataDir: string;
  proc: MemberProcess | null;
}

/** `n` slots named `<prefix>0..`, with their own ports and data dirs under `dir`. */
export async function processSlots(n: number, dir: TmpDir, prefix: string): Promise<ProcessSlot[]> {
  const out: ProcessSlot[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ name: `${prefix}${i}`, peerUrl: `http://127.0.0.1:${await freePort()}`, clientUrl: `http://127.0.0.1:${await freePort()}`, dataDir: dir.sub(`${prefix}${i}`), proc: null });
  }
  return out;
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
      s.proc = await startMemberProcess(s.dataDir, [...staticMemberArgs(s, ss, token), ...(opts.extra ?? [])]);
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
      const st = await call(s.clientUrl, '/v3/maintenance/status', {}).catch(() => undefined);
      const lead = st?.status === 200 ? st.json['leader'] : undefined;
      if (lead !== undefined && lead !== '0' && lead === st!.json['header']['member_id']) return i;
    }
    assert.ok(Date.now() < deadline, 'a leader is elected');
    await new Promise((r) => setTimeout(r, 50));
  }
}

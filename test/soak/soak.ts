// GUARANTEES D13: a long run at load with faults, during which each member's memory and open file
// descriptors must stay flat. Three secure `keyward serve` processes (mutual TLS, auth on) carry,
// at once: puts, linearizable ranges and txns on a fixed key set (overwrites, so history grows and
// auto-compaction must keep it bounded); watches opened, read and closed in a loop; leases granted
// with a key attached, some revoked and the rest left to expire; certificate and password logins
// (tokens minted all the time). Faults, in turn: the leader moved to another member, a follower
// paused (SIGSTOP) past the election timeout and resumed. Members are never killed: a restarted
// member starts from fresh memory, which would hide a leak.
//
// Each member's anonymous resident size (RssAnon: heaps and buffers, what a leak grows; LMDB's
// mapped file pages are reported beside it, not judged) and descriptor count are sampled every
// `sampleMs`. After a warm-up (the first third) the mean of the last quarter of the run may exceed
// that of the first quarter after warm-up by at most `rssGrowthLimit` (relative) plus a fixed
// allowance for allocator noise; descriptors after the load stops may exceed the post-warm-up
// baseline by at most a few (connections being torn down). The members must converge at the end.
// `only` (SOAK_ONLY=kv,watch,lease,login) runs a subset of the load, to find what grows.
import { readFileSync, readdirSync } from 'node:fs';
import { AuthClient, LeaseClient, WatchClient, type KvClient } from '../../src/client/index.js';
import { ProcessCluster, enc, errText, prng, sleep } from '../harness/fault-cluster.js';

export interface SoakOptions {
  seconds: number;
  seed?: number;
  sampleMs?: number;
  /** Allowed relative RSS growth between the first and last quarters after warm-up. */
  rssGrowthLimit?: number;
  /** The loads to run (default all): 'kv', 'watch', 'lease', 'login'. */
  only?: readonly string[];
  log?: (line: string) => void;
}

export interface MemberSamples {
  name: string;
  /** Anonymous resident memory (heaps, buffers): the part a leak grows. */
  rssMiB: number[];
  /** File-backed resident memory (LMDB's mapped pages, code): the page cache's business. */
  fileMiB: number[];
  fds: number[];
}

export interface SoakReport {
  seconds: number;
  ops: { writes: number; reads: number; watches: number; events: number; leases: number; logins: number; faults: number; errors: number };
  members: MemberSamples[];
  /** Per member: "j0 RSS 61→63 MiB (+3 %), fds 41→40". */
  summary: string[];
  problems: string[];
}

const KEYS = 100;
const VALUE = 'v'.repeat(256);
const PASSWORD = 'soak-password-1';

/** Resident memory of a process in MiB: anonymous (heaps: what leaks) and file-backed (LMDB's map). */
function rssMiB(pid: number): { anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) / 1024;
  return { anon: field('RssAnon'), file: field('RssFile') + field('RssShmem') };
}

function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function soak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => {});
  const rnd = prng(opts.seed ?? 7);
  const sampleMs = opts.sampleMs ?? 1000;
  // etcd's flags: keep the last 1,000 revisions, so history stays bounded under overwrites.
  const cluster = await ProcessCluster.create(3, ['--auto-compaction-mode', 'revision', '--auto-compaction-retention', '1000'], { secure: true });
  const ops = { writes: 0, reads: 0, watches: 0, events: 0, leases: 0, logins: 0, faults: 0, errors: 0 };
  const members: MemberSamples[] = cluster.slots.map((s) => ({ name: s.name, rssMiB: [], fileMiB: [], fds: [] }));
  const problems: string[] = [];
  try {
    await cluster.start();
    await cluster.leader();
    const endpoints = cluster.slots.map((s) => s.clientUrl);
    const tls = cluster.clientTls()!;
    await new AuthClient({ endpoints, tls }).userAdd('soak', PASSWORD);
    let stopped = false;
    const until = Date.now() + opts.seconds * 1000;
    const running = (): boolean => !stopped && Date.now() < until;
    const failed = async (): Promise<void> => {
      ops.errors++;
      await sleep(50); // a paused member or an election: do not spin
    };

    const kvWorker = async (kv: KvClient, c: number): Promise<void> => {
      for (let n = 0; running(); n++) {
        const key = enc(`soak/k${Math.floor(rnd() * KEYS)}`);
        try {
          if (n % 3 === 0) {
            await kv.range({ key, rangeEnd: enc('soak/l') });
            ops.reads++;
          } else if (n % 7 === 0) {
            await kv.txn({ compare: [], success: [{ type: 'put', put: { key, value: enc(`${c}-${n}`), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false } }], failure: [] });
            ops.writes++;
          } else {
            await kv.put({ key, value: enc(VALUE) });
            ops.writes++;
          }
        } catch {
          await failed();
        }
      }
    };

    const watchWorker = async (): Promise<void> => {
      const watches = new WatchClient({ endpoints, tls });
      try {
        while (running()) {
          const w = watches.watch('soak/k', { prefix: true });
          try {
            for (let got = 0; got < 5 && running(); got++) {
              const r = await Promise.race([w.next(), sleep(3000).then(() => null)]);
              if (r === null || r.done === true) break;
              if (r.value.kind === 'events') ops.events += r.value.events.length;
            }
            ops.watches++;
          } catch {
            await failed();
          } finally {
            await w.close();
          }
        }
      } finally {
        await watches.close();
      }
    };

    const leaseWorker = async (kv: KvClient): Promise<void> => {
      const leases = new LeaseClient({ endpoints, tls });
      for (let n = 0; running(); n++) {
        try {
          const g = await leases.grant(2);
          await kv.put({ key: enc(`soak/lease/${n % 50}`), value: enc('x'), lease: g.id });
          if (n % 2 === 0) await leases.revoke(g.id);
          ops.leases++;
        } catch {
          await failed();
        }
        await sleep(20);
      }
    };

    const logins = new AuthClient({ endpoints, tls });
    const loginWorker = async (): Promise<void> => {
      for (let n = 0; running(); n++) {
        try {
          // Every login hashes the password (argon2) and mints a token.
          await logins.authenticate('soak', PASSWORD);
          ops.logins++;
        } catch {
          await failed();
        }
        await sleep(100);
      }
    };

    const faultWorker = async (): Promise<void> => {
      while (running()) {
        await sleep(4000);
        if (!running()) break;
        try {
          const lead = await cluster.leader(10_000);
          const other = (lead + 1 + Math.floor(rnd() * 2)) % 3;
          if (ops.faults % 2 === 0) {
            await cluster.members(lead).moveLeader(BigInt(`0x${cluster.slots[other]!.memberId!}`), cluster.slots[lead]!.clientUrl);
            log(`fault ${ops.faults}: leader moved from ${cluster.slots[lead]!.name} to ${cluster.slots[other]!.name}`);
          } else {
            cluster.signal(other, 'SIGSTOP');
            await sleep(1500);
            cluster.signal(other, 'SIGCONT');
            log(`fault ${ops.faults}: ${cluster.slots[other]!.name} paused 1.5 s`);
          }
          ops.faults++;
        } catch (e) {
          problems.push(`fault ${ops.faults}: ${errText(e)}`);
        }
      }
    };

    const sampler = async (): Promise<void> => {
      while (running()) {
        cluster.slots.forEach((s, i) => {
          const pid = s.proc?.child.pid;
          if (pid === undefined) return;
          const rss = rssMiB(pid);
          members[i]!.rssMiB.push(rss.anon);
          members[i]!.fileMiB.push(rss.file);
          members[i]!.fds.push(fdCount(pid));
        });
        await sleep(sampleMs);
      }
    };

    const clients = cluster.slots.map((s) => cluster.kv([s.clientUrl, ...endpoints.filter((e) => e !== s.clientUrl)], 5000));
    const on = (load: string): boolean => opts.only === undefined || opts.only.includes(load);
    await Promise.all([
      ...(on('kv') ? Array.from({ length: 6 }, (_, c) => kvWorker(clients[c % 3]!, c)) : []),
      ...(on('watch') ? [watchWorker(), watchWorker()] : []),
      ...(on('lease') ? [leaseWorker(clients[0]!)] : []),
      ...(on('login') ? [loginWorker()] : []),
      faultWorker(),
      sampler(),
    ]);
    stopped = true;
    // Let the last leases expire and connections close, then look again.
    await sleep(4000);
    const settledFds = cluster.slots.map((s) => (s.proc === null ? 0 : fdCount(s.proc.child.pid!)));

    const revisions = await Promise.all(cluster.slots.map(async (_, i) => (await cluster.contents(i)).revision));
    if (new Set(revisions).size !== 1) problems.push(`members did not converge: revisions ${revisions.join(', ')}`);
    const limit = opts.rssGrowthLimit ?? 0.25;
    const summary: string[] = [];
    members.forEach((m, i) => {
      const n = m.rssMiB.length;
      const warm = Math.floor(n / 3);
      const q = Math.max(1, Math.floor((n - warm) / 4));
      const early = mean(m.rssMiB.slice(warm, warm + q));
      const late = mean(m.rssMiB.slice(n - q));
      const baseFds = Math.max(...m.fds.slice(warm, warm + q));
      const growth = late - early;
      const deciles = Array.from({ length: 11 }, (_, d) => m.rssMiB[Math.min(n - 1, Math.floor((d * (n - 1)) / 10))]!.toFixed(0)).join(' ');
      const files = Array.from({ length: 11 }, (_, d) => m.fileMiB[Math.min(n - 1, Math.floor((d * (n - 1)) / 10))]!.toFixed(0)).join(' ');
      summary.push(`${m.name} anonymous RSS ${early.toFixed(0)}→${late.toFixed(0)} MiB (${growth >= 0 ? '+' : ''}${((100 * growth) / early).toFixed(1)} %; by tenths of the run: ${deciles}; file-backed: ${files}), fds ${baseFds}→${settledFds[i]} (max ${Math.max(...m.fds)})`);
      // The fixed 16 MiB absorbs heap sizing and allocator noise that a short run cannot average out.
      if (growth > early * limit + 16) problems.push(`${m.name}: anonymous RSS grew from ${early.toFixed(0)} to ${late.toFixed(0)} MiB after warm-up`);
      if (settledFds[i]! > baseFds + 8) problems.push(`${m.name}: ${settledFds[i]} file descriptors open after the load, ${baseFds} after warm-up`);
    });
    const ran = (load: string, n: number): boolean => !on(load) || n >= 5;
    if (!ran('kv', ops.writes) || !ran('watch', ops.watches) || !ran('lease', ops.leases) || !ran('login', ops.logins)) problems.push(`the load did not run: ${JSON.stringify(ops)}`);
    return { seconds: opts.seconds, ops, members, summary, problems };
  } finally {
    await cluster.dispose();
  }
}

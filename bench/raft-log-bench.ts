// Micro-benchmark of the Raft log's write path (not a test): the latency of persisting one Ready
// of N entries of ~300 bytes plus a hard state, durable (fsynced) before returning, compared with
// a plain append + fdatasync of the same bytes, and with lmdb-js's asynchronous transaction path
// (what RaftLogStore would cost if it used Storage.transact('flushed')). Each is measured with an
// idle event loop and with a busy one (a chain of 0.3 ms tasks, standing in for HTTP and apply
// work), where every event-loop hop of an asynchronous path waits for the running task.
// Also: read costs (entries, term), compaction, and the verifying open.
//
// Run: node --import tsx bench/raft-log-bench.ts [rounds]
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Entry, HardState } from '../src/raft/index.js';
import { RaftLogStore, RAFT_SUB_DBS, Storage, SUB_DBS } from '../src/storage/index.js';
import { META_KEYS, encodeEntry, encodeHardState, indexKey } from '../src/storage/raft-codec.js';

const ROUNDS = Number(process.argv[2] ?? 400);
const SIZES = [1, 8, 64];
const ENTRY_BYTES = 300;
const root = mkdtempSync(join(tmpdir(), 'raft-log-bench-'));
let dirs = 0;
const freshDir = (): string => join(root, `d${dirs++}`);

function entries(from: number, n: number, term: number): Entry[] {
  return Array.from({ length: n }, (_, k) => ({ index: from + k, term, type: 'normal' as const, data: new Uint8Array(ENTRY_BYTES).fill((from + k) & 0xff) }));
}

interface Result {
  p50: number;
  p99: number;
  /** Main-thread time per op (event loop busy or blocked), from eventLoopUtilization. */
  busy: number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

/** One round's input: what a Ready would carry (built before timing starts). */
interface ReadyIn {
  entries: Entry[];
  hardState: HardState;
}

function readies(n: number, count: number): ReadyIn[] {
  const out: ReadyIn[] = [];
  let next = 1;
  for (let r = 0; r < count; r++) {
    const term = 1 + Math.floor(next / 1000);
    out.push({ entries: entries(next, n, term), hardState: { term, vote: 1n, commit: next - 1 } });
    next += n;
  }
  return out;
}

/** Times `op` over ROUNDS prepared Readys (after 20 warm-up rounds), awaiting each. */
async function measure(n: number, op: (rd: ReadyIn) => void | Promise<void>): Promise<Result> {
  const rds = readies(n, ROUNDS + 20);
  for (let r = 0; r < 20; r++) await op(rds[r]!);
  const xs: number[] = [];
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let r = 20; r < rds.length; r++) {
    const t = performance.now();
    await op(rds[r]!);
    xs.push(performance.now() - t);
  }
  const wall = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  return { p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), busy: (wall * elu) / ROUNDS };
}

interface Subject {
  op: (rd: ReadyIn) => void | Promise<void>;
  close: () => Promise<void>;
}
type Variant = [string, () => Promise<Subject>];

/** A Ready as one appended record stream: the store's own entry records plus the hard state. */
function readyBytes(rd: ReadyIn): Uint8Array {
  const recs = rd.entries.map((e) => encodeEntry(e));
  const hs = encodeHardState(rd.hardState);
  const out = new Uint8Array(recs.reduce((s, r) => s + r.length + 8, 0) + hs.length);
  let at = 0;
  for (const r of recs) {
    out.set(r, at + 8); // + room for a length/index prefix, as a log file would have
    at += r.length + 8;
  }
  out.set(hs, at);
  return out;
}

const VARIANTS: Variant[] = [
  [
    'fs append + fdatasync (sync)',
    async () => {
      const fd = openSync(join(root, `f${dirs++}`), 'a');
      return {
        op: (rd) => {
          writeSync(fd, readyBytes(rd));
          fdatasyncSync(fd);
        },
        close: async () => closeSync(fd),
      };
    },
  ],
  [
    'fs append + fdatasync (promises)',
    async () => {
      const fh = await openFile(join(root, `f${dirs++}`), 'a');
      return {
        op: async (rd) => {
          await fh.write(readyBytes(rd));
          await fh.datasync();
        },
        close: () => fh.close(),
      };
    },
  ],
  [
    'RaftLogStore.saveSync (transactSync)',
    async () => {
      const store = RaftLogStore.open(freshDir());
      return {
        op: (rd) => store.saveSync({ hardState: rd.hardState, entries: rd.entries, snapshot: null, mustSync: true }),
        close: () => store.close(),
      };
    },
  ],
  [
    'LMDB async (transact flushed)',
    async () => {
      const s = Storage.open(freshDir(), { subDbs: RAFT_SUB_DBS });
      const ents = s.table(SUB_DBS.raftEntries);
      const meta = s.table(SUB_DBS.raftMeta);
      return {
        op: async (rd) => {
          const recs = rd.entries.map((e) => {
            const k = indexKey(e.index);
            return [k, encodeEntry(e, k)] as const;
          });
          const hs = encodeHardState(rd.hardState);
          await s.transact('flushed', (txn) => {
            for (const [k, v] of recs) txn.put(ents, k, v);
            txn.put(meta, META_KEYS.hardState, hs);
          });
        },
        close: () => s.close(),
      };
    },
  ],
];

/** A busy event loop: back-to-back 0.3 ms tasks until stopped. */
function startLoad(): () => void {
  let on = true;
  const burn = (): void => {
    if (!on) return;
    const t = performance.now();
    while (performance.now() - t < 0.3);
    setImmediate(burn);
  };
  setImmediate(burn);
  return () => {
    on = false;
  };
}

const ms = (x: number): string => x.toFixed(3).padStart(7);

async function writePath(loaded: boolean): Promise<void> {
  console.log(`\nWrite path, ${loaded ? 'BUSY event loop (0.3 ms tasks back to back)' : 'idle event loop'}: ms per Ready of N x ${ENTRY_BYTES} B + hard state, ${ROUNDS} rounds`);
  console.log(`${'variant'.padEnd(40)} ${SIZES.map((n) => `N=${n}: p50     p99    main`.padEnd(31)).join(' ')}`);
  for (const [name, make] of VARIANTS) {
    const cells: string[] = [];
    for (const n of SIZES) {
      const v = await make();
      const stop = loaded ? startLoad() : (): void => undefined;
      const r = await measure(n, v.op);
      stop();
      await v.close();
      // Under load the main-thread figure includes the load itself, so it is only shown idle.
      cells.push(`${ms(r.p50)} ${ms(r.p99)} ${loaded ? '      -' : ms(r.busy)}`.padEnd(31));
    }
    console.log(`${name.padEnd(40)} ${cells.map((c) => `     ${c}`).join(' ')}`);
  }
}

async function reads(): Promise<void> {
  const store = RaftLogStore.open(freshDir());
  const total = 20_000;
  for (let i = 1; i <= total; i += 100) {
    store.saveSync({ hardState: { term: 1 + Math.floor(i / 2000), vote: 1n, commit: i - 1 }, entries: entries(i, 100, 1 + Math.floor(i / 2000)), snapshot: null });
  }
  const n = 2000;
  // Old entries (below the last 4096, which are kept in memory) come from LMDB, checksummed.
  let t = performance.now();
  for (let k = 0; k < n; k++) {
    const lo = 1 + ((k * 7919) % (total - 4096 - 64));
    store.entries(lo, lo + 64, Infinity);
  }
  const entriesUs = ((performance.now() - t) / n) * 1000;
  t = performance.now();
  for (let k = 0; k < n; k++) {
    const lo = total - 4000 + ((k * 7919) % 3900);
    store.entries(lo, lo + 64, Infinity);
  }
  const recentUs = ((performance.now() - t) / n) * 1000;
  t = performance.now();
  let sink = 0;
  for (let k = 0; k < 200_000; k++) sink += store.term(1 + ((k * 7919) % total));
  const termNs = ((performance.now() - t) / 200_000) * 1e6;
  console.log(
    `\nReads (log of ${total} entries, 10 terms): entries(lo, lo+64) ${entriesUs.toFixed(1)} µs from LMDB, ` +
      `${recentUs.toFixed(1)} µs from the recent entries in memory; term(i) ${termNs.toFixed(0)} ns (checksum ${sink % 7})`,
  );

  store.setSnapshotMetadata(15_000, { voters: [1n], learners: [] });
  t = performance.now();
  store.compactSync(5_000);
  console.log(`compactSync of 5000 entries (one synced transaction, event loop blocked): ${(performance.now() - t).toFixed(1)} ms`);
  let longest = 0;
  let last = performance.now();
  let on = true;
  const probe = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (on) setImmediate(probe);
  };
  setImmediate(probe);
  t = performance.now();
  await store.compact(15_000);
  on = false;
  console.log(`compact (promise form) of 10000 entries in 1000-entry steps: ${(performance.now() - t).toFixed(1)} ms, longest event-loop block ${longest.toFixed(1)} ms`);
  const dir = store.dir;
  await store.close();
  t = performance.now();
  const again = RaftLogStore.open(dir);
  console.log(`Open with full verification of ${again.lastIndex() - again.firstIndex() + 1} entries: ${(performance.now() - t).toFixed(1)} ms`);
  await again.close();
}

try {
  await writePath(false);
  await writePath(true);
  await reads();
} finally {
  rmSync(root, { recursive: true, force: true });
}

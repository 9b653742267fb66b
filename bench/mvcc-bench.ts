// Micro-benchmark of the mvcc store alone (no HTTP, no Raft): apply throughput in batches and
// read latency. Not a test. Run: node --import tsx bench/mvcc-bench.ts [keys] [batch]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KvStore, type WriteRequest } from '../src/mvcc/index.js';
import type { RangeRequest } from '../src/wire/index.js';

const KEYS = Number(process.argv[2] ?? 20000);
const BATCH = Number(process.argv[3] ?? 64);
const te = new TextEncoder();
const value = new Uint8Array(128).fill(0x61);

function range(key: string, o: Partial<RangeRequest> = {}): RangeRequest {
  return {
    key: te.encode(key),
    rangeEnd: new Uint8Array(0),
    limit: 0,
    revision: 0,
    sortOrder: 0,
    sortTarget: 0,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
    ...o,
  };
}

const put = (key: string, prevKv = false): WriteRequest => ({
  type: 'put',
  put: { key: te.encode(key), value, lease: 0n, prevKv, ignoreValue: false, ignoreLease: false },
});

const dir = mkdtempSync(join(tmpdir(), 'mvcc-bench-'));
const store = KvStore.open(join(dir, 'data'));
let index = 1;

async function timeApply(label: string, batches: number, make: (i: number) => WriteRequest): Promise<void> {
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let n = 0;
  for (let b = 0; b < batches; b++) {
    const entries = Array.from({ length: BATCH }, () => ({ index: index++, request: make(n++) }));
    await store.apply(entries);
  }
  const ms = performance.now() - t0;
  const elu = performance.eventLoopUtilization(elu0).utilization;
  console.log(`${label.padEnd(34)} ${((n / ms) * 1000).toFixed(0).padStart(8)} writes/s  ${(ms / batches).toFixed(3)} ms/batch  ELU ${elu.toFixed(2)}`);
}

function timeRead(label: string, rounds: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(rounds, 1000); i++) fn(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) fn(i);
  const us = ((performance.now() - t0) * 1000) / rounds;
  console.log(`${label.padEnd(34)} ${(1e6 / us).toFixed(0).padStart(8)} ops/s     ${us.toFixed(2)} µs/op`);
}

const key = (i: number): string => `/registry/key-${(i % KEYS).toString().padStart(8, '0')}`;
await timeApply(`put (new keys), batch ${BATCH}`, Math.ceil(KEYS / BATCH), (i) => put(key(i)));
await timeApply(`put (overwrite), batch ${BATCH}`, Math.ceil(KEYS / BATCH), (i) => put(key(i * 7919)));
await timeApply(`put (overwrite, prev_kv), batch ${BATCH}`, 300, (i) => put(key(i * 13), true));
const rev = store.currentRevision;
timeRead('range: single key, current', 100000, (i) => store.range(range(key(i * 31))));
timeRead('range: single key, historical', 50000, (i) => store.range(range(key(i * 31), { revision: rev - 5000 })));
timeRead('range: prefix, limit 10', 20000, (i) => store.range(range(key(i * 31), { rangeEnd: te.encode('/registry/l'), limit: 10 })));
timeRead('range: prefix, count_only', 2000, () => store.range(range('/registry/', { rangeEnd: te.encode('/registry0'), countOnly: true })));
timeRead('currentRevision', 200000, () => store.currentRevision);
const t0 = performance.now();
await store.apply([{ index: index++, request: { type: 'compaction', compaction: { revision: store.currentRevision, physical: true } } }]);
console.log(`compaction of ${rev} revisions: ${(performance.now() - t0).toFixed(0)} ms; ${JSON.stringify(store.stats())}`);
await store.close();
rmSync(dir, { recursive: true, force: true });

#!/usr/bin/env node
// Randomized fault runs (test/linearizability/fault-run.ts), one `keyward serve` cluster each.
// Usage: npm run jepsen -- [--runs N] [--seed S] [--fault kill-leader|kill-follower|pause-leader|partition-leader] [--serializable] [--keys K]
// --serializable makes the workload's gets serializable (local, no ReadIndex): those runs are
// expected to FAIL, which shows the checker catches stale reads on a real cluster.
// Seeds are S, S+1, ... (S random by default); the fault is chosen by the seed unless --fault is
// given. The seed of every failing run is printed; rerun one with --runs 1 --seed <seed>.
import { spawnSync } from 'node:child_process';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const runs = Number(arg('runs', '5'));
const start = Number(arg('seed', String(Math.floor(Math.random() * 1_000_000))));
const fault = arg('fault', '');
const keys = arg('keys', '5');
const reads = process.argv.includes('--serializable') ? 'serializable' : 'linearizable';
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(start)) {
  console.error('usage: npm run jepsen -- [--runs N] [--seed S] [--fault kill-leader|kill-follower|pause-leader|partition-leader]');
  process.exit(2);
}

const failed = [];
for (let i = 0; i < runs; i++) {
  const seed = start + i;
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/linearizability/jepsen.test.ts'],
    { env: { ...process.env, JEPSEN_SEED: String(seed), JEPSEN_FAULT: fault, JEPSEN_READS: reads, JEPSEN_KEYS: keys }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  const summary = out.split('\n').find((l) => l.startsWith(`# seed ${seed} fault`)) ?? `# seed ${seed}: no summary`;
  const ok = res.status === 0;
  console.log(`[${i + 1}/${runs}] ${ok ? 'pass' : 'FAIL'} ${summary.slice(2)}`);
  if (!ok) {
    failed.push(seed);
    console.log(out);
  }
}
console.log(failed.length === 0 ? `all ${runs} runs passed` : `${failed.length} of ${runs} runs failed; seeds: ${failed.join(' ')}`);
process.exit(failed.length === 0 ? 0 : 1);

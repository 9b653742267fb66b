#!/usr/bin/env node
// Watch fault runs (test/watch-faults/run.ts), one three-member `keyward serve` cluster each.
// Usage: npm run watch-faults -- [--runs N] [--seed S] [--faults kill-leader,pause-follower,...] [--gap MS]
// Seeds are S, S+1, ... (S random by default); the faults are chosen by the seed unless --faults
// is given. The seed of every failing run is printed; rerun one with --runs 1 --seed <seed>.
import { spawnSync } from 'node:child_process';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const runs = Number(arg('runs', '5'));
const start = Number(arg('seed', String(Math.floor(Math.random() * 1_000_000))));
const faults = arg('faults', '');
const gap = arg('gap', '2000');
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(start)) {
  console.error('usage: npm run watch-faults -- [--runs N] [--seed S] [--faults kill-leader,kill-follower,pause-leader,pause-follower,partition-leader] [--gap MS]');
  process.exit(2);
}

const failed = [];
for (let i = 0; i < runs; i++) {
  const seed = start + i;
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-force-exit', 'test/watch-faults/watch-faults.test.ts'],
    { env: { ...process.env, WATCH_SEED: String(seed), WATCH_FAULTS: faults, WATCH_GAP_MS: gap }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
  const summary = out.split('\n').find((l) => l.trimStart().startsWith(`# seed ${seed} faults`)) ?? `# seed ${seed}: no summary`;
  const ok = res.status === 0;
  console.log(`[${i + 1}/${runs}] ${ok ? 'pass' : 'FAIL'} ${summary.trimStart().slice(2)}`);
  if (!ok) {
    failed.push(seed);
    console.log(out);
  }
}
console.log(failed.length === 0 ? `all ${runs} runs passed` : `${failed.length} of ${runs} runs failed; seeds: ${failed.join(' ')}`);
process.exit(failed.length === 0 ? 0 : 1);

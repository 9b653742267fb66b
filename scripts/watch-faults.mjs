#!/usr/bin/env node
// Watch fault runs (test/watch-faults/run.ts), one three-member `keyward serve` cluster each.
// Usage: npm run watch-faults -- [--runs N] [--seed S] [--faults kill-leader,pause-follower,...] [--gap MS] [--secure]
// --secure runs the cluster as production does (no --insecure): mutual TLS on the client and peer
// ports, auth on; writers and watchers connect with the certificate of a non-root user holding
// READWRITE on the workload's keys (the compactor is root), as `npm run jepsen -- --secure`.
// Seeds are S, S+1, ... (S random by default); the faults are chosen by the seed unless --faults
// is given. The seed of every failing run is printed; rerun one with --runs 1 --seed <seed>.
import { arg, runsAndSeed, runSeeds } from './seeded-runs.mjs';

const { runs, start } = runsAndSeed('usage: npm run watch-faults -- [--runs N] [--seed S] [--faults kill-leader,kill-follower,pause-leader,pause-follower,partition-leader] [--gap MS] [--secure]');
const faults = arg('faults', '');
const gap = arg('gap', '2000');
const secure = process.argv.includes('--secure') ? '1' : '';
runSeeds({
  runs,
  start,
  testFile: 'test/watch-faults/watch-faults.test.ts',
  env: (seed) => ({ WATCH_SEED: String(seed), WATCH_FAULTS: faults, WATCH_GAP_MS: gap, WATCH_SECURE: secure }),
  summaryPrefix: (seed) => `seed ${seed} faults`,
});

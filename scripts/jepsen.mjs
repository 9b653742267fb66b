#!/usr/bin/env node
// Randomized fault runs (test/linearizability/fault-run.ts), one `keyward serve` cluster each.
// Usage: npm run jepsen -- [--runs N] [--seed S] [--fault kill-leader|kill-follower|pause-leader|partition-leader|kill-all|membership] [--workload register|txn] [--serializable] [--keys K]
// --workload txn: multi-key txns and atomic reads over 3 keys mixed with single-key operations (L2).
// --serializable makes the workload's gets serializable (local, no ReadIndex): those runs are
// expected to FAIL, which shows the checker catches stale reads on a real cluster.
// Seeds are S, S+1, ... (S random by default); the fault is chosen by the seed unless --fault is
// given. The seed of every failing run is printed; rerun one with --runs 1 --seed <seed>.
import { arg, runsAndSeed, runSeeds } from './seeded-runs.mjs';

const { runs, start } = runsAndSeed('usage: npm run jepsen -- [--runs N] [--seed S] [--fault kill-leader|kill-follower|pause-leader|partition-leader|kill-all|membership] [--workload register|txn]');
const fault = arg('fault', '');
const keys = arg('keys', '');
const workload = arg('workload', 'register');
const reads = process.argv.includes('--serializable') ? 'serializable' : 'linearizable';
runSeeds({
  runs,
  start,
  testFile: 'test/linearizability/jepsen.test.ts',
  env: (seed) => ({ JEPSEN_SEED: String(seed), JEPSEN_FAULT: fault, JEPSEN_READS: reads, JEPSEN_KEYS: keys, JEPSEN_WORKLOAD: workload }),
  summaryPrefix: (seed) => `seed ${seed} fault`,
});

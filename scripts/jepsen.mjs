#!/usr/bin/env node
// Randomized fault runs (test/linearizability/fault-run.ts), one `keyward serve` cluster each.
// Usage: npm run jepsen -- [--runs N] [--seed S] [--fault kill-leader|kill-follower|pause-leader|partition-leader|kill-all|membership|remove-leader|learner-promote] [--workload register|txn] [--serializable] [--keys K] [--secure]
// --fault remove-leader: the leader is removed through the member API (its own or a follower's) and
// must stop by itself while the two others elect a leader; learner-promote: a fourth member joins
// as a learner (by snapshot or from the log, by the seed), an early promotion must be refused, and it
// is promoted under load. For both, clients follow the member list (etcd's endpoint auto-sync).
// --workload txn: multi-key txns and atomic reads over 3 keys mixed with single-key operations (L2).
// --serializable makes the workload's gets serializable (local, no ReadIndex): those runs are
// expected to FAIL, which shows the checker catches stale reads on a real cluster.
// --secure runs the cluster as production does (no --insecure): mutual TLS on the client and peer
// ports, peer certificates bound to member names, auth on; members a fault adds get certificates
// from the run's CAs first. The workload connects with the certificate of a non-root user granted
// READWRITE on exactly the run's prefix; a user with READ there tries writes on the workload's keys
// all through the run, and every answer must be permission denied (before, during and after the
// fault) and none of its values may reach the history.
// Seeds are S, S+1, ... (S random by default); the fault is chosen by the seed unless --fault is
// given. The seed of every failing run is printed; rerun one with --runs 1 --seed <seed>.
import { arg, runsAndSeed, runSeeds } from './seeded-runs.mjs';

const { runs, start } = runsAndSeed('usage: npm run jepsen -- [--runs N] [--seed S] [--fault kill-leader|kill-follower|pause-leader|partition-leader|kill-all|membership|remove-leader|learner-promote] [--workload register|txn] [--secure]');
const fault = arg('fault', '');
const keys = arg('keys', '');
const workload = arg('workload', 'register');
const reads = process.argv.includes('--serializable') ? 'serializable' : 'linearizable';
const secure = process.argv.includes('--secure') ? '1' : '';
runSeeds({
  runs,
  start,
  testFile: 'test/linearizability/jepsen.test.ts',
  env: (seed) => ({ JEPSEN_SEED: String(seed), JEPSEN_FAULT: fault, JEPSEN_READS: reads, JEPSEN_KEYS: keys, JEPSEN_WORKLOAD: workload, JEPSEN_SECURE: secure }),
  summaryPrefix: (seed) => `seed ${seed} fault`,
});

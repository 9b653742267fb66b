#!/usr/bin/env node
// Runs the raft core's randomized simulation for many seeds.
//   npm run sim -- --seeds 20000 [--start 1] [--chaos 3000] [--jobs 2]
//   npm run sim -- --seed 1234 --verbose      (reproduce one seed with raft logs)
//   add --churn for the leader-churn profile (Figure 8 shapes)
//   add --pipelined <0..1> to force the share of nodes on the pipelined driver (default: per seed)
import { register } from 'tsx/esm/api';
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

register();

function parseArgs(argv) {
  const o = { seeds: 1000, start: 1, seed: undefined, verbose: false, chaos: undefined, profile: 'mixed', pipelined: undefined, jobs: Math.max(1, availableParallelism()) };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => Number(argv[++i]);
    if (a === '--seeds') o.seeds = next();
    else if (a === '--start') o.start = next();
    else if (a === '--seed') o.seed = next();
    else if (a === '--chaos') o.chaos = next();
    else if (a === '--jobs') o.jobs = next();
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--churn') o.profile = 'churn';
    else if (a === '--pipelined') o.pipelined = next();
    else {
      console.error(`unknown argument ${a}`);
      process.exit(2);
    }
  }
  return o;
}

async function runRange(start, count, chaos, verbose, profile, pipelined) {
  const { runSeed } = await import('../test/harness/simnet.ts');
  const failures = [];
  let elections = 0;
  for (let s = start; s < start + count; s++) {
    try {
      const r = runSeed(s, { chaosMs: chaos, verbose, profile, pipelined });
      elections += r.elections;
      if (verbose) console.log(r);
    } catch (e) {
      failures.push({ seed: s, message: String(e?.message ?? e) });
    }
  }
  return { failures, elections };
}

if (!isMainThread) {
  const { start, count, chaos, profile, pipelined } = workerData;
  parentPort.postMessage(await runRange(start, count, chaos, false, profile, pipelined));
} else {
  const o = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  let results;
  if (o.seed !== undefined) {
    results = [await runRange(o.seed, 1, o.chaos, o.verbose, o.profile, o.pipelined)];
  } else {
    const jobs = Math.min(o.jobs, o.seeds);
    const per = Math.ceil(o.seeds / jobs);
    const parts = [];
    for (let j = 0; j < jobs; j++) {
      const start = o.start + j * per;
      const count = Math.min(per, o.start + o.seeds - start);
      if (count <= 0) continue;
      parts.push(
        new Promise((resolve, reject) => {
          const w = new Worker(new URL(import.meta.url), { workerData: { start, count, chaos: o.chaos, profile: o.profile, pipelined: o.pipelined } });
          w.once('message', resolve);
          w.once('error', reject);
        }),
      );
    }
    results = await Promise.all(parts);
  }
  const failures = results.flatMap((r) => r.failures);
  const n = o.seed !== undefined ? 1 : o.seeds;
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const flags = `${o.profile === 'churn' ? ' --churn' : ''}${o.pipelined !== undefined ? ` --pipelined ${o.pipelined}` : ''}`;
  for (const f of failures) console.log(`FAIL seed ${f.seed}: ${f.message}\n  reproduce: npm run sim -- --seed ${f.seed}${flags} --verbose`);
  console.log(`${n} seeds in ${secs} s, ${failures.length} failing`);
  process.exit(failures.length === 0 ? 0 : 1);
}

// Shared by scripts/jepsen.mjs and scripts/watch-faults.mjs: command-line flags, and running one
// test file once per seed (S, S+1, ...) with the seed in its environment, printing each run's
// summary line and the whole output of every failing run.
import { spawnSync } from 'node:child_process';

/** The value after `--name`, or `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** --runs (default 5) and --seed (random by default); exits 2 with `usage` when they are bad. */
export function runsAndSeed(usage) {
  const runs = Number(arg('runs', '5'));
  const start = Number(arg('seed', String(Math.floor(Math.random() * 1_000_000))));
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(start)) {
    console.error(usage);
    process.exit(2);
  }
  return { runs, start };
}

/**
 * Runs `testFile` once per seed with `env(seed)` added to the environment; the run's summary is
 * the output line starting with `# ${summaryPrefix(seed)}`. Exits 0 when every run passed.
 */
export function runSeeds({ runs, start, testFile, env, summaryPrefix }) {
  const failed = [];
  for (let i = 0; i < runs; i++) {
    const seed = start + i;
    const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', testFile], {
      env: { ...process.env, ...env(seed) },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const out = `${res.stdout ?? ''}${res.stderr ?? ''}`;
    const summary = out.split('\n').map((l) => l.trimStart()).find((l) => l.startsWith(`# ${summaryPrefix(seed)}`)) ?? `# seed ${seed}: no summary`;
    const ok = res.status === 0;
    console.log(`[${i + 1}/${runs}] ${ok ? 'pass' : 'FAIL'} ${summary.slice(2)}`);
    if (!ok) {
      failed.push(seed);
      console.log(out);
    }
  }
  console.log(failed.length === 0 ? `all ${runs} runs passed` : `${failed.length} of ${runs} runs failed; seeds: ${failed.join(' ')}`);
  process.exit(failed.length === 0 ? 0 : 1);
}

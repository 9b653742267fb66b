#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner through tsx.
// Node 20's --test does not expand globs, so the file list is built here.
// Usage: node scripts/run-tests.mjs [substring ...]  (filters files by path)
//
// The run can never hang: member processes a test file started are killed when its tests are done
// (test/harness/process.ts), every test has a default timeout, and a watchdog kills the whole
// process group (members started by tests included) if the run as a whole overstays.
// (Seen: a member process left behind by a failed test kept CI running until its 90-minute limit.)
// Not --test-force-exit: on Node 20 it was seen to end a test file with tests still unrun, silently.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';

const TEST_TIMEOUT_MS = 5 * 60_000;
const RUN_TIMEOUT_MS = Number(process.env['KEYWARD_TEST_RUN_TIMEOUT_MS'] ?? 25 * 60_000);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((s) => f.includes(s))).sort();
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// One directory per run in which test processes claim the fixed ports they give members
// (test/harness/ports.ts), so two test files running side by side never pick the same one.
const portDir = mkdtempSync(join(tmpdir(), 'keyward-test-ports-'));
const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=2', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files],
  { stdio: 'inherit', detached: true, env: { ...process.env, KEYWARD_TEST_PORT_DIR: portDir } },
);

const killGroup = () => {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
};
const watchdog = setTimeout(() => {
  console.error(`\nrun-tests: the run took longer than ${RUN_TIMEOUT_MS / 60_000} minutes; killing it and everything it started`);
  killGroup();
}, RUN_TIMEOUT_MS);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killGroup();
    process.exit(1);
  });
}

child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  killGroup(); // anything a test file left running in the group
  rmSync(portDir, { recursive: true, force: true });
  process.exit(signal !== null ? 1 : (code ?? 1));
});

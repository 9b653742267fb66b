import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, WATCH_FAULTS, watchFaultRun, type WatchFault } from './run.js';

// W1–W6 under faults: one bounded run (fixed seed: kill -9 of the leader, then SIGSTOP of the new
// leader) in `npm test`. WATCH_SEED / WATCH_FAULTS pick others, WATCH_SECURE=1 a cluster with mutual
// TLS and auth on, clients as a non-root user; `npm run watch-faults -- --runs N [--secure]` runs many.

const seed = Number(process.env['WATCH_SEED'] ?? 1);
const faultsEnv = process.env['WATCH_FAULTS'];
const faults = faultsEnv === undefined || faultsEnv === '' ? (process.env['WATCH_SEED'] === undefined ? (['kill-leader', 'pause-leader'] as WatchFault[]) : undefined) : (faultsEnv.split(',') as WatchFault[]);
for (const f of faults ?? []) assert.ok(WATCH_FAULTS.includes(f), `WATCH_FAULTS entries must be among ${WATCH_FAULTS.join(', ')}`);
const gapMs = Number(process.env['WATCH_GAP_MS'] ?? 2000);
const secure = process.env['WATCH_SECURE'] === '1';

test(`W1-W6 under member kills, pauses and compaction (seed ${seed}${secure ? ', mutual TLS' : ''}): every watcher's events equal the replay`, { timeout: 120_000 }, async () => {
  const report = await watchFaultRun({ seed, gapMs, secure, ...(faults !== undefined ? { faults } : {}), log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.ok(report.writes.ok > 100, `the workload made progress (${report.writes.ok} acknowledged writes)`);
  assert.ok(report.compactions.length > 0, 'the compactor ran');
  assert.ok(report.watchers.complete > 5, `watchers ran to the end (${report.watchers.complete})`);
  // A partition alone kills no connection: a watch on the isolated member stays open (silent), so
  // only runs with a kill or a pause must show a resume.
  if (faults === undefined || faults.some((f) => f !== 'partition-leader')) {
    assert.ok(report.watchers.reconnects > 0, 'some client watch resumed on another member');
  }
  assert.deepEqual(report.violations, [], text);
});

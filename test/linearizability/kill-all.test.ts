import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jepsenRun, passed, summarize } from './fault-run.js';

// L4 (three nodes: kill all nodes at once after acks) and L1/L8 under that fault: every member of
// a loaded three-process cluster is SIGKILLed at the same moment, then all are restarted from their
// data dirs and the load goes on. One bounded run, fixed seed; `npm run jepsen -- --fault kill-all` runs more.

test('L4/L1/L8 kill-all (seed 21): every acknowledged write survives the whole cluster dying at once, the history is linearizable and the members converge', { timeout: 90_000 }, async () => {
  const report = await jepsenRun({ seed: 21, fault: 'kill-all', afterMs: 2500, log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(report.target, 'all members');
  assert.ok(report.completed > 100, `the workload made progress (${report.completed} completed operations)`);
  assert.ok(report.failed > 0, 'clients were refused while every member was down (the fault hit the load)');
  assert.deepEqual(report.lostWrites, [], 'L4: no acknowledged write is missing after the restart');
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.ok(passed(report), text);
});

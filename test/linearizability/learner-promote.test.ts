import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jepsenRun, passed, summarize } from './fault-run.js';

// L9 "learner add and promote" and L10 (snapshot catch-up) under traffic: the members snapshot
// every 200 entries and have compacted their logs when a fourth member is added as a learner; a
// promotion asked before it starts must be refused (it holds no log); it starts empty, can only
// catch up by snapshot, serves clients as a learner, and is promoted to voter while the load goes
// on. The history must be linearizable and all four members converge. One bounded run, fixed
// seed; `npm run jepsen -- --fault learner-promote` runs more (the seed also picks log catch-up).

test('L9/L10/L1 learner-promote (seed 52): a learner added under load catches up by snapshot and is promoted; an early promotion is refused; the history is linearizable and all four members converge', { timeout: 90_000 }, async () => {
  const report = await jepsenRun({ seed: 52, fault: 'learner-promote', learnerSnapshot: true, log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.match(report.target, /^j3 \(learner, caught up by snapshot\)$/);
  assert.deepEqual(report.membership?.problems, [], 'no early promotion, the logs were compacted first, and the learner ended a voter everywhere');
  assert.match(report.membership?.note ?? '', /a promotion before it started was refused/);
  assert.match(report.membership?.note ?? '', /answered per member: .*j3 [1-9]/, 'clients used the new member');
  assert.ok(report.completed > 100, `the workload made progress (${report.completed} completed operations)`);
  assert.deepEqual(report.lostWrites, [], 'L4: no acknowledged write is missing');
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.equal(report.divergence, null, 'all four members converge');
  assert.ok(passed(report), text);
});

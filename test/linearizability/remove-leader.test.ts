import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jepsenRun, passed, summarize } from './fault-run.js';

// L9 "remove the leader" under traffic (and L1/L4/L8 across it): while clients run, the leader is
// removed through its own member API. It must step down and stop by itself, the two others must
// elect a leader, the clients (following the member list) fail over to them, and no acknowledged
// write may be lost. One bounded run, fixed seed; `npm run jepsen -- --fault remove-leader` runs more
// (the seed also picks asking a follower instead).

test('L9/L1/L4 remove-leader (seed 51): the leader removed under load stops, the others elect a leader; the history is linearizable, no acknowledged write is lost and the remaining members converge', { timeout: 90_000 }, async () => {
  const report = await jepsenRun({ seed: 51, fault: 'remove-leader', log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.match(report.target, /\(leader, removed through itself\)$/);
  assert.deepEqual(report.membership?.problems, [], 'the removed leader stopped by itself and a new leader was elected');
  assert.match(report.membership?.note ?? '', / leads \d+ ms after the remove call/);
  assert.ok(report.completed > 100, `the workload made progress (${report.completed} completed operations)`);
  assert.deepEqual(report.lostWrites, [], 'L4: no acknowledged write is missing');
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.equal(report.divergence, null, 'the two remaining members converge');
  assert.ok(passed(report), text);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jepsenRun, passed, summarize } from './fault-run.js';

// L9 membership under traffic: while clients run, a follower is removed through the member API,
// killed, and added back as a new member (new peer URL, empty data dir, --initial-cluster-state
// existing), which must catch up. One bounded run, fixed seed; `npm run jepsen -- --fault membership` runs more.

test('L9 membership (seed 41): remove a follower and add it back empty under load; the history is linearizable and all three members converge', { timeout: 90_000 }, async () => {
  const report = await jepsenRun({ seed: 41, fault: 'membership', log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.match(report.target, /\(follower\)$/);
  assert.ok(report.completed > 100, `the workload made progress (${report.completed} completed operations)`);
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.equal(report.divergence, null, 'the re-added member caught up with the same revision and content');
  assert.ok(passed(report), text);
});

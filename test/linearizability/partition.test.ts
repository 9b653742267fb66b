import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jepsenRun, passed, summarize } from './fault-run.js';

// L1 and L6 under a network partition of real `keyward serve` processes (KEYWARD_TEST_FAULT_FILE,
// test/harness/partition.ts): the leader is cut off from both followers for 2.5 s (5 election
// timeouts), then healed. One bounded run, fixed seed; `npm run jepsen -- --fault partition-leader` runs more.

test('L1/L6 partition-leader (seed 11): a new leader is elected during the cut, the isolated old leader serves no stale linearizable read, the history is linearizable and the members converge', { timeout: 90_000 }, async () => {
  const report = await jepsenRun({ seed: 11, fault: 'partition-leader', log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.ok(report.completed > 100, `the workload made progress (${report.completed} completed operations)`);
  assert.ok(report.partition !== undefined, 'the run reports the partition');
  assert.ok(report.partition.newLeader !== null, `a follower became leader while the old leader (${report.target}) was cut off`);
  assert.ok(!report.target.startsWith(`${report.partition.newLeader} `), 'the new leader is not the isolated member');
  assert.equal(report.partition.staleRead, null, 'L6: the isolated old leader answered no linearizable read with stale data');
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.ok(passed(report), text);
});

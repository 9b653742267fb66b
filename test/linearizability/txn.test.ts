import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jepsenRun, passed, summarize } from './fault-run.js';

// L2 multi-key txns under kill -9 of the leader: over 3 keys, clients issue txns comparing 0–2 keys
// (value or mod revision) and writing 2–3 keys (a delete among them now and then), atomic reads of
// all 3 keys (a txn of ranges, or one range over their prefix), and single-key get/put/CAS on the
// same keys. Each is one atomic operation in the history, checked against a multi-key model.
// One bounded run, fixed seed; `npm run jepsen -- --workload txn` runs more.

test('L2 txn workload under kill-leader (seed 31): multi-key txns and reads are linearizable, acknowledged writes survive, the members converge', { timeout: 90_000 }, async () => {
  const report = await jepsenRun({ seed: 31, fault: 'kill-leader', workload: 'txn', log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(report.workload, 'txn');
  assert.ok(report.completed > 100, `the workload made progress (${report.completed} completed operations)`);
  assert.match(report.mix, /mget [1-9]\d*, txn [1-9]\d*\/[1-9]\d*/, 'multi-key reads and txns (some succeeding) were answered');
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.ok(passed(report), text);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INTRUDER_USER, jepsenRun, passed, summarize, WORKLOAD_USER } from './fault-run.js';

// L1/L3/L4 on a cluster run as production runs it: no --insecure, mutual TLS on the client and
// peer ports, peer certificates bound to member names, auth on, the workload connecting with the
// certificate of a non-root user granted READWRITE on exactly the run's prefix, while a user with
// READ there tries writes on the workload's keys throughout (A-cases under a fault: every answer is
// permission denied, before, during and after the change, and none of its values is ever in the
// history). The fault is `membership` (a follower removed through the member API,
// wiped, and added back as a new member with a new ID under its old name), the one that puts the
// peer identity binding to work: the newcomer must be let in before it has published its name, and
// replicate from the others over mutual TLS. One bounded run, fixed seed;
// `npm run jepsen -- --secure --fault F` runs any fault this way.

test(`L1/L3/L4 membership with mutual TLS (seed 31): a follower replaced under load on a secure cluster, the workload as ${WORKLOAD_USER}; the history is linearizable, no acknowledged write is lost, the members converge, and ${INTRUDER_USER}'s writes are always denied`, { timeout: 60_000 }, async () => {
  const report = await jepsenRun({ seed: 31, fault: 'membership', secure: true, log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(report.secure, true);
  assert.match(report.target, /\(follower\)$/);
  assert.deepEqual(report.security, [], 'auth on everywhere, only https URLs in the member list, a client without a certificate refused');
  assert.ok(report.completed > 100, `the workload made progress over TLS (${report.completed} completed operations)`);
  assert.deepEqual(report.lostWrites, [], 'L4: no acknowledged write is missing');
  assert.deepEqual(report.revisionProblems, [], 'L3');
  assert.ok(report.check.ok, report.check.ok ? '' : report.check.message);
  assert.equal(report.divergence, null, 'the replaced member caught up over mutual TLS: every member converged');
  const authz = report.authz;
  assert.ok(authz !== undefined, 'a secure run reports the intruder');
  assert.deepEqual(authz.problems, [], `${INTRUDER_USER}'s writes: never applied, every answer permission denied; ${WORKLOAD_USER} refused past its grant`);
  for (const phase of ['before', 'during', 'after'] as const) assert.ok(authz.denied[phase] > 0, `${INTRUDER_USER} was denied ${phase} the fault (${authz.denied[phase]})`);
  assert.ok(passed(report), text);
});

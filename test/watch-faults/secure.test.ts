import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize, watchFaultRun, WATCH_USER } from './run.js';

// W1-W6 on a cluster run as production runs it: no --insecure, mutual TLS on the client and peer
// ports, auth on, the writers and every watcher (client watches and raw streams) connecting with
// the certificate of a non-root user granted READWRITE on the workload's keys. The fault is a kill
// -9 of the leader: the watches on it must resume on another member over a new TLS connection,
// authorized again there. One bounded run, fixed seed, one fault;
// `npm run watch-faults -- --secure` runs more seeds and faults this way.

test(`W1-W6 kill-leader with mutual TLS, watchers as ${WATCH_USER} (seed 5): every watcher's events equal the replay`, { timeout: 60_000 }, async () => {
  const report = await watchFaultRun({ seed: 5, faults: ['kill-leader'], gapMs: 1500, watchers: 25, secure: true, log: (l) => console.log(`# ${l}`) });
  const text = summarize(report);
  console.log(text.split('\n').map((l) => `# ${l}`).join('\n'));
  assert.equal(report.secure, true);
  assert.ok(report.writes.ok > 50, `the workload made progress over TLS as ${WATCH_USER} (${report.writes.ok} acknowledged writes)`);
  assert.ok(report.compactions.length > 0, 'the compactor ran');
  assert.ok(report.watchers.complete > 5, `watchers ran to the end (${report.watchers.complete})`);
  assert.ok(report.watchers.reconnects > 0, 'some client watch resumed on another member over TLS');
  // Holds the security checks too: auth on everywhere, https only, no anonymous client served,
  // and the watchers' user refused outside its grant (a put and a watch).
  assert.deepEqual(report.violations, [], text);
});

// Shared body of the randomized simulation tests (split in two files so the
// runner's two workers use both cores). A failing seed names itself and is
// reproduced exactly with: npm run sim -- --seed <n> --verbose

import { it } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed, SimViolation } from '../harness/simnet.js';

export function simSeeds(label: string, start: number, count: number, profile: 'mixed' | 'churn' = 'mixed'): void {
  const n = Number(process.env['RAFT_SIM_SEEDS'] ?? count);
  const what = profile === 'churn' ? 'leader-churn (Figure 8 shaped)' : 'random';
  it(`${label}: ${n} ${what} fault schedules keep every safety invariant and recover liveness after healing (seeds ${start}..${start + n - 1})`, () => {
    const failures: string[] = [];
    let elections = 0;
    let committed = 0;
    let crashes = 0;
    let confChanges = 0;
    let snapshots = 0;
    let pipelinedReadies = 0;
    let lostWrites = 0;
    let undoneApplies = 0;
    for (let seed = start; seed < start + n; seed++) {
      try {
        const r = runSeed(seed, { profile });
        elections += r.elections;
        committed += r.committed;
        crashes += r.crashes;
        confChanges += r.confChanges;
        snapshots += r.snapshotsSent;
        pipelinedReadies += r.pipelinedReadies;
        lostWrites += r.lostWrites;
        undoneApplies += r.undoneApplies;
      } catch (e) {
        if (!(e instanceof SimViolation)) throw new Error(`seed ${seed}: ${String(e)}`, { cause: e });
        failures.push(`${e.message}\n  reproduce: npm run sim -- --seed ${seed}${profile === 'churn' ? ' --churn' : ''} --verbose`);
        if (failures.length >= 5) break;
      }
    }
    assert.deepEqual(failures, []);
    // The schedules must actually exercise the protocol, not idle.
    const membership = profile === 'churn' || (confChanges > n / 10 && snapshots > n / 10);
    // Pipelined drivers must take Readies with writes in flight, and crashes must lose some of them.
    const pipelined = pipelinedReadies > 10 * n && lostWrites > n / 4 && undoneApplies >= Math.floor(n / 500);
    assert.ok(elections > n && committed > 10 * n && crashes > n / 2 && membership && pipelined,
      `coverage: elections ${elections}, committed ${committed}, crashes ${crashes}, conf changes ${confChanges}, snapshots ${snapshots}, ` +
        `pipelined Readies ${pipelinedReadies}, writes lost in crashes ${lostWrites}, applies undone ${undoneApplies}`);
  });
}

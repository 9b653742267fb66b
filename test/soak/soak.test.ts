import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soak } from './soak.js';

// D13, bounded for `npm test` (SOAK_SECONDS, default 40); `npm run soak -- --minutes N` runs long.
const seconds = Number(process.env['SOAK_SECONDS'] ?? 40);
// SOAK_ONLY=kv,watch,lease,login: a subset of the load (to find what grows).
const only = process.env['SOAK_ONLY'] === undefined || process.env['SOAK_ONLY'] === '' ? undefined : process.env['SOAK_ONLY'].split(',');

test(`D13 soak (${seconds} s): three secure members under mixed load with leader moves and pauses keep memory and file descriptors flat, and converge`, { timeout: (seconds + 120) * 1000 }, async () => {
  const report = await soak({ seconds, ...(only !== undefined ? { only } : {}), log: (l) => console.log(`# ${l}`) });
  console.log(`# ops ${JSON.stringify(report.ops)}`);
  for (const l of report.summary) console.log(`# ${l}`);
  assert.deepEqual(report.problems, []);
});

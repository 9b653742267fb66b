#!/usr/bin/env node
// D13 soak: three secure members under mixed load and faults for --minutes N (default 30),
// memory and file descriptors sampled throughout (test/soak/soak.ts). `npm test` runs 40 s of it.
import { spawnSync } from 'node:child_process';

const i = process.argv.indexOf('--minutes');
const minutes = i >= 0 ? Number(process.argv[i + 1]) : 30;
if (!(minutes > 0)) {
  console.error('usage: npm run soak -- [--minutes N]');
  process.exit(2);
}
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', 'test/soak/soak.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, SOAK_SECONDS: String(Math.round(minutes * 60)) },
});
process.exit(res.status ?? 1);

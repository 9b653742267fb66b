#!/usr/bin/env node
// GUARANTEES L16: one pinned test per bug found, and proof that it still catches the bug. For each
// entry below, a scratch worktree of HEAD gets the listed source files back as they were at the
// buggy commit (the test and everything else stay as at HEAD), and the pinned test must FAIL
// there; it must pass at HEAD (npm test). Usage: npm run regressions [-- --only <id>]
// The table is also in docs/REGRESSIONS.md, with what each bug did.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REGRESSIONS = [
  {
    id: 'remove-leader-election-timeout',
    buggy: '76b8bb4',
    paths: ['src/server/keyward-server.ts'],
    test: 'test/cluster/cluster.test.ts',
    name: 'L9 removing the leader hands leadership over first',
  },
  {
    id: 'client-write-stuck-on-dead-endpoint',
    buggy: '6e94236',
    paths: ['src/client/http.ts'],
    test: 'test/client/retry-safety.test.ts',
    name: 'L15 reads fail over after the same failure',
  },
];

const root = resolve(new URL('..', import.meta.url).pathname);
const git = (cwd, ...args) => spawnSync('git', args, { cwd, encoding: 'utf8' });
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
let bad = 0;
for (const r of REGRESSIONS.filter((e) => only === undefined || e.id === only)) {
  const dir = mkdtempSync(join(tmpdir(), `keyward-regression-${r.id}-`));
  try {
    const add = git(root, 'worktree', 'add', '--detach', dir, 'HEAD');
    if (add.status !== 0) throw new Error(add.stderr);
    const back = git(dir, 'checkout', r.buggy, '--', ...r.paths);
    if (back.status !== 0) throw new Error(back.stderr);
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=dot', `--test-name-pattern=${r.name}`, r.test], { cwd: dir, encoding: 'utf8', timeout: 300_000 });
    // Only a failed assertion reproduces the bug: a crash or an import error proves nothing.
    const out = `${run.stdout}${run.stderr}`;
    const assertion = out.split('\n').find((l) => /AssertionError/.test(l))?.trim();
    const reproduced = run.status !== 0 && assertion !== undefined;
    if (!reproduced) bad++;
    console.log(`${reproduced ? 'reproduced' : 'NOT REPRODUCED'}  ${r.id}: ${r.paths.join(', ')} as of ${r.buggy}, "${r.name}" ${reproduced ? `fails: ${assertion}` : run.status === 0 ? 'passes' : 'fails without a failed assertion'}`);
  } finally {
    git(root, 'worktree', 'remove', '--force', dir);
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(bad === 0 ? 0 : 1);

// Flags the bench adds to a `keyward serve` command line depending on what that build knows.

import { spawnSync } from 'node:child_process';

/** Whether each `… serve` command prefix knows --insecure (asked once per prefix through --help). */
const insecureFlagKnown = new Map<string, boolean>();

/**
 * `keyward serve` refuses http:// URLs unless given --insecure (TLS by default, issue 5), while
 * builds from before that change do not know the flag and would refuse it. So a command with a
 * plaintext URL gets --insecure appended exactly when its `serve --help` lists the flag.
 * Appended last: the flag takes an optional value, and nothing may follow it by accident.
 */
export function withInsecure(argv: string[], cwd: string): string[] {
  if (argv.includes('--insecure') || !argv.some((w) => w.startsWith('http://'))) return argv;
  const serve = argv.indexOf('serve');
  if (serve < 0) return argv;
  const prefix = argv.slice(0, serve + 1);
  const key = `${cwd}\0${prefix.join('\0')}`;
  let known = insecureFlagKnown.get(key);
  if (known === undefined) {
    const help = spawnSync(prefix[0]!, [...prefix.slice(1), '--help'], { cwd, encoding: 'utf8', timeout: 30_000 });
    known = `${help.stdout ?? ''}${help.stderr ?? ''}`.includes('--insecure');
    insecureFlagKnown.set(key, known);
  }
  return known ? [...argv, '--insecure'] : argv;
}

// The two entry points the CLI registers (`keyward policy apply DIR [--dry-run] [--prune]
// [--rotate-passwords]` and `keyward policy export DIR [--replace]`): all behaviour is here, the CLI
// only parses flags and prints.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ClientBackend, readLive, type AuthApi, type TenantApi } from './backend.js';
import { PolicyError } from './errors.js';
import { exportFiles } from './export.js';
import { loadPolicyDir, policyFiles } from './parse.js';
import { computePlan, renderOp, renderPlan, withSecrets, type PlanOp } from './plan.js';

export interface PolicyDeps {
  /** The cluster's user and role management (an AuthClient logged in as an administrator). */
  auth: AuthApi;
  /** Tenant management; absent until the cluster serves `/v1/tenants`. */
  tenants?: TenantApi;
  /** Where passwordEnv sources are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Receives the diff, one line per call (default: nothing printed). */
  out?: (line: string) => void;
}

export interface ApplyOptions {
  /** Print the diff, change nothing. Password sources are still read, so a missing one is reported. */
  dryRun?: boolean;
  /** Delete users, roles and tenants the files do not declare. */
  prune?: boolean;
  /** Set every password user's password again from its source. */
  rotatePasswords?: boolean;
}

export interface ApplyResult {
  ops: PlanOp[];
  /** The rendered plan ('no changes' when empty). */
  diff: string;
  /** How many operations were executed (0 on a dry run). */
  applied: number;
}

/**
 * Validates every file under `dir` (refusing the whole apply on any problem), reads the live state,
 * plans, reads the passwords the plan needs, prints the diff and, unless dryRun, executes the plan
 * in order. A refused operation stops the apply: PolicyError APPLY_FAILED names it and how many
 * operations before it were applied; applying again continues from there (the plan is recomputed).
 */
export async function runPolicyApply(dir: string, opts: ApplyOptions, deps: PolicyDeps): Promise<ApplyResult> {
  const desired = loadPolicyDir(dir);
  const backend = new ClientBackend(deps.auth, deps.tenants);
  const live = await readLive(backend, [...(desired.tenants?.keys() ?? [])]);
  const ops = withSecrets(computePlan(desired, live, opts), deps.env ?? process.env);
  const diff = renderPlan(ops);
  for (const line of diff.split('\n')) deps.out?.(line);
  if (opts.dryRun === true) return { ops, diff, applied: 0 };
  let applied = 0;
  for (const op of ops) {
    try {
      await backend.execute(op);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new PolicyError('APPLY_FAILED', `${renderOp(op)}: refused: ${why} (${applied} of ${ops.length} operations were applied before it; apply again to continue)`);
    }
    applied++;
  }
  return { ops, diff, applied };
}

/**
 * Writes the live state under `dir` (cluster.yaml, tenants/<id>.yaml) and returns the paths written.
 * A directory that already holds policy files is refused unless `replace`, which removes them first.
 */
export async function runPolicyExport(dir: string, deps: PolicyDeps, opts: { replace?: boolean } = {}): Promise<string[]> {
  const backend = new ClientBackend(deps.auth, deps.tenants);
  const files = exportFiles(await readLive(backend, 'all'));
  mkdirSync(dir, { recursive: true });
  const existing = policyFiles(dir);
  if (existing.length > 0) {
    if (opts.replace !== true) throw new PolicyError('EXPORT_TARGET_NOT_EMPTY', `${dir} already holds policy files (${existing.join(', ')}); export into an empty directory or pass replace`);
    for (const f of existing) rmSync(f);
  }
  const written: string[] = [];
  for (const [rel, text] of files) {
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
    written.push(p);
  }
  return written;
}

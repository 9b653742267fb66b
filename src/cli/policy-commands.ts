import type { Command } from 'commander';
import { AuthClient, TenantClient, type ClientOptions } from '../client/index.js';
import { ClientTenantApi, runPolicyApply, runPolicyExport, type PolicyDeps } from '../policy/index.js';
import type { Output } from './kv-commands.js';

// `keyward policy apply DIR [--dry-run] [--prune] [--rotate-passwords]` and `keyward policy export
// DIR [--replace]` (policies/README.md). All behaviour is in src/policy; this registers the
// commands, builds the clients from the run's connection and login, and prints. The diff goes to
// stdout as it is planned; a refused file or operation ends the run with its message (exit 1).

export interface PolicyCommandDeps {
  /** The connection and login of this run (a cluster administrator). */
  clientOptions(): ClientOptions;
  out(): Output;
}

/** The clients the policy engine works through: cluster auth, tenants, and each tenant's auth. */
export function policyDeps(opts: ClientOptions, out: (line: string) => void, env: NodeJS.ProcessEnv = process.env): PolicyDeps {
  return {
    auth: new AuthClient(opts),
    tenants: new ClientTenantApi(new TenantClient(opts), (tenant) => new AuthClient({ ...opts, tenant })),
    env,
    out,
  };
}

export function registerPolicyCommands(program: Command, deps: PolicyCommandDeps): void {
  const policy = program.command('policy').description('declare users, roles and tenants in YAML files and apply them (policies/README.md)');
  policy
    .command('apply <dir>')
    .description('make the cluster match the policy files under <dir>: prints the diff, then applies it')
    .option('--dry-run', 'print the diff, change nothing')
    .option('--prune', 'delete users, roles and tenants the files do not declare (never root)')
    .option('--rotate-passwords', "set every password user's password again from its source")
    .action(async (dir: string, o: { dryRun?: boolean; prune?: boolean; rotatePasswords?: boolean }) => {
      const out = deps.out();
      const res = await runPolicyApply(dir, { dryRun: o.dryRun === true, prune: o.prune === true, rotatePasswords: o.rotatePasswords === true }, policyDeps(deps.clientOptions(), (l) => out.write(l + '\n')));
      if (o.dryRun === true) out.write(`dry run: ${res.ops.length} operations planned, nothing changed\n`);
      else out.write(`applied ${res.applied} operations\n`);
    });
  policy
    .command('export <dir>')
    .description('write the live users, roles and tenants as policy files under <dir>')
    .option('--replace', 'remove the policy files already under <dir> first')
    .action(async (dir: string, o: { replace?: boolean }) => {
      const out = deps.out();
      const written = await runPolicyExport(dir, policyDeps(deps.clientOptions(), () => {}), { replace: o.replace === true });
      for (const f of written) out.write(`wrote ${f}\n`);
    });
}

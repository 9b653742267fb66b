import type { Command } from 'commander';
import { TenantClient, type ClientOptions } from '../client/index.js';
import {
  encodeTenantDeleteResponse,
  encodeTenantListResponse,
  encodeTenantResponse,
  type TenantInfoWire,
  type TenantQuotasPatch,
  type TenantQuotasWire,
  type TenantResponse,
} from '../wire/index.js';
import { UsageError, type Output } from './kv-commands.js';

// `keyward tenant create ID [--max-keys N …] | get ID | list | suspend ID | resume ID | delete ID |
// quotas ID --max-keys N …` over the tenants API (docs/tenancy-plan.md). Simple output in
// etcdctl's manner (one confirmation line per change, `key: value` lines for a record); `-w json`
// prints each response as the HTTP/JSON API returns it (numbers as decimal strings).

/** The quota flags, in the order records print them. */
const QUOTA_FLAGS: readonly { flag: string; field: keyof TenantQuotasWire; what: string }[] = [
  { flag: 'max-keys', field: 'maxKeys', what: 'keys' },
  { flag: 'max-bytes', field: 'maxBytes', what: 'bytes of keys and values' },
  { flag: 'max-leases', field: 'maxLeases', what: 'leases' },
  { flag: 'max-watchers', field: 'maxWatchers', what: 'watchers per member' },
  { flag: 'max-streams', field: 'maxStreams', what: 'open streams per member' },
  { flag: 'max-requests-per-second', field: 'maxRequestsPerSecond', what: 'requests per second per member' },
];

const camel = (flag: string): string => flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The quotas given as flags; a value that is not a non-negative integer is a usage error. */
export function quotasFromFlags(o: Record<string, string | undefined>): TenantQuotasPatch {
  const out: TenantQuotasPatch = {};
  for (const q of QUOTA_FLAGS) {
    const v = o[camel(q.flag)];
    if (v === undefined) continue;
    if (!/^(0|[1-9][0-9]*)$/.test(v) || !Number.isSafeInteger(Number(v))) throw new UsageError(`--${q.flag} must be a non-negative integer (0 = unlimited), got ${JSON.stringify(v)}`);
    out[q.field] = Number(v);
  }
  return out;
}

const limit = (n: number): string => (n === 0 ? 'unlimited' : String(n));

/** A tenant record as `key: value` lines. */
export function formatTenant(t: TenantInfoWire): string {
  const lines = [`id: ${t.id}`, `status: ${t.status}`, `created revision: ${t.createdRevision}`];
  for (const q of QUOTA_FLAGS) lines.push(`${q.flag}: ${limit(t.quotas[q.field])}`);
  lines.push(`usage: ${t.usage.keys} keys, ${t.usage.bytes} bytes, ${t.usage.leases} leases`);
  // Only get answers it: edge counts of the member that answered, not replicated.
  if (t.open !== undefined) lines.push(`open on member ${t.open.member}: ${t.open.streams} streams, ${t.open.watchers} watchers`);
  return lines.join('\n') + '\n';
}

const json = (v: unknown): string => JSON.stringify(v) + '\n';

function record(out: Output, res: TenantResponse, line: string | undefined): void {
  if (out.format === 'json') out.write(json(encodeTenantResponse(res)));
  else out.write((line === undefined ? '' : line + '\n') + formatTenant(res.tenant));
}

export async function runTenantCreate(c: TenantClient, out: Output, id: string, quotas: TenantQuotasPatch): Promise<void> {
  record(out, await c.create(id, quotas), `Tenant ${id} created`);
}
export async function runTenantGet(c: TenantClient, out: Output, id: string): Promise<void> {
  record(out, await c.get(id), undefined);
}
export async function runTenantList(c: TenantClient, out: Output): Promise<void> {
  const res = await c.list();
  if (out.format === 'json') {
    out.write(json(encodeTenantListResponse(res)));
    return;
  }
  for (const t of res.tenants) out.write(`${t.id} ${t.status} ${t.usage.keys} keys ${t.usage.bytes} bytes ${t.usage.leases} leases\n`);
}
export async function runTenantSuspend(c: TenantClient, out: Output, id: string): Promise<void> {
  const res = await c.suspend(id);
  if (out.format === 'json') out.write(json(encodeTenantResponse(res)));
  else out.write(`Tenant ${id} suspended\n`);
}
export async function runTenantResume(c: TenantClient, out: Output, id: string): Promise<void> {
  const res = await c.resume(id);
  if (out.format === 'json') out.write(json(encodeTenantResponse(res)));
  else out.write(`Tenant ${id} resumed\n`);
}
export async function runTenantDelete(c: TenantClient, out: Output, id: string): Promise<void> {
  const res = await c.delete(id);
  if (out.format === 'json') out.write(json(encodeTenantDeleteResponse(res)));
  else out.write(`Tenant ${id} deleted (${res.deleted} keys)\n`);
}
export async function runTenantQuotas(c: TenantClient, out: Output, id: string, quotas: TenantQuotasPatch): Promise<void> {
  if (Object.keys(quotas).length === 0) throw new UsageError(`tenant quotas needs at least one of ${QUOTA_FLAGS.map((q) => '--' + q.flag).join(', ')}`);
  record(out, await c.setQuotas(id, quotas), `Tenant ${id} quotas updated`);
}

export interface TenantCommandDeps {
  /** The connection and login of this run. */
  clientOptions(): ClientOptions;
  out(): Output;
}

export function registerTenantCommands(program: Command, deps: TenantCommandDeps): void {
  const client = (): TenantClient => new TenantClient(deps.clientOptions());
  const tenant = program.command('tenant').description('tenant commands (cluster administrators; get also a principal of the tenant)');
  const withQuotas = (cmd: Command): Command => {
    for (const q of QUOTA_FLAGS) cmd.option(`--${q.flag} <n>`, `most ${q.what} (0 = unlimited)`);
    return cmd;
  };
  withQuotas(tenant.command('create <id>').description('create an active tenant; quotas not given get the defaults (unlimited)')).action(
    (id: string, o: Record<string, string | undefined>) => runTenantCreate(client(), deps.out(), id, quotasFromFlags(o)),
  );
  tenant
    .command('get <id>')
    .description("print a tenant's status, quotas and usage")
    .action((id: string) => runTenantGet(client(), deps.out(), id));
  tenant
    .command('list')
    .description('list every tenant with its status and usage')
    .action(() => runTenantList(client(), deps.out()));
  tenant
    .command('suspend <id>')
    .description("refuse the tenant's principals and cancel its watches until resumed")
    .action((id: string) => runTenantSuspend(client(), deps.out(), id));
  tenant
    .command('resume <id>')
    .description('let a suspended tenant in again')
    .action((id: string) => runTenantResume(client(), deps.out(), id));
  tenant
    .command('delete <id>')
    .description('delete a tenant with all its keys, leases, users and roles')
    .action((id: string) => runTenantDelete(client(), deps.out(), id));
  withQuotas(tenant.command('quotas <id>').description('change the quotas given; the others stay')).action((id: string, o: Record<string, string | undefined>) =>
    runTenantQuotas(client(), deps.out(), id, quotasFromFlags(o)),
  );
}

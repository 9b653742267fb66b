// The TenantApi the policy engine needs (backend.ts), over the tenants HTTP API (`/v1/tenants/*`)
// through the client SDK, like any operator tool. A tenant's users and roles are reached through an
// AuthApi scoped to that tenant, which the caller provides (an AuthClient whose requests name the
// tenant: the cluster administrator manages a tenant's users that way).
import type { TenantClient } from '../client/index.js';
import type { AuthApi, TenantApi } from './backend.js';
import type { Quotas, TenantRecord, TenantSpec } from './model.js';

export class ClientTenantApi implements TenantApi {
  constructor(
    private readonly tenants: TenantClient,
    private readonly scoped: (tenant: string) => AuthApi,
  ) {}

  async list(): Promise<TenantRecord[]> {
    const res = await this.tenants.list();
    return res.tenants.map((t) => ({ id: t.id, status: t.status, quotas: { ...t.quotas } }));
  }

  /** Quotas the spec leaves out get the cluster's defaults; a suspended spec is created, then suspended. */
  async create(id: string, spec: TenantSpec): Promise<void> {
    await this.tenants.create(id, quotasOf(spec.quotas));
    if (spec.status === 'suspended') await this.tenants.suspend(id);
  }

  /** Only what the spec gives: some quotas, a status. */
  async update(id: string, spec: TenantSpec): Promise<void> {
    const quotas = quotasOf(spec.quotas);
    if (Object.keys(quotas).length > 0) await this.tenants.setQuotas(id, quotas);
    if (spec.status === 'suspended') await this.tenants.suspend(id);
    else if (spec.status === 'active') await this.tenants.resume(id);
  }

  async delete(id: string): Promise<void> {
    await this.tenants.delete(id);
  }

  auth(id: string): AuthApi {
    return this.scoped(id);
  }
}

function quotasOf(q: Quotas): Quotas {
  const out: Quotas = {};
  for (const [k, v] of Object.entries(q) as [keyof Quotas, number | undefined][]) if (v !== undefined) out[k] = v;
  return out;
}

// How the policy engine sees and changes a cluster: only through the client SDK's shapes.
//
//   LiveState  — what exists (tenants, users, roles, permissions, bindings), per scope.
//   Executor   — performs one PlanOp.
//   ClientBackend implements both over an AuthApi for the cluster's users and roles (AuthClient
//   is one) and, when the cluster has tenants, a TenantApi for tenant records and for each tenant's
//   users and roles. Until the cluster serves `/v1/tenants` there is no TenantApi: a policy that
//   declares tenants is then refused before anything changes (TENANTS_UNAVAILABLE).
import type { AuthClient } from '../client/index.js';
import { PolicyError } from './errors.js';
import { CLUSTER_SCOPE, compareStrings, comparePerms, emptyScope, type LiveSnapshot, type LiveUser, type Permission, type TenantRecord, type TenantSpec, type TenantStatus } from './model.js';
import type { PlanOp } from './plan.js';

/** The user and role management the engine needs: a subset of AuthClient, which implements it. */
export type AuthApi = Pick<
  AuthClient,
  | 'userList'
  | 'userGet'
  | 'userAdd'
  | 'userDelete'
  | 'userChangePassword'
  | 'userGrantRole'
  | 'userRevokeRole'
  | 'roleList'
  | 'roleGet'
  | 'roleAdd'
  | 'roleDelete'
  | 'roleGrantPermission'
  | 'roleRevokePermission'
>;

/**
 * Tenant management, to be implemented over the tenant HTTP API (`/v1/tenants`) when it exists.
 * `create` gives the tenant the cluster's defaults for the quotas the spec leaves out (and status
 * active when it gives none); `update` changes only the fields the spec gives (a status, some quotas).
 */
export interface TenantApi {
  list(): Promise<TenantRecord[]>;
  create(id: string, spec: TenantSpec): Promise<void>;
  update(id: string, spec: TenantSpec): Promise<void>;
  delete(id: string): Promise<void>;
  /** The tenant's own users and roles; permission keys are relative to the tenant's root. */
  auth(id: string): AuthApi;
}

export interface LiveState {
  /** undefined when the cluster offers no tenant API. */
  listTenants(): Promise<TenantRecord[] | undefined>;
  listRoles(scope: string): Promise<string[]>;
  rolePermissions(scope: string, role: string): Promise<Permission[]>;
  listUsers(scope: string): Promise<string[]>;
  userRoles(scope: string, user: string): Promise<string[]>;
}

export interface Executor {
  execute(op: PlanOp): Promise<void>;
}

export class ClientBackend implements LiveState, Executor {
  constructor(
    private readonly cluster: AuthApi,
    private readonly tenants?: TenantApi,
  ) {}

  private auth(scope: string): AuthApi {
    if (scope === CLUSTER_SCOPE) return this.cluster;
    if (this.tenants === undefined) throw new PolicyError('TENANTS_UNAVAILABLE', `tenant ${scope}: this cluster client has no tenant API`);
    return this.tenants.auth(scope);
  }

  private tenantApi(): TenantApi {
    if (this.tenants === undefined) throw new PolicyError('TENANTS_UNAVAILABLE', 'this cluster client has no tenant API');
    return this.tenants;
  }

  async listTenants(): Promise<TenantRecord[] | undefined> {
    return this.tenants === undefined ? undefined : this.tenants.list();
  }
  async listRoles(scope: string): Promise<string[]> {
    return (await this.auth(scope).roleList()).roles;
  }
  async rolePermissions(scope: string, role: string): Promise<Permission[]> {
    return (await this.auth(scope).roleGet(role)).perm;
  }
  async listUsers(scope: string): Promise<string[]> {
    return (await this.auth(scope).userList()).users;
  }
  async userRoles(scope: string, user: string): Promise<string[]> {
    return (await this.auth(scope).userGet(user)).roles;
  }

  async execute(op: PlanOp): Promise<void> {
    switch (op.op) {
      case 'tenantCreate':
        return this.tenantApi().create(op.tenant, op.spec);
      case 'tenantUpdate': {
        const spec: TenantSpec =
          op.field === 'status' ? { status: op.to as TenantStatus, quotas: {} } : { quotas: { [op.field.slice('quotas.'.length)]: op.to as number } };
        return this.tenantApi().update(op.tenant, spec);
      }
      case 'tenantDelete':
        return this.tenantApi().delete(op.tenant);
      case 'roleAdd':
        await this.auth(op.scope).roleAdd(op.role);
        return;
      case 'permGrant':
        await this.auth(op.scope).roleGrantPermission(op.role, op.perm);
        return;
      case 'permRevoke':
        await this.auth(op.scope).roleRevokePermission(op.role, op.perm.key, op.perm.rangeEnd);
        return;
      case 'userAdd':
        if (op.auth.kind === 'certificate') await this.auth(op.scope).userAdd(op.user, { noPassword: true });
        else if (op.password !== undefined) await this.auth(op.scope).userAdd(op.user, op.password.reveal());
        // Misuse, not input: the planner never creates an `existing` user and withSecrets sets every password.
        else throw new TypeError(`userAdd ${op.user}: no password (run withSecrets on the plan first)`);
        return;
      case 'userPassword':
        if (op.password === undefined) throw new TypeError(`userPassword ${op.user}: no password (run withSecrets on the plan first)`);
        await this.auth(op.scope).userChangePassword(op.user, op.password.reveal());
        return;
      case 'userGrant':
        await this.auth(op.scope).userGrantRole(op.user, op.role);
        return;
      case 'userRevoke':
        await this.auth(op.scope).userRevokeRole(op.user, op.role);
        return;
      case 'userDelete':
        await this.auth(op.scope).userDelete(op.user);
        return;
      case 'roleDelete':
        await this.auth(op.scope).roleDelete(op.role);
        return;
    }
  }
}

/**
 * Reads the live state: the tenant records (when there is a tenant API), the cluster's users and
 * roles, and those of the tenants named in `tenantScopes` that exist ('all': every live tenant).
 */
export async function readLive(live: LiveState, tenantScopes: readonly string[] | 'all'): Promise<LiveSnapshot> {
  const records = await live.listTenants();
  const tenants = records === undefined ? undefined : new Map(records.map((t) => [t.id, { ...(t.status === undefined ? {} : { status: t.status }), quotas: { ...t.quotas } } satisfies TenantSpec]));
  const scopes = new Map<string, ReturnType<typeof emptyScope<LiveUser>>>();
  const wanted = tenantScopes === 'all' ? [...(tenants?.keys() ?? [])] : tenantScopes.filter((t) => tenants?.has(t) === true);
  for (const scope of [CLUSTER_SCOPE, ...wanted.sort(compareStrings)]) {
    const s = emptyScope<LiveUser>();
    for (const role of await live.listRoles(scope)) s.roles.set(role, [...(await live.rolePermissions(scope, role))].sort(comparePerms));
    for (const user of await live.listUsers(scope)) s.users.set(user, { roles: [...(await live.userRoles(scope, user))].sort(compareStrings) });
    scopes.set(scope, s);
  }
  return { tenants, scopes };
}

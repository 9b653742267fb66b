// Live state -> policy files: `cluster.yaml` (the cluster's roles and users) and one
// `tenants/<id>.yaml` per tenant (its Tenant document, roles, users). Tenants live in their own
// directory so that no tenant id can collide with `cluster.yaml`.
//
// Deterministic: documents in a fixed order (Tenant, roles by name, users by name), keys in a
// fixed order, permissions in etcd's order, and the same YAML settings every time, so an export of
// an unchanged cluster is byte-identical and exporting then applying plans nothing.
//
// Users are written with `auth: {existing: true}`: the auth API tells which roles a user has but
// not how it logs in (etcd's user get returns roles only), and a password is never exported. Role
// `root` is built in and not written; user `root` is.
import { stringify } from 'yaml';
import { PolicyError } from './errors.js';
import { isPolicyName, TENANT_ID } from './parse.js';
import { CLUSTER_SCOPE, compareStrings, QUOTA_NAMES, qualified, ROOT, type LiveSnapshot, type ScopeState, type LiveUser, type TenantSpec } from './model.js';
import { permToDoc } from './perms.js';

const HEADER =
  '# Written by `keyward policy export`. Users carry `auth: {existing: true}` because the cluster does\n' +
  '# not reveal how a user logs in; give a new user certificate: true, passwordFile or passwordEnv.\n';

function notExportable(what: string): PolicyError {
  return new PolicyError('NOT_EXPORTABLE', `${what} cannot be written as a policy file`);
}

function scopeDocs(scope: string, s: ScopeState<LiveUser>): object[] {
  const tenant = scope === CLUSTER_SCOPE ? {} : { tenant: scope };
  const docs: object[] = [];
  for (const role of [...s.roles.keys()].sort(compareStrings)) {
    if (scope === CLUSTER_SCOPE && role === ROOT) continue;
    if (!isPolicyName(role)) throw notExportable(`role ${JSON.stringify(qualified(scope, role))} (name outside the policy name rule)`);
    const permissions = s.roles.get(role)!.map((p) => {
      const d = permToDoc(p);
      if (d === undefined) throw notExportable(`a permission of role ${qualified(scope, role)} (its key is not UTF-8)`);
      return d;
    });
    docs.push({ kind: 'Role', name: role, ...tenant, permissions });
  }
  for (const user of [...s.users.keys()].sort(compareStrings)) {
    if (!isPolicyName(user)) throw notExportable(`user ${JSON.stringify(qualified(scope, user))} (name outside the policy name rule)`);
    docs.push({ kind: 'User', name: user, ...tenant, auth: { existing: true }, roles: [...s.users.get(user)!.roles].sort(compareStrings) });
  }
  return docs;
}

function tenantDoc(id: string, spec: TenantSpec): object {
  const quotas: Record<string, number> = {};
  for (const q of QUOTA_NAMES) if (spec.quotas[q] !== undefined) quotas[q] = spec.quotas[q]!;
  return { kind: 'Tenant', id, ...(spec.status === undefined ? {} : { status: spec.status }), ...(Object.keys(quotas).length > 0 ? { quotas } : {}) };
}

function render(docs: object[]): string {
  // lineWidth 0: never fold a long key onto two lines.
  return HEADER + docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n');
}

/** Relative path -> file text, in path order. */
export function exportFiles(live: LiveSnapshot): Map<string, string> {
  const files = new Map<string, string>();
  files.set('cluster.yaml', render(scopeDocs(CLUSTER_SCOPE, live.scopes.get(CLUSTER_SCOPE) ?? { roles: new Map(), users: new Map() })));
  for (const id of [...(live.tenants?.keys() ?? [])].sort(compareStrings)) {
    if (!TENANT_ID.test(id)) throw notExportable(`tenant ${JSON.stringify(id)}`);
    const scope = live.scopes.get(id) ?? { roles: new Map(), users: new Map() };
    files.set(`tenants/${id}.yaml`, render([tenantDoc(id, live.tenants!.get(id)!), ...scopeDocs(id, scope)]));
  }
  return files;
}

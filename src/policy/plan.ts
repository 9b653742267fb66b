// The plan: what must change for the live state to become the desired one, as an ordered list of
// operations, and its rendering as a diff. Planning is a pure function of the two states; reading
// passwords (withSecrets) and executing (Executor) are separate steps.
//
// What a policy owns:
//   - a declared tenant's status and the quotas it names (a quota left out is left as it is);
//   - a declared role's permissions, exactly: missing ones are granted, others revoked;
//   - a declared user's role bindings, exactly: missing ones granted, others revoked. Its
//     credentials only at creation: an existing user is not re-passworded on every apply (that
//     would make every apply a change, and kill the user's tokens, A13); `rotatePasswords` sets
//     the password of every password user again, from its source.
//   - nothing else, unless `prune`: then users and roles of the managed scopes (the cluster's and
//     the declared tenants') and tenants that the files do not declare are deleted. The cluster's
//     user and role `root` are never pruned (etcd refuses it while auth is on; without root no one
//     could manage the cluster).
// Order: tenants first (a tenant's roles need the tenant), then each scope's roles with their
// permissions, then its users with their bindings (bindings need the roles); deletions last,
// users before roles before tenants.
import { PolicyError, invalidPolicy, type PolicyIssue } from './errors.js';
import {
  CLUSTER_SCOPE,
  compareStrings,
  comparePerms,
  emptyScope,
  qualified,
  QUOTA_NAMES,
  ROOT,
  sameRange,
  type AuthSource,
  type DesiredState,
  type LiveSnapshot,
  type LiveUser,
  type Permission,
  type PermType,
  type QuotaName,
  type TenantSpec,
} from './model.js';
import { describeRange } from './perms.js';
import { describeSource, readSecret, secretsUnavailable, type Secret } from './secrets.js';

export type PlanOp =
  | { op: 'tenantCreate'; tenant: string; spec: TenantSpec }
  | { op: 'tenantUpdate'; tenant: string; field: 'status' | `quotas.${QuotaName}`; from: string | number | undefined; to: string | number }
  | { op: 'tenantDelete'; tenant: string }
  | { op: 'roleAdd'; scope: string; role: string }
  /** `from`: the type the same range had (a grant of the same range replaces its type, as etcd). */
  | { op: 'permGrant'; scope: string; role: string; perm: Permission; from?: PermType }
  | { op: 'permRevoke'; scope: string; role: string; perm: Permission }
  /** `password` is set by withSecrets for a password source. */
  | { op: 'userAdd'; scope: string; user: string; auth: AuthSource; password?: Secret }
  | { op: 'userPassword'; scope: string; user: string; auth: AuthSource; password?: Secret }
  | { op: 'userGrant'; scope: string; user: string; role: string }
  | { op: 'userRevoke'; scope: string; user: string; role: string }
  | { op: 'userDelete'; scope: string; user: string }
  | { op: 'roleDelete'; scope: string; role: string };

export interface PlanOptions {
  /** Delete users, roles and tenants that the files do not declare. */
  prune?: boolean;
  /** Set the password of every existing password user again, from its source. */
  rotatePasswords?: boolean;
}

const sortedKeys = <V>(m: Map<string, V>): string[] => [...m.keys()].sort(compareStrings);

/**
 * The operations that turn `live` into `desired`. Throws PolicyError TENANTS_UNAVAILABLE when the
 * policy declares tenants and the cluster offers no tenant API, and INVALID_POLICY when a user
 * declared `existing: true` does not exist.
 */
export function computePlan(desired: DesiredState, live: LiveSnapshot, opts: PlanOptions = {}): PlanOp[] {
  const ops: PlanOp[] = [];
  const desiredTenants = desired.tenants ?? new Map<string, TenantSpec>();
  if (desiredTenants.size > 0 && live.tenants === undefined) {
    throw new PolicyError(
      'TENANTS_UNAVAILABLE',
      `the policy declares tenants (${sortedKeys(desiredTenants).join(', ')}) but this cluster client has no tenant API; nothing was applied`,
    );
  }
  const liveTenants = live.tenants ?? new Map<string, TenantSpec>();

  for (const id of sortedKeys(desiredTenants)) {
    const want = desiredTenants.get(id)!;
    const have = liveTenants.get(id);
    if (have === undefined) {
      ops.push({ op: 'tenantCreate', tenant: id, spec: want });
      continue;
    }
    if (want.status !== undefined && want.status !== have.status) ops.push({ op: 'tenantUpdate', tenant: id, field: 'status', from: have.status, to: want.status });
    for (const q of QUOTA_NAMES) {
      const to = want.quotas[q];
      if (to !== undefined && to !== have.quotas[q]) ops.push({ op: 'tenantUpdate', tenant: id, field: `quotas.${q}`, from: have.quotas[q], to });
    }
  }

  const missingExisting: PolicyIssue[] = [];
  const scopes = [CLUSTER_SCOPE, ...sortedKeys(desiredTenants)];
  for (const scope of scopes) {
    const want = desired.scopes.get(scope) ?? emptyScope();
    const have = live.scopes.get(scope) ?? emptyScope<LiveUser>();
    for (const role of sortedKeys(want.roles)) {
      const wantPerms = want.roles.get(role)!;
      const havePerms = have.roles.get(role);
      if (havePerms === undefined) ops.push({ op: 'roleAdd', scope, role });
      const current = havePerms ?? [];
      for (const p of wantPerms) {
        const same = current.find((q) => sameRange(p, q));
        if (same === undefined) ops.push({ op: 'permGrant', scope, role, perm: p });
        else if (same.permType !== p.permType) ops.push({ op: 'permGrant', scope, role, perm: p, from: same.permType });
      }
      for (const q of [...current].sort(comparePerms)) if (!wantPerms.some((p) => sameRange(p, q))) ops.push({ op: 'permRevoke', scope, role, perm: q });
    }
    for (const user of sortedKeys(want.users)) {
      const u = want.users.get(user)!;
      const h = have.users.get(user);
      if (h === undefined) {
        if (u.auth.kind === 'existing') {
          missingExisting.push({ ...u.at, path: 'auth.existing', message: `user ${qualified(scope, user)} does not exist, so it needs credentials: certificate: true, passwordFile or passwordEnv` });
          continue;
        }
        ops.push({ op: 'userAdd', scope, user, auth: u.auth });
      } else if (opts.rotatePasswords === true && (u.auth.kind === 'passwordFile' || u.auth.kind === 'passwordEnv')) {
        ops.push({ op: 'userPassword', scope, user, auth: u.auth });
      }
      const current = h?.roles ?? [];
      for (const r of u.roles) if (!current.includes(r)) ops.push({ op: 'userGrant', scope, user, role: r });
      for (const r of [...current].sort(compareStrings)) if (!u.roles.includes(r)) ops.push({ op: 'userRevoke', scope, user, role: r });
    }
  }
  if (missingExisting.length > 0) throw invalidPolicy(missingExisting);

  if (opts.prune === true) {
    for (const scope of scopes) {
      const want = desired.scopes.get(scope) ?? emptyScope();
      const have = live.scopes.get(scope);
      if (have === undefined) continue;
      const builtIn = (name: string): boolean => scope === CLUSTER_SCOPE && name === ROOT;
      for (const user of sortedKeys(have.users)) if (!want.users.has(user) && !builtIn(user)) ops.push({ op: 'userDelete', scope, user });
      for (const role of sortedKeys(have.roles)) if (!want.roles.has(role) && !builtIn(role)) ops.push({ op: 'roleDelete', scope, role });
    }
    for (const id of sortedKeys(liveTenants)) if (!desiredTenants.has(id)) ops.push({ op: 'tenantDelete', tenant: id });
  }
  return ops;
}

/**
 * Reads the password of every operation that sets one. Every source is read before anything is
 * executed; any that is missing refuses the whole plan (SECRET_UNAVAILABLE, naming user and source).
 */
export function withSecrets(ops: readonly PlanOp[], env: NodeJS.ProcessEnv): PlanOp[] {
  const problems: string[] = [];
  const out = ops.map((op) => {
    if (op.op !== 'userAdd' && op.op !== 'userPassword') return op;
    if (op.auth.kind !== 'passwordFile' && op.auth.kind !== 'passwordEnv') return op;
    const s = readSecret(op.auth, env);
    if (typeof s === 'string') {
      problems.push(`user ${qualified(op.scope, op.user)}: ${s}`);
      return op;
    }
    return { ...op, password: s };
  });
  if (problems.length > 0) throw secretsUnavailable(problems);
  return out;
}

function showValue(v: string | number | undefined): string {
  return v === undefined ? '(unset)' : String(v);
}

/** One diff line: `+` adds, `~` changes, `-` removes. Never shows a password. */
export function renderOp(op: PlanOp): string {
  switch (op.op) {
    case 'tenantCreate': {
      const parts = [...(op.spec.status === undefined ? [] : [`status ${op.spec.status}`]), ...QUOTA_NAMES.filter((q) => op.spec.quotas[q] !== undefined).map((q) => `quotas.${q} ${op.spec.quotas[q]}`)];
      return `+ tenant ${op.tenant}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`;
    }
    case 'tenantUpdate':
      return `~ tenant ${op.tenant} ${op.field} ${showValue(op.from)} -> ${showValue(op.to)}`;
    case 'tenantDelete':
      return `- tenant ${op.tenant}`;
    case 'roleAdd':
      return `+ role ${qualified(op.scope, op.role)}`;
    case 'permGrant':
      return op.from === undefined
        ? `+ role ${qualified(op.scope, op.role)} ${op.perm.permType} ${describeRange(op.perm)}`
        : `~ role ${qualified(op.scope, op.role)} ${describeRange(op.perm)} ${op.from} -> ${op.perm.permType}`;
    case 'permRevoke':
      return `- role ${qualified(op.scope, op.role)} ${op.perm.permType} ${describeRange(op.perm)}`;
    case 'userAdd':
      return `+ user ${qualified(op.scope, op.user)} (${describeSource(op.auth)})`;
    case 'userPassword':
      return `~ user ${qualified(op.scope, op.user)} password (${describeSource(op.auth)})`;
    case 'userGrant':
      return `+ user ${qualified(op.scope, op.user)} role ${op.role}`;
    case 'userRevoke':
      return `- user ${qualified(op.scope, op.user)} role ${op.role}`;
    case 'userDelete':
      return `- user ${qualified(op.scope, op.user)}`;
    case 'roleDelete':
      return `- role ${qualified(op.scope, op.role)}`;
  }
}

export function renderPlan(ops: readonly PlanOp[]): string {
  return ops.length === 0 ? 'no changes' : ops.map(renderOp).join('\n');
}

// The policy model: what the files declare (desired state) and what the cluster holds (live state),
// in one normalised shape so that planning is a comparison of two values.
//
// Scopes: every user and role belongs to the cluster (scope '') or to one tenant (scope = tenant
// id). A tenant role's permission keys are relative to the tenant's root; the tenant API
// translates them (the tenants module owns the mapping, "translation happens once at the edge").
//
// Permissions are normalised to etcd's (key, rangeEnd) pair, as the auth API stores them:
//   key: k              -> (k, "")          one key
//   prefix: p           -> (p, prefixEnd(p))
//   fromKey: k          -> (k, "\0")        every key from k on
//   key: a, rangeEnd: b -> (a, b)           [a, b)
// Keys are UTF-8 strings in files; live keys that are not valid UTF-8 cannot be exported.
import type { Permission, PermType } from '../wire/index.js';

export type { Permission, PermType };

export const PERM_TYPES: readonly PermType[] = ['READ', 'WRITE', 'READWRITE'];

export const QUOTA_NAMES = ['maxKeys', 'maxBytes', 'maxLeases', 'maxWatchers', 'maxStreams', 'maxRequestsPerSecond'] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];
/** Non-negative whole numbers, 0 = unlimited (src/tenants' rule). A quota a policy leaves out is not managed by it: the tenant keeps what it has. */
export type Quotas = Partial<Record<QuotaName, number>>;

export const TENANT_STATUSES = ['active', 'suspended'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

/** What a policy says about a tenant (and what a live tenant holds). Absent fields are unmanaged. */
export interface TenantSpec {
  status?: TenantStatus;
  quotas: Quotas;
}

export interface TenantRecord extends TenantSpec {
  id: string;
}

/** The cluster's own users and roles. */
export const CLUSTER_SCOPE = '';

/** Where a user's password comes from. The password itself is never in a policy. */
export type AuthSource =
  | { kind: 'certificate' }
  | { kind: 'passwordFile'; path: string }
  | { kind: 'passwordEnv'; name: string }
  /** The user already exists with credentials managed elsewhere (what export writes: the cluster does not reveal how a user logs in). */
  | { kind: 'existing' };

/** A position in a policy file, for messages. */
export interface SourceLoc {
  file: string;
  line: number;
  col: number;
}

export const showLoc = (l: SourceLoc): string => `${l.file}:${l.line}:${l.col}`;

export interface ScopeState<U> {
  /** Role name -> its permissions, sorted (see comparePerms). */
  roles: Map<string, Permission[]>;
  users: Map<string, U>;
}

export interface LiveUser {
  roles: string[];
}

export interface DesiredUser extends LiveUser {
  auth: AuthSource;
  at: SourceLoc;
}

export interface State<U> {
  /** undefined: the cluster offers no tenant API, so tenants are neither read nor managed. */
  tenants: Map<string, TenantSpec> | undefined;
  /** CLUSTER_SCOPE and tenant ids -> that scope's users and roles. */
  scopes: Map<string, ScopeState<U>>;
}

export type LiveSnapshot = State<LiveUser>;
export type DesiredState = State<DesiredUser>;

/** Built-in role of the cluster scope: never declared, never changed, never pruned (etcd's root has every permission). */
export const ROOT = 'root';

export function emptyScope<U>(): ScopeState<U> {
  return { roles: new Map(), users: new Map() };
}

/** `acme/readers` for a tenant's role, `readers` for the cluster's. */
export function qualified(scope: string, name: string): string {
  return scope === CLUSTER_SCOPE ? name : `${scope}/${name}`;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => compareBytes(a, b) === 0;

/** By key, then range end: the order etcd lists a role's permissions in. */
export function comparePerms(a: Permission, b: Permission): number {
  return compareBytes(a.key, b.key) || compareBytes(a.rangeEnd, b.rangeEnd);
}

export const sameRange = (a: Permission, b: Permission): boolean => equalBytes(a.key, b.key) && equalBytes(a.rangeEnd, b.rangeEnd);

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// The auth table: users, roles and the auth store's bookkeeping, in three sub-databases of the
// member's state environment (so auth changes commit with the applied index, like leases).
//
//   auth.users  UTF-8 user name → {"v":1,"roles":[…sorted],"noPassword":b,"passwordHash"?:s,"credentialRevision":n}
//   auth.roles  UTF-8 role name → {"v":1,"perms":[{"t":"READ"|"WRITE"|"READWRITE","k":b64,"e":b64}…]}
//   auth.meta   "state"         → {"v":1,"enabled":b,"revision":n,"enabledRevision":n}
//
// Encoding: versioned JSON. These records are small and written only by auth management (rare),
// so size and speed do not matter; JSON keeps them readable in a dump, lets a later version add a
// field (a tenant, user options) without a new byte layout, and "v" lets a migration tell formats
// apart. Only password HASHES are stored (argon2id encoded strings), never passwords.
//
// Invariants: a user's roles are sorted (UTF-8 byte order, Go's sort.Strings) and unique; a role's
// perms are sorted by (key, rangeEnd) and unique in (key, rangeEnd); revision() counts applied
// changes (0 for a fresh store); enabledRevision() is the revision of the last enable (0 = never
// enabled). Worked example (revision after each op):
//   userAdd root (noPassword)   1   users{root: [] cred 1}
//   roleAdd root                2   roles{root: []}
//   userGrantRole root root     3   users{root: [root] cred 3}
//   enable                      4   enabled, enabledRevision 4
//   userGrantRole root root     4   (already granted: a no-op, no revision)
//   disable                     5   disabled, enabledRevision stays 4
//
// Names are internal names (names.ts): a tenant's users and roles are "<tenant>\0<name>".
//
// Reads outside a transaction see the last committed state; inside an apply batch (through the
// same Storage) they see the batch's earlier writes. Writes happen only inside an apply batch's
// transaction (ops.ts).
import { compareBytes } from '../adt/index.js';
import { ReadCache, SUB_DBS, type Storage, type Table, type WriteTxn } from '../storage/index.js';
import { TENANT_SEPARATOR, tenantOfName } from './names.js';

export type PermType = 'READ' | 'WRITE' | 'READWRITE';

/** `[key, rangeEnd)`; rangeEnd empty = the single key; rangeEnd [0x00] = every key >= key. */
export interface Permission {
  permType: PermType;
  key: Uint8Array;
  rangeEnd: Uint8Array;
}

export interface UserRecord {
  name: string;
  /** Sorted, unique. */
  roles: string[];
  noPassword: boolean;
  /** argon2id encoded hash; absent for noPassword users. */
  passwordHash?: string;
  /** Auth revision of the user's creation, last password change, or last role grant/revoke. */
  credentialRevision: number;
}

export interface RoleRecord {
  name: string;
  /** Sorted by key (then rangeEnd), as etcd lists them. */
  perms: Permission[];
}

export interface AuthMeta {
  enabled: boolean;
  revision: number;
  enabledRevision: number;
}

/** Longest user or role name, in UTF-8 bytes (etcd has none; LMDB keys stop at 1978 bytes). */
export const MAX_NAME_BYTES = 512;

export const ROOT = 'root';

const VERSION = 1;
const META_KEY = new TextEncoder().encode('state');
const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });
const PERM_TYPES: readonly PermType[] = ['READ', 'WRITE', 'READWRITE'];

/** Go's sort.Strings order: UTF-8 bytes (JS's default sort compares UTF-16 code units). */
export function compareNames(a: string, b: string): number {
  return compareBytes(te.encode(a), te.encode(b));
}

export function comparePerms(a: Permission, b: Permission): number {
  return compareBytes(a.key, b.key) || compareBytes(a.rangeEnd, b.rangeEnd);
}

/** The LMDB key of a name, or undefined when no record can have that name. */
function nameKey(name: string): Uint8Array | undefined {
  if (name.length === 0) return undefined;
  const k = te.encode(name);
  if (k.byteLength > MAX_NAME_BYTES) return undefined;
  // A lone surrogate would be stored as U+FFFD and so collide with another name: not storable.
  return td.decode(k) === name ? k : undefined;
}

export function validName(name: string): boolean {
  return nameKey(name) !== undefined;
}

const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));

function corrupt(what: string): never {
  throw new Error(`auth: corrupt ${what}`);
}

function parse(buf: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(td.decode(buf));
  } catch {
    return corrupt(what);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return corrupt(what);
  const o = v as Record<string, unknown>;
  if (o['v'] !== VERSION) corrupt(what);
  return o;
}

const isRev = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

function encodeUser(u: UserRecord): Uint8Array {
  const o: Record<string, unknown> = { v: VERSION, roles: u.roles, noPassword: u.noPassword };
  if (u.passwordHash !== undefined) o['passwordHash'] = u.passwordHash;
  o['credentialRevision'] = u.credentialRevision;
  return te.encode(JSON.stringify(o));
}

function decodeUser(name: string, buf: Uint8Array): UserRecord {
  const what = `user record of ${JSON.stringify(name)}`;
  const o = parse(buf, what);
  const { roles, noPassword, passwordHash, credentialRevision } = o;
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) corrupt(what);
  if (typeof noPassword !== 'boolean' || !isRev(credentialRevision)) corrupt(what);
  if (passwordHash !== undefined && typeof passwordHash !== 'string') corrupt(what);
  const rec: UserRecord = { name, roles: roles as string[], noPassword, credentialRevision };
  if (passwordHash !== undefined) rec.passwordHash = passwordHash;
  return rec;
}

function encodeRole(r: RoleRecord): Uint8Array {
  const perms = r.perms.map((p) => ({ t: p.permType, k: b64(p.key), e: b64(p.rangeEnd) }));
  return te.encode(JSON.stringify({ v: VERSION, perms }));
}

function decodeRole(name: string, buf: Uint8Array): RoleRecord {
  const what = `role record of ${JSON.stringify(name)}`;
  const o = parse(buf, what);
  const perms = o['perms'];
  if (!Array.isArray(perms)) return corrupt(what);
  return {
    name,
    perms: perms.map((p: unknown): Permission => {
      if (typeof p !== 'object' || p === null) return corrupt(what);
      const { t, k, e } = p as Record<string, unknown>;
      if (!PERM_TYPES.includes(t as PermType) || typeof k !== 'string' || typeof e !== 'string') corrupt(what);
      return { permType: t as PermType, key: unb64(k as string), rangeEnd: unb64(e as string) };
    }),
  };
}

function decodeMeta(buf: Uint8Array): AuthMeta {
  const o = parse(buf, 'auth meta record');
  const { enabled, revision, enabledRevision } = o;
  if (typeof enabled !== 'boolean' || !isRev(revision) || !isRev(enabledRevision)) corrupt('auth meta record');
  return { enabled, revision, enabledRevision };
}

const FRESH: AuthMeta = { enabled: false, revision: 0, enabledRevision: 0 };

/** Most unknown names remembered between writes (clients choose the names they ask about). */
const MAX_CACHED_MISSES = 1024;

/** Freezes a decoded record and the arrays and objects inside it (records are shared from the cache). */
function deepFreeze<T extends object>(o: T): T {
  // Typed arrays (permission keys) cannot be frozen; nothing in auth writes into them.
  for (const v of Object.values(o)) if (typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}

export class AuthTable {
  private readonly users: Table;
  private readonly roles: Table;
  private readonly meta: Table;
  // Decoded records between writes: every request's authorization reads the meta record and its
  // user (twice for a write: edge and apply); decoding them from LMDB each time was measured at
  // ~20 µs per request in the secure bench. Records handed out are frozen (shared).
  private readonly cache = new ReadCache();
  private readonly metaOf = this.cache.map<0, AuthMeta>();
  private readonly userOf = this.cache.map<string, UserRecord>(MAX_CACHED_MISSES);
  private readonly roleOf = this.cache.map<string, RoleRecord>(MAX_CACHED_MISSES);

  constructor(storage: Storage) {
    this.users = storage.table(SUB_DBS.authUsers);
    this.roles = storage.table(SUB_DBS.authRoles);
    this.meta = storage.table(SUB_DBS.authMeta);
  }

  state(): AuthMeta {
    return this.metaOf(0, () => {
      const buf = this.meta.get(META_KEY);
      return Object.freeze(buf === undefined ? { ...FRESH } : decodeMeta(buf));
    })!;
  }

  /** The writes up to writeEpoch() `upTo` (default: all) are committed (see ReadCache.committed). */
  committed(upTo?: number): void {
    this.cache.committed(upTo);
  }

  /** The tables were written behind this instance's back (a restored snapshot): forget what was read. */
  invalidate(): void {
    this.cache.invalidate();
  }

  enabled(): boolean {
    return this.state().enabled;
  }

  /** The auth revision: +1 on every change that applied (refusals and no-ops leave it). */
  revision(): number {
    return this.state().revision;
  }

  /** The auth revision of the last enable (0: never enabled). Tokens issued before it are dead. */
  enabledRevision(): number {
    return this.state().enabledRevision;
  }

  /**
   * Counts this instance's writes, committed or not. The checker keys its cache on it as well as
   * on revision(), so a batch that wrote and then rolled back cannot leave a cache built from
   * state that never committed. (Use ONE AuthTable per Storage for this to hold.)
   */
  writeEpoch(): number {
    return this.cache.writeEpoch();
  }

  getUser(name: string): UserRecord | undefined {
    return this.userOf(name, () => {
      const k = nameKey(name);
      const buf = k === undefined ? undefined : this.users.get(k);
      return buf === undefined ? undefined : deepFreeze(decodeUser(name, buf));
    });
  }

  /** User names, sorted (byte order, as etcd lists them). */
  listUsers(): string[] {
    return [...this.users.keys()].map((k) => td.decode(k));
  }

  /** Every user record, in name order. */
  allUsers(): UserRecord[] {
    return [...this.users.range()].map(({ key, value }) => decodeUser(td.decode(key), value));
  }

  /**
   * The internal names of one scope's users, sorted: the cluster's (undefined; names without a
   * NUL) or a tenant's (the range [T‖NUL, T‖U+0001) of the table, names.ts).
   */
  scopeUsers(tenant: string | undefined): string[] {
    return scopeNames(this.users, tenant);
  }

  /** As scopeUsers, for roles. */
  scopeRoles(tenant: string | undefined): string[] {
    return scopeNames(this.roles, tenant);
  }

  hasUsers(): boolean {
    return this.users.count() > 0;
  }

  getRole(name: string): RoleRecord | undefined {
    return this.roleOf(name, () => {
      const k = nameKey(name);
      const buf = k === undefined ? undefined : this.roles.get(k);
      return buf === undefined ? undefined : deepFreeze(decodeRole(name, buf));
    });
  }

  /** Role names, sorted. */
  listRoles(): string[] {
    return [...this.roles.keys()].map((k) => td.decode(k));
  }

  // ---- writes: only inside an apply batch's transaction (ops.ts) --------------------------------

  putUser(txn: WriteTxn, u: UserRecord): void {
    this.cache.wrote();
    txn.put(this.users, mustKey(u.name), encodeUser(u));
  }

  removeUser(txn: WriteTxn, name: string): void {
    this.cache.wrote();
    txn.remove(this.users, mustKey(name));
  }

  putRole(txn: WriteTxn, r: RoleRecord): void {
    this.cache.wrote();
    txn.put(this.roles, mustKey(r.name), encodeRole(r));
  }

  removeRole(txn: WriteTxn, name: string): void {
    this.cache.wrote();
    txn.remove(this.roles, mustKey(name));
  }

  putState(txn: WriteTxn, m: AuthMeta): void {
    this.cache.wrote();
    txn.put(this.meta, META_KEY, te.encode(JSON.stringify({ v: VERSION, ...m })));
  }
}

function scopeNames(t: Table, tenant: string | undefined): string[] {
  if (tenant === undefined) return [...t.keys()].map((k) => td.decode(k)).filter((n) => tenantOfName(n) === undefined);
  const gte = te.encode(`${tenant}${TENANT_SEPARATOR}`);
  const lt = gte.slice();
  lt[lt.length - 1] = 1;
  return [...t.keys({ gte, lt })].map((k) => td.decode(k));
}

function mustKey(name: string): Uint8Array {
  const k = nameKey(name);
  if (k === undefined) throw new TypeError(`auth: ${JSON.stringify(name.slice(0, 64))} is not a storable name`);
  return k;
}

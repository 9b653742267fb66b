// Reading a policy directory: every `*.yaml` / `*.yml` file under it (subdirectories included, in
// path order), each a stream of YAML documents, each document one Tenant, Role or User.
//
// Validation walks the YAML syntax tree itself rather than a converted JavaScript value, so every
// message can point at the node it is about (file:line:column, 1-based) and say where in the
// document that node is (`permissions[0].permType`). Every problem in every file is collected
// before anything is refused: one run shows all of them, and a policy with any problem is refused
// whole (the caller plans and applies nothing).
//
// Values under `auth` are never repeated in a message: someone may have pasted a password where a
// file name or variable name belongs.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode, type Pair } from 'yaml';
import { invalidPolicy, PolicyError, type PolicyIssue } from './errors.js';
import {
  CLUSTER_SCOPE,
  comparePerms,
  emptyScope,
  PERM_TYPES,
  QUOTA_NAMES,
  qualified,
  ROOT,
  sameRange,
  showLoc,
  TENANT_STATUSES,
  type AuthSource,
  type DesiredState,
  type DesiredUser,
  type Permission,
  type PermType,
  type Quotas,
  type SourceLoc,
  type TenantSpec,
  type TenantStatus,
} from './model.js';
import { permFromDoc, type PermDoc } from './perms.js';

// Tenant IDs: the rule of src/tls/names.ts (a tenant is named in certificates, so a policy may
// declare only what can be issued). Repeated here because policy may import only client and wire;
// test/policy/schema.test.ts holds the two rules to the same answers.
export const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// User and role names: src/tls/names.ts's rule for names we issue certificates to (1-64 of
// A-Z a-z 0-9 . _ - @, starting and ending with a letter or digit, no `..`), so every policy user can
// be given a certificate and every name prints unambiguously in a diff line (no `/`, no spaces).
export const NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_@-]|\.(?!\.))*$/;
const NAME_END = /[A-Za-z0-9]$/;
export const isPolicyName = (s: string): boolean => s.length <= 64 && NAME.test(s) && NAME_END.test(s);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Lists the policy files of a directory, relative paths in sorted order. */
export function policyFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml') || name.endsWith('.yml')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** One file's text, by the name messages should use for it. */
export interface PolicySource {
  file: string;
  text: string;
}

/** Reads and validates a directory. Throws PolicyError INVALID_POLICY listing every problem. */
export function loadPolicyDir(dir: string): DesiredState {
  let files: string[];
  try {
    files = policyFiles(dir);
  } catch (e) {
    throw new PolicyError('INVALID_POLICY', `cannot read policy directory ${dir} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  // An empty directory is almost always a wrong path, and with prune it would delete everything.
  if (files.length === 0) throw new PolicyError('INVALID_POLICY', `${dir} holds no policy files (*.yaml, *.yml); nothing was applied`);
  return parsePolicy(files.map((file) => ({ file, text: readFileSync(file, 'utf8') })));
}

// ---------------------------------------------------------------------------------------------

interface Located<T> {
  value: T;
  at: SourceLoc;
}

interface TenantDoc {
  kind: 'Tenant';
  id: Located<string>;
  spec: TenantSpec;
}
interface RoleDoc {
  kind: 'Role';
  name: Located<string>;
  tenant: Located<string> | undefined;
  perms: Permission[];
}
interface UserDoc {
  kind: 'User';
  name: Located<string>;
  tenant: Located<string> | undefined;
  auth: AuthSource;
  roles: Located<string>[];
}
type Doc = TenantDoc | RoleDoc | UserDoc;

const sub = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);
const idx = (path: string, i: number): string => `${path}[${i}]`;

/** Validation of one file: positions come from its LineCounter. */
class FileCheck {
  readonly lc = new LineCounter();
  constructor(
    readonly file: string,
    private readonly issues: PolicyIssue[],
  ) {}

  loc(node: YamlNode | null | undefined, fallback = 0): SourceLoc {
    const { line, col } = this.lc.linePos(node?.range?.[0] ?? fallback);
    return { file: this.file, line, col };
  }

  issue(node: YamlNode | null | undefined, path: string, message: string, fallback = 0): undefined {
    this.issues.push({ ...this.loc(node, fallback), path, message });
    return undefined;
  }

  /** A mapping's entries by key; unknown keys are reported at the key. */
  fields(node: YamlNode | null | undefined, path: string, allowed: readonly string[], fallback = 0): Map<string, Pair<YamlNode, YamlNode | null>> | undefined {
    if (!isMap(node)) return this.issue(node, path, `expected a mapping, got ${kindOf(node, false)}`, fallback);
    const out = new Map<string, Pair<YamlNode, YamlNode | null>>();
    for (const pair of node.items as Pair<YamlNode, YamlNode | null>[]) {
      const k = pair.key;
      if (!isScalar(k) || typeof k.value !== 'string') {
        this.issue(k, path, 'keys must be plain strings');
        continue;
      }
      if (!allowed.includes(k.value)) {
        this.issue(k, sub(path, k.value), `unknown key (expected ${list(allowed)})`);
        continue;
      }
      out.set(k.value, pair);
    }
    return out;
  }

  /** A field's value node (undefined, reported, when required and absent). */
  value(m: Map<string, Pair<YamlNode, YamlNode | null>>, key: string, at: YamlNode, path: string, required: boolean): YamlNode | null | undefined {
    const pair = m.get(key);
    if (pair === undefined) return required ? this.issue(at, path, `missing ${key}`) : undefined;
    // `key:` with nothing after it: report at the key.
    return pair.value ?? null;
  }

  string(node: YamlNode | null, path: string, echo: boolean, keyAt?: YamlNode): string | undefined {
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    return this.issue(node ?? keyAt, path, `expected a string, got ${kindOf(node, echo)}`);
  }
}

function kindOf(node: YamlNode | null | undefined, echo: boolean): string {
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return 'an alias';
  if (isScalar(node)) {
    const v = node.value;
    const t = typeof v === 'string' ? 'string' : typeof v === 'number' || typeof v === 'bigint' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'a value';
    return echo ? `${t} ${JSON.stringify(typeof v === 'bigint' ? String(v) : v)}` : t === 'a value' ? t : `a ${t}`;
  }
  return 'a value';
}

const list = (xs: readonly string[]): string => (xs.length === 1 ? xs[0]! : `${xs.slice(0, -1).join(', ')} or ${xs.at(-1)!}`);

/** Parses and validates every file; all problems of all files, or the desired state. */
export function parsePolicy(sources: readonly PolicySource[]): DesiredState {
  const issues: PolicyIssue[] = [];
  const docs: Doc[] = [];
  for (const src of sources) docs.push(...parseFile(src, issues));
  const state = assemble(docs, issues);
  if (issues.length > 0) throw invalidPolicy(issues);
  return state;
}

function parseFile(src: PolicySource, issues: PolicyIssue[]): Doc[] {
  const fc = new FileCheck(src.file, issues);
  const out: Doc[] = [];
  // prettyErrors off: the message stays one line and the position comes from the LineCounter.
  const stream = parseAllDocuments(src.text, { lineCounter: fc.lc, prettyErrors: false });
  for (const doc of stream) {
    let broken = false;
    for (const e of [...doc.errors, ...doc.warnings]) {
      fc.issue(null, '', `YAML: ${e.message}`, e.pos[0]);
      broken = true;
    }
    if (broken) continue;
    const root = doc.contents as YamlNode | null;
    if (root === null || (isScalar(root) && root.value === null)) continue; // an empty document (a trailing `---`)
    const d = checkDoc(fc, root, doc.range[0]);
    if (d !== undefined) out.push(d);
  }
  return out;
}

const DOC_KEYS = { Tenant: ['kind', 'id', 'status', 'quotas'], Role: ['kind', 'name', 'tenant', 'permissions'], User: ['kind', 'name', 'tenant', 'auth', 'roles'] } as const;
type Kind = keyof typeof DOC_KEYS;
const KINDS = Object.keys(DOC_KEYS) as Kind[];

function checkDoc(fc: FileCheck, root: YamlNode, start: number): Doc | undefined {
  if (!isMap(root)) return fc.issue(root, '', `a policy document is a mapping with a kind (${list(KINDS)}), got ${kindOf(root, false)}`, start);
  const kindNode = root.get('kind', true) as YamlNode | undefined;
  if (kindNode === undefined) return fc.issue(root, '', `missing kind (${list(KINDS)})`);
  const kind = isScalar(kindNode) ? kindNode.value : undefined;
  if (typeof kind !== 'string' || !KINDS.includes(kind as Kind)) return fc.issue(kindNode, 'kind', `expected ${list(KINDS)}, got ${kindOf(kindNode, true)}`);
  const m = fc.fields(root, '', DOC_KEYS[kind as Kind]);
  if (m === undefined) return undefined;
  switch (kind as Kind) {
    case 'Tenant':
      return checkTenant(fc, root, m);
    case 'Role':
      return checkRole(fc, root, m);
    case 'User':
      return checkUser(fc, root, m);
  }
}

type Fields = Map<string, Pair<YamlNode, YamlNode | null>>;

function located(fc: FileCheck, m: Fields, key: string, at: YamlNode, path: string, required: boolean, rule: (s: string) => string | undefined): Located<string> | undefined {
  const v = fc.value(m, key, at, path, required);
  if (v === undefined) return undefined;
  const s = fc.string(v, sub(path, key), true, m.get(key)?.key);
  if (s === undefined) return undefined;
  const node = v ?? m.get(key)!.key;
  const bad = rule(s);
  if (bad !== undefined) return fc.issue(node, sub(path, key), bad);
  return { value: s, at: fc.loc(node) };
}

const tenantRule = (s: string): string | undefined =>
  TENANT_ID.test(s) ? undefined : `tenant id ${JSON.stringify(s)} is not accepted: 1-63 characters of a-z 0-9 and inner '-'`;
const nameRule =
  (what: string) =>
  (s: string): string | undefined =>
    isPolicyName(s) ? undefined : `${what} name ${JSON.stringify(s)} is not accepted: 1-64 characters of A-Z a-z 0-9 . _ - @, starting and ending with a letter or digit`;

function checkTenant(fc: FileCheck, root: YamlNode, m: Fields): TenantDoc | undefined {
  const id = located(fc, m, 'id', root, '', true, tenantRule);
  const spec: TenantSpec = { quotas: {} };
  const statusNode = fc.value(m, 'status', root, '', false);
  if (statusNode !== undefined) {
    const s = fc.string(statusNode, 'status', true, m.get('status')?.key);
    if (s !== undefined) {
      if (TENANT_STATUSES.includes(s as TenantStatus)) spec.status = s as TenantStatus;
      else fc.issue(statusNode, 'status', `expected ${list(TENANT_STATUSES)}, got ${kindOf(statusNode, true)}`);
    }
  }
  const quotasNode = fc.value(m, 'quotas', root, '', false);
  if (quotasNode !== undefined) {
    const q = fc.fields(quotasNode, 'quotas', QUOTA_NAMES, m.get('quotas')!.key.range?.[0]);
    if (q !== undefined) {
      const quotas: Quotas = {};
      for (const name of QUOTA_NAMES) {
        const pair = q.get(name);
        if (pair === undefined) continue;
        const v = pair.value;
        const n = isScalar(v) ? v.value : undefined;
        // The tenants module's rule: a non-negative safe integer, 0 meaning unlimited.
        if (typeof n === 'number' && Number.isSafeInteger(n) && n >= 0) quotas[name] = n;
        else fc.issue(v ?? pair.key, `quotas.${name}`, `expected a whole number (0 = unlimited), got ${kindOf(v, true)}`);
      }
      spec.quotas = quotas;
    }
  }
  return id === undefined ? undefined : { kind: 'Tenant', id, spec };
}

function checkRole(fc: FileCheck, root: YamlNode, m: Fields): RoleDoc | undefined {
  const name = located(fc, m, 'name', root, '', true, (s) => (s === ROOT ? 'role root is built in and cannot be declared' : nameRule('role')(s)));
  const tenant = located(fc, m, 'tenant', root, '', false, tenantRule);
  const perms: Permission[] = [];
  const where: SourceLoc[] = [];
  const permsNode = fc.value(m, 'permissions', root, '', false);
  if (permsNode !== undefined) {
    if (!isSeq(permsNode)) fc.issue(permsNode ?? m.get('permissions')!.key, 'permissions', `expected a list, got ${kindOf(permsNode, false)}`);
    else {
      permsNode.items.forEach((item, i) => {
        const p = checkPerm(fc, item as YamlNode | null, idx('permissions', i), permsNode.range?.[0] ?? 0);
        if (p === undefined) return;
        const at = fc.loc(item as YamlNode);
        const dup = perms.findIndex((q) => sameRange(q, p));
        if (dup >= 0) fc.issue(item as YamlNode, idx('permissions', i), `the same range is granted twice (first at ${showLoc(where[dup]!)}); give it once with the type it should have`);
        else {
          perms.push(p);
          where.push(at);
        }
      });
    }
  }
  if (name === undefined || (m.has('tenant') && tenant === undefined)) return undefined;
  return { kind: 'Role', name, tenant, perms: perms.sort(comparePerms) };
}

const RANGE_KEYS = ['key', 'prefix', 'fromKey'] as const;

function checkPerm(fc: FileCheck, node: YamlNode | null, path: string, fallback: number): Permission | undefined {
  const m = fc.fields(node, path, ['permType', ...RANGE_KEYS, 'rangeEnd'], fallback);
  if (m === undefined) return undefined;
  const at = node!;
  let ok = true;
  let permType: PermType | undefined;
  const t = fc.value(m, 'permType', at, path, true);
  if (t === undefined) ok = false;
  else if (isScalar(t) && PERM_TYPES.includes(t.value as PermType)) permType = t.value as PermType;
  else ok = fc.issue(t ?? m.get('permType')!.key, sub(path, 'permType'), `expected ${list(PERM_TYPES)}, got ${kindOf(t, true)}`) ?? false;
  const given = RANGE_KEYS.filter((k) => m.has(k));
  if (given.length !== 1) {
    const node2 = given.length > 1 ? m.get(given[1]!)!.key : at;
    return fc.issue(node2, path, `give exactly one of key, prefix or fromKey${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`);
  }
  const which = given[0]!;
  const keyNode = m.get(which)!.value;
  const key = fc.string(keyNode, sub(path, which), true, m.get(which)!.key);
  if (key === undefined) return undefined;
  if (which === 'key' && key === '') return fc.issue(keyNode, sub(path, 'key'), 'a key cannot be empty (for every key give fromKey: "")');
  let rangeEnd: string | undefined;
  if (m.has('rangeEnd')) {
    const endNode = m.get('rangeEnd')!.value;
    if (which !== 'key') return fc.issue(m.get('rangeEnd')!.key, sub(path, 'rangeEnd'), `rangeEnd goes with key, not with ${which}`);
    rangeEnd = fc.string(endNode, sub(path, 'rangeEnd'), true, m.get('rangeEnd')!.key);
    if (rangeEnd === undefined) return undefined;
    if (!(Buffer.compare(Buffer.from(rangeEnd), Buffer.from(key)) > 0)) return fc.issue(endNode, sub(path, 'rangeEnd'), 'rangeEnd must come after key (byte order); for one key leave rangeEnd out');
  }
  if (!ok || permType === undefined) return undefined;
  const doc: PermDoc = which === 'key' ? (rangeEnd === undefined ? { permType, key } : { permType, key, rangeEnd }) : which === 'prefix' ? { permType, prefix: key } : { permType, fromKey: key };
  return permFromDoc(doc);
}

const AUTH_KEYS = ['certificate', 'passwordFile', 'passwordEnv', 'existing'] as const;

function checkUser(fc: FileCheck, root: YamlNode, m: Fields): UserDoc | undefined {
  const name = located(fc, m, 'name', root, '', true, nameRule('user'));
  const tenant = located(fc, m, 'tenant', root, '', false, tenantRule);
  const auth = checkAuth(fc, fc.value(m, 'auth', root, '', true), m.get('auth')?.key);
  const roles: Located<string>[] = [];
  const rolesNode = fc.value(m, 'roles', root, '', false);
  if (rolesNode !== undefined) {
    if (!isSeq(rolesNode)) fc.issue(rolesNode ?? m.get('roles')!.key, 'roles', `expected a list of role names, got ${kindOf(rolesNode, false)}`);
    else
      rolesNode.items.forEach((item, i) => {
        const s = fc.string(item as YamlNode | null, idx('roles', i), true);
        if (s === undefined) return;
        const dup = roles.find((r) => r.value === s);
        if (dup !== undefined) fc.issue(item as YamlNode, idx('roles', i), `role ${s} is listed twice (first at ${showLoc(dup.at)})`);
        else roles.push({ value: s, at: fc.loc(item as YamlNode) });
      });
  }
  if (name === undefined || auth === undefined || (m.has('tenant') && tenant === undefined)) return undefined;
  return { kind: 'User', name, tenant, auth, roles };
}

function checkAuth(fc: FileCheck, node: YamlNode | null | undefined, keyAt: YamlNode | undefined): AuthSource | undefined {
  if (node === undefined) return undefined;
  // An inline password gets its own message (and never an echo): the one mistake this format exists to prevent.
  if (isMap(node) && node.has('password')) {
    const k = (node.items as Pair<YamlNode, YamlNode | null>[]).find((p) => isScalar(p.key) && p.key.value === 'password')!.key;
    return fc.issue(k, 'auth.password', 'passwords are never written in a policy: use passwordFile (a file holding it) or passwordEnv (an environment variable)');
  }
  const m = fc.fields(node, 'auth', AUTH_KEYS, keyAt?.range?.[0]);
  if (m === undefined) return undefined;
  const given = AUTH_KEYS.filter((k) => m.has(k));
  if (given.length !== 1) {
    return fc.issue(given.length > 1 ? m.get(given[1]!)!.key : node, 'auth', `give exactly one of certificate: true, passwordFile, passwordEnv or existing: true${given.length > 1 ? ` (got ${given.join(' and ')})` : ''}`);
  }
  const k = given[0]!;
  const pair = m.get(k)!;
  const v = pair.value;
  const path = `auth.${k}`;
  switch (k) {
    case 'certificate':
    case 'existing':
      if (isScalar(v) && v.value === true) return { kind: k };
      return fc.issue(v ?? pair.key, path, `expected true, got ${kindOf(v, false)}`);
    case 'passwordFile': {
      const s = fc.string(v, path, false, pair.key);
      if (s === undefined) return undefined;
      if (s === '') return fc.issue(v, path, 'the file name is empty');
      // Relative to the policy file that names it, so a policy directory can be moved as a whole.
      return { kind: 'passwordFile', path: isAbsolute(s) ? s : join(dirname(fc.file), s) };
    }
    case 'passwordEnv': {
      const s = fc.string(v, path, false, pair.key);
      if (s === undefined) return undefined;
      if (!ENV_NAME.test(s)) return fc.issue(v, path, 'expected an environment variable name (letters, digits and _, not starting with a digit)');
      return { kind: 'passwordEnv', name: s };
    }
  }
}

/** Cross-document rules: one definition per tenant, role and user; references resolve. */
function assemble(docs: Doc[], issues: PolicyIssue[]): DesiredState {
  const state: DesiredState = { tenants: new Map(), scopes: new Map([[CLUSTER_SCOPE, emptyScope<DesiredUser>()]]) };
  const seen = new Map<string, SourceLoc>();
  const once = (what: string, l: Located<string>, label: string): boolean => {
    const first = seen.get(what);
    if (first !== undefined) {
      issues.push({ ...l.at, path: label, message: `${what} is defined twice (also at ${showLoc(first)})` });
      return false;
    }
    seen.set(what, l.at);
    return true;
  };
  const tenants = new Map<string, TenantSpec>();
  for (const d of docs) if (d.kind === 'Tenant' && once(`tenant ${d.id.value}`, d.id, 'id')) tenants.set(d.id.value, d.spec);
  for (const [id, spec] of [...tenants].sort(([a], [b]) => (a < b ? -1 : 1))) {
    state.tenants!.set(id, spec);
    state.scopes.set(id, emptyScope());
  }
  const scopeOf = (t: Located<string> | undefined): string | undefined => {
    if (t === undefined) return CLUSTER_SCOPE;
    if (tenants.has(t.value)) return t.value;
    issues.push({ ...t.at, path: 'tenant', message: `tenant ${t.value} is not declared in this policy (add a document with kind: Tenant and id: ${t.value})` });
    return undefined;
  };
  for (const d of docs) {
    if (d.kind !== 'Role') continue;
    const scope = scopeOf(d.tenant);
    if (scope === undefined || !once(`role ${qualified(scope, d.name.value)}`, d.name, 'name')) continue;
    state.scopes.get(scope)!.roles.set(d.name.value, d.perms);
  }
  for (const d of docs) {
    if (d.kind !== 'User') continue;
    const scope = scopeOf(d.tenant);
    if (scope === undefined || !once(`user ${qualified(scope, d.name.value)}`, d.name, 'name')) continue;
    const s = state.scopes.get(scope)!;
    d.roles.forEach((r, i) => {
      if (s.roles.has(r.value) || (scope === CLUSTER_SCOPE && r.value === ROOT)) return;
      const where = scope === CLUSTER_SCOPE ? 'the cluster (no tenant)' : `tenant ${scope}`;
      issues.push({ ...r.at, path: idx('roles', i), message: `role ${r.value} is not declared for ${where}` });
    });
    s.users.set(d.name.value, { auth: d.auth, roles: d.roles.map((r) => r.value).sort(), at: d.name.at });
  }
  return state;
}

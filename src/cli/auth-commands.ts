import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { AuthClient, type ClientOptions } from '../client/index.js';
import {
  bytesFromString,
  bytesToString,
  encodeAuthHeaderResponse,
  encodeAuthRoleGetResponse,
  encodeAuthRoleListResponse,
  encodeAuthStatusResponse,
  encodeAuthUserGetResponse,
  encodeAuthUserListResponse,
  prefixEnd,
  type AuthRoleGetResponse,
  type PermType,
} from '../wire/index.js';
import { UsageError, type Output } from './kv-commands.js';

// etcdctl-like auth commands: auth enable|disable|status, user add|get|list|delete|passwd|
// grant-role|revoke-role, role add|get|list|delete|grant-permission|revoke-permission, and the
// global `--user name[:password]` / `--password` login. Simple output follows etcdctl 3.4 line for
// line (observed); `auth status` is etcd 3.5's. `-w json` prints each response as the HTTP/JSON API
// returns it (etcdctl 3.4 prints its gRPC structs instead, and plain text for auth enable/disable).
// Argument errors carry etcdctl's texts as UsageErrors.
//
// Passwords: taken from NAME:PASSWORD, --new-user-password, a no-echo prompt on a terminal (twice,
// compared, as etcdctl), else the first line of stdin. They are never printed or put in an error.

// ---------------------------------------------------------------------------------------------
// Password input

/** Where passwords come from when not given on the command line. Injectable for tests. */
export interface PasswordInput {
  /** True when a person can be asked (stdin is a terminal). */
  readonly interactive: boolean;
  /** Asks on the terminal without echo. */
  ask(prompt: string): Promise<string>;
  /** The first line of stdin, without its line ending. */
  line(): Promise<string>;
}

/** The process's terminal / stdin. */
export const processPasswordInput: PasswordInput = {
  get interactive() {
    return process.stdin.isTTY === true;
  },
  ask: askHidden,
  async line() {
    return firstLine(readFileSync(0, 'utf8'));
  },
};

export function firstLine(text: string): string {
  const i = text.search(/\r?\n/);
  return i < 0 ? text : text.slice(0, i);
}

/** A readline prompt whose echo is swallowed after the prompt text. */
async function askHidden(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    process.stderr.write(prompt);
    muted = true;
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/**
 * etcdctl's password reading: with `interactive` (its default) on a terminal, ask twice and compare;
 * otherwise one line of stdin. An empty answer is refused.
 */
export async function readNewPassword(name: string, interactive: boolean, input: PasswordInput): Promise<string> {
  if (interactive && input.interactive) {
    const p1 = await input.ask(`Password of ${name}: `);
    if (p1 === '') throw new UsageError('empty password');
    const p2 = await input.ask(`Type password of ${name} again for confirmation: `);
    if (p1 !== p2) throw new UsageError('given passwords are different');
    return p1;
  }
  const p = await input.line();
  if (p === '') throw new UsageError('empty password');
  return p;
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** commander gives `--interactive=false` as a string; etcdctl's bool flag takes true/false/1/0. */
export function parseBoolFlag(name: string, v: string | boolean | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v === 'boolean') return v;
  if (/^(true|1|t)$/i.test(v)) return true;
  if (/^(false|0|f)$/i.test(v)) return false;
  throw new UsageError(`invalid argument ${JSON.stringify(v)} for "--${name}" flag`);
}

/** read | write | readwrite, any case (etcdctl upper-cases it). */
export function parsePermType(text: string): PermType {
  const t = text.toUpperCase();
  if (t === 'READ' || t === 'WRITE' || t === 'READWRITE') return t;
  throw new UsageError(`invalid permission type: ${text}`);
}

const ZERO = new Uint8Array([0]);
const EMPTY = new Uint8Array(0);

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The interval a grant or revoke names, as etcdctl computes it: a single key; KEY RANGE_END; a
 * prefix; from a key on (`"\0"` end). An empty key means the whole key space with --prefix or
 * --from-key (etcdctl sends key `"\0"`).
 */
export function permRange(key: string, rangeEnd: string | undefined, o: { prefix?: boolean; fromKey?: boolean }): { key: Uint8Array; rangeEnd: Uint8Array } {
  if (o.prefix && o.fromKey) throw new UsageError('--from-key and --prefix flags are mutually exclusive');
  if (rangeEnd !== undefined && o.prefix) throw new UsageError('unexpected endkey argument with --prefix flag');
  if (rangeEnd !== undefined && o.fromKey) throw new UsageError('unexpected endkey argument with --from-key flag');
  if (key === '') return { key: ZERO, rangeEnd: o.prefix || o.fromKey ? ZERO : rangeEnd === undefined ? EMPTY : bytesFromString(rangeEnd) };
  const k = bytesFromString(key);
  if (o.prefix) return { key: k, rangeEnd: prefixEnd(k) };
  if (o.fromKey) return { key: k, rangeEnd: ZERO };
  return { key: k, rangeEnd: rangeEnd === undefined ? EMPTY : bytesFromString(rangeEnd) };
}

function need(args: readonly string[], n: number, max: number, message: string): void {
  if (args.length < n || args.length > max) throw new UsageError(message);
}

// ---------------------------------------------------------------------------------------------
// Formatting

/** etcdctl's `role get` text: the READ and WRITE intervals, READWRITE in both, in the server's order. */
export function formatRole(name: string, res: AuthRoleGetResponse): string {
  const line = (key: Uint8Array, rangeEnd: Uint8Array): string => {
    const k = bytesToString(key);
    if (rangeEnd.length === 0) return `\t${k}\n`;
    let s = bytesEqual(rangeEnd, ZERO) ? `\t[${k}, <open ended>` : `\t[${k}, ${bytesToString(rangeEnd)})`;
    if (bytesEqual(prefixEnd(key), rangeEnd)) s += ` (prefix ${k})`;
    return s + '\n';
  };
  let s = `Role ${name}\nKV Read:\n`;
  for (const p of res.perm) if (p.permType !== 'WRITE') s += line(p.key, p.rangeEnd);
  s += 'KV Write:\n';
  for (const p of res.perm) if (p.permType !== 'READ') s += line(p.key, p.rangeEnd);
  return s;
}

function checkFormat(out: Output): void {
  // etcdctl 3.4: `Error: table not supported as output format`.
  if (out.format === 'table') throw new UsageError('table not supported as output format');
}

const json = (out: Output, obj: unknown): void => out.write(JSON.stringify(obj) + '\n');

// ---------------------------------------------------------------------------------------------
// Commands

export async function runAuthEnable(c: AuthClient, out: Output): Promise<void> {
  checkFormat(out);
  const res = await c.enable();
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write('Authentication Enabled\n');
}

export async function runAuthDisable(c: AuthClient, out: Output): Promise<void> {
  checkFormat(out);
  const res = await c.disable();
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write('Authentication Disabled\n');
}

/** etcdctl 3.5's `auth status` lines. */
export async function runAuthStatus(c: AuthClient, out: Output): Promise<void> {
  checkFormat(out);
  const res = await c.status();
  if (out.format === 'json') return json(out, encodeAuthStatusResponse(res));
  out.write(`Authentication Status: ${res.enabled}\nAuthRevision: ${res.authRevision}\n`);
}

export interface UserAddOptions {
  noPassword?: boolean;
  interactive?: string | boolean;
  newUserPassword?: string;
}

export async function runUserAdd(c: AuthClient, out: Output, args: readonly string[], o: UserAddOptions, input: PasswordInput): Promise<void> {
  need(args, 1, 1, 'user add command requires user name as its argument');
  checkFormat(out);
  const arg = args[0] as string;
  const interactive = parseBoolFlag('interactive', o.interactive, true);
  let name = arg;
  let password: string | undefined;
  if (o.noPassword) {
    // etcdctl ignores NAME:PASSWORD's password part here too; the whole argument is not the name.
    name = arg.split(':', 1)[0] as string;
  } else if (o.newUserPassword !== undefined && o.newUserPassword !== '') {
    password = o.newUserPassword;
  } else {
    const colon = arg.indexOf(':');
    if (colon >= 0) {
      name = arg.slice(0, colon);
      password = arg.slice(colon + 1);
      if (name === '') throw new UsageError('empty user name is not allowed');
    } else {
      password = await readNewPassword(name, interactive, input);
    }
  }
  const res = await c.userAdd(name, password === undefined ? { noPassword: true } : password);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`User ${name} created\n`);
}

export async function runUserGet(c: AuthClient, out: Output, args: readonly string[], o: { detail?: boolean }): Promise<void> {
  need(args, 1, 1, 'user get command requires user name as its argument');
  checkFormat(out);
  const name = args[0] as string;
  const res = await c.userGet(name);
  if (out.format === 'json') {
    json(out, encodeAuthUserGetResponse(res));
    // With --detail, one role get response per role follows, one JSON document a line.
    if (o.detail) for (const role of res.roles) json(out, encodeAuthRoleGetResponse(await c.roleGet(role)));
    return;
  }
  out.write(`User: ${name}\n`);
  if (!o.detail) return out.write(`Roles:${res.roles.map((r) => ' ' + r).join('')}\n`);
  for (const role of res.roles) out.write('\n' + formatRole(role, await c.roleGet(role)));
}

export async function runUserList(c: AuthClient, out: Output): Promise<void> {
  checkFormat(out);
  const res = await c.userList();
  if (out.format === 'json') return json(out, encodeAuthUserListResponse(res));
  for (const u of res.users) out.write(u + '\n');
}

export async function runUserDelete(c: AuthClient, out: Output, args: readonly string[]): Promise<void> {
  need(args, 1, 1, 'user delete command requires user name as its argument');
  checkFormat(out);
  const res = await c.userDelete(args[0] as string);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`User ${args[0]} deleted\n`);
}

export async function runUserPasswd(
  c: AuthClient,
  out: Output,
  args: readonly string[],
  o: { interactive?: string | boolean; newUserPassword?: string },
  input: PasswordInput,
): Promise<void> {
  need(args, 1, 1, 'user passwd command requires user name as its argument');
  checkFormat(out);
  const name = args[0] as string;
  const password =
    o.newUserPassword !== undefined && o.newUserPassword !== ''
      ? o.newUserPassword
      : await readNewPassword(name, parseBoolFlag('interactive', o.interactive, true), input);
  const res = await c.userChangePassword(name, password);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write('Password updated\n');
}

export async function runUserGrantRole(c: AuthClient, out: Output, args: readonly string[]): Promise<void> {
  need(args, 2, 2, 'user grant command requires user name and role name as its argument');
  checkFormat(out);
  const [user, role] = args as [string, string];
  const res = await c.userGrantRole(user, role);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`Role ${role} is granted to user ${user}\n`);
}

export async function runUserRevokeRole(c: AuthClient, out: Output, args: readonly string[]): Promise<void> {
  need(args, 2, 2, 'user revoke-role requires user name and role name as its argument');
  checkFormat(out);
  const [user, role] = args as [string, string];
  const res = await c.userRevokeRole(user, role);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`Role ${role} is revoked from user ${user}\n`);
}

export async function runRoleAdd(c: AuthClient, out: Output, args: readonly string[]): Promise<void> {
  need(args, 1, 1, 'role add command requires role name as its argument');
  checkFormat(out);
  const res = await c.roleAdd(args[0] as string);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`Role ${args[0]} created\n`);
}

export async function runRoleGet(c: AuthClient, out: Output, args: readonly string[]): Promise<void> {
  need(args, 1, 1, 'role get command requires role name as its argument');
  checkFormat(out);
  const name = args[0] as string;
  const res = await c.roleGet(name);
  if (out.format === 'json') return json(out, encodeAuthRoleGetResponse(res));
  out.write(formatRole(name, res));
}

export async function runRoleList(c: AuthClient, out: Output): Promise<void> {
  checkFormat(out);
  const res = await c.roleList();
  if (out.format === 'json') return json(out, encodeAuthRoleListResponse(res));
  for (const r of res.roles) out.write(r + '\n');
}

export async function runRoleDelete(c: AuthClient, out: Output, args: readonly string[]): Promise<void> {
  need(args, 1, 1, 'role delete command requires role name as its argument');
  checkFormat(out);
  const res = await c.roleDelete(args[0] as string);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`Role ${args[0]} deleted\n`);
}

export async function runRoleGrantPermission(c: AuthClient, out: Output, args: readonly string[], o: { prefix?: boolean; fromKey?: boolean }): Promise<void> {
  need(args, 3, 4, 'role grant command requires role name, permission type, and key [endkey] as its argument');
  checkFormat(out);
  const [role, type, key, end] = args as [string, string, string, string | undefined];
  const permType = parsePermType(type);
  const r = permRange(key, end, o);
  const res = await c.roleGrantPermission(role, { permType, key: r.key, rangeEnd: r.rangeEnd });
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  out.write(`Role ${role} updated\n`);
}

export async function runRoleRevokePermission(c: AuthClient, out: Output, args: readonly string[], o: { prefix?: boolean; fromKey?: boolean }): Promise<void> {
  need(args, 2, 3, 'role revoke-permission command requires role name and key [endkey] as its argument');
  checkFormat(out);
  const [role, key, end] = args as [string, string, string | undefined];
  const r = permRange(key, end, o);
  const res = await c.roleRevokePermission(role, r.key, r.rangeEnd);
  if (out.format === 'json') return json(out, encodeAuthHeaderResponse(res));
  const k = bytesToString(r.key);
  if (r.rangeEnd.length === 0) out.write(`Permission of key ${k} is revoked from role ${role}\n`);
  else out.write(`Permission of range [${k}, ${bytesToString(r.rangeEnd)}) is revoked from role ${role}\n`);
}

// ---------------------------------------------------------------------------------------------
// The global login

/** `--user name[:password]` and `--password`, as etcdctl splits them. */
export async function loginCredentials(user: string, password: string | undefined, input: PasswordInput): Promise<{ name: string; password: string }> {
  if (password !== undefined) return { name: user, password };
  const colon = user.indexOf(':');
  if (colon >= 0) return { name: user.slice(0, colon), password: user.slice(colon + 1) };
  return { name: user, password: input.interactive ? await input.ask('Password: ') : await input.line() };
}

// ---------------------------------------------------------------------------------------------
// Registration

export interface AuthCommandDeps {
  /** The options (endpoints, timeout, TLS) every client of the running command is built with. */
  clientOptions(): ClientOptions;
  out(): Output;
  /** Default: the process's terminal and stdin. */
  passwords?: PasswordInput;
}

export interface AuthLogin {
  /** The credentials of the `--user` login of this run, once the preAction hook read them. */
  credentials(): { name: string; password: string } | undefined;
  /**
   * `opts` plus the login, for any client of this run: the client logs in on its first request
   * and logs in again once if its token is refused (ClientOptions.auth, src/client/http.ts).
   */
  withLogin<T extends ClientOptions>(opts: T): T;
}

/**
 * Adds the auth, user and role commands, and the global `--user` / `--password` options unless the
 * program already has them. With `--user`, a preAction hook reads the credentials (prompting for
 * the password if needed) before any command other than `serve` runs; every client of the run
 * then logs in with them (`withLogin`).
 */
export function registerAuthCommands(program: Command, deps: AuthCommandDeps): AuthLogin {
  const input = deps.passwords ?? processPasswordInput;
  let cred: { name: string; password: string } | undefined;
  const login: AuthLogin = {
    credentials: () => cred,
    withLogin: (opts) => (cred === undefined ? opts : { ...opts, auth: { user: cred.name, password: cred.password } }),
  };
  const has = (flag: string): boolean => program.options.some((o) => o.long === flag);
  if (!has('--user')) program.option('--user <name[:password]>', 'user name[:password] to authenticate as (password prompted or read from stdin if omitted)');
  if (!has('--password')) program.option('--password <password>', 'password to authenticate with (then --user is the whole name)');
  program.hook('preAction', async (_program, action) => {
    if (action.name() === 'serve' || action.parent?.name() === 'certs') return;
    const g = program.opts<{ user?: string; password?: string }>();
    if (g.user === undefined || cred !== undefined) return;
    cred = await loginCredentials(g.user, g.password, input);
  });
  const client = (): AuthClient => new AuthClient(login.withLogin(deps.clientOptions()));
  const out = (): Output => deps.out();

  const auth = program.command('auth').description('enable, disable or show authentication');
  auth
    .command('enable')
    .description('enable authentication (needs user root with role root)')
    .action(() => runAuthEnable(client(), out()));
  auth
    .command('disable')
    .description('disable authentication')
    .action(() => runAuthDisable(client(), out()));
  auth
    .command('status')
    .description('print whether authentication is enabled and the auth revision')
    .action(() => runAuthStatus(client(), out()));

  const user = program.command('user').description('user commands');
  user
    .command('add')
    .argument('[name[:password]]')
    .description('add a user (password prompted, or read from stdin when not a terminal)')
    .option('--no-password', 'a user without password (client-certificate only)')
    .option('--interactive <bool>', 'read the password from the terminal (false: from stdin)', 'true')
    .option('--new-user-password <password>', 'the new user\'s password')
    .action((name: string | undefined, o: { password?: boolean; interactive?: string; newUserPassword?: string }) =>
      // commander turns --no-password into `password: false`.
      runUserAdd(client(), out(), name === undefined ? [] : [name], { ...o, noPassword: o.password === false }, input),
    );
  user
    .command('get')
    .argument('[name]')
    .description('print a user\'s roles')
    .option('--detail', 'print the permissions of each role')
    .action((name: string | undefined, o: { detail?: boolean }) => runUserGet(client(), out(), name === undefined ? [] : [name], o));
  user
    .command('list')
    .description('list every user')
    .action(() => runUserList(client(), out()));
  user
    .command('delete')
    .argument('[name]')
    .description('delete a user')
    .action((name: string | undefined) => runUserDelete(client(), out(), name === undefined ? [] : [name]));
  user
    .command('passwd')
    .argument('[name]')
    .description('change a user\'s password')
    .option('--interactive <bool>', 'read the password from the terminal (false: from stdin)', 'true')
    .option('--new-user-password <password>', 'the new password')
    .action((name: string | undefined, o: { interactive?: string; newUserPassword?: string }) =>
      runUserPasswd(client(), out(), name === undefined ? [] : [name], o, input),
    );
  user
    .command('grant-role')
    .argument('[args...]', 'USER ROLE')
    .description('grant a role to a user')
    .action((args: string[]) => runUserGrantRole(client(), out(), args));
  user
    .command('revoke-role')
    .argument('[args...]', 'USER ROLE')
    .description('revoke a role from a user')
    .action((args: string[]) => runUserRevokeRole(client(), out(), args));

  const role = program.command('role').description('role commands');
  role
    .command('add')
    .argument('[name]')
    .description('add a role')
    .action((name: string | undefined) => runRoleAdd(client(), out(), name === undefined ? [] : [name]));
  role
    .command('get')
    .argument('[name]')
    .description('print a role\'s permissions')
    .action((name: string | undefined) => runRoleGet(client(), out(), name === undefined ? [] : [name]));
  role
    .command('list')
    .description('list every role')
    .action(() => runRoleList(client(), out()));
  role
    .command('delete')
    .argument('[name]')
    .description('delete a role')
    .action((name: string | undefined) => runRoleDelete(client(), out(), name === undefined ? [] : [name]));
  role
    .command('grant-permission')
    .argument('[args...]', 'ROLE read|write|readwrite KEY [RANGE_END]')
    .description('grant a key or range permission to a role')
    .option('--prefix', 'grant on the keys with the given prefix')
    .option('--from-key', 'grant on the keys greater than or equal to the given key')
    .action((args: string[], o: { prefix?: boolean; fromKey?: boolean }) => runRoleGrantPermission(client(), out(), args, o));
  role
    .command('revoke-permission')
    .argument('[args...]', 'ROLE KEY [RANGE_END]')
    .description('revoke a key or range permission from a role (exactly as granted)')
    .option('--prefix', 'revoke the prefix permission of the given key')
    .option('--from-key', 'revoke the from-key permission of the given key')
    .action((args: string[], o: { prefix?: boolean; fromKey?: boolean }) => runRoleRevokePermission(client(), out(), args, o));

  return login;
}

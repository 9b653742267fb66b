import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { CertStore, ensurePrivateDir, normalizeSerial, writeFileAtomic, type IssuedFiles, type MemberFiles, type MemberSpec } from '../tls/index.js';
import { UsageError } from './kv-commands.js';

// `keyward certs …`: the certificate authority on the operator's machine, laid out as src/tls
// CertStore lays out `certs/` (src/tls/README.md). Each command prints every file it wrote.
//
//   certs init [--dir D] [--member NAME[=host,host…]]… [--host H]… [--force]
//   certs issue --user U [--tenant T]  [--force]
//   certs add-member NAME [--host H]…
//   certs rotate --member M [--host H]…
//   certs revoke (--serial S | --user U [--tenant T] | --cert-file F)…
//
// Every member certificate carries localhost, 127.0.0.1 and ::1 besides its own hosts, as the
// certificates `keyward serve` makes on its first run do, so clients on the same machine verify.

/** Hosts every member certificate carries. */
export const LOCAL_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];
/** `keyward serve`'s default --name, the member `certs init` makes when none is named. */
export const DEFAULT_MEMBER = 'default';

/** Where the JWT signing key lives in a certs dir (serve's --auth-token-key-file default). */
export function tokenKeyPath(dir: string): string {
  return join(dir, 'auth', 'token.key');
}

/**
 * Writes the Ed25519 token signing key (PKCS#8 PEM, 0600) unless it exists. The same format as
 * src/auth TokenService.generateKeyPem (the cli does not import auth; a test loads the file with
 * TokenService.load). Returns whether it was created.
 */
export function ensureTokenKey(dir: string): boolean {
  const path = tokenKeyPath(dir);
  if (existsSync(path)) return false;
  ensurePrivateDir(dir);
  ensurePrivateDir(dirname(path));
  const { privateKey } = generateKeyPairSync('ed25519');
  writeFileAtomic(path, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  return true;
}

/** `NAME` or `NAME=host,host`. */
export function parseMemberSpec(s: string): MemberSpec {
  const eq = s.indexOf('=');
  if (eq < 0) return { name: s };
  const name = s.slice(0, eq);
  const hosts = s
    .slice(eq + 1)
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
  if (name === '') throw new UsageError(`--member ${s}: the member name is empty`);
  return { name, hosts };
}

export interface CertsOutput {
  write(s: string): void;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function issued(label: string, f: IssuedFiles): string {
  return `${label}: ${f.cert} (key ${f.key}), serial ${f.serial}, valid until ${f.notAfter}\n`;
}

function memberLines(m: MemberFiles): string {
  return issued(`member ${m.name} server certificate`, m.server) + issued(`member ${m.name} peer certificate`, m.peer);
}

export function runCertsInit(out: CertsOutput, dir: string, o: { member?: string[]; host?: string[]; force?: boolean }): void {
  const specs = (o.member ?? [DEFAULT_MEMBER]).map(parseMemberSpec);
  const store = new CertStore(dir);
  const r = store.init(specs, [...LOCAL_HOSTS, ...(o.host ?? [])], { overwrite: o.force === true });
  const keyCreated = ensureTokenKey(dir);
  out.write(`client CA: ${r.clientCa.cert} (key ${r.clientCa.key})\n`);
  out.write(`peer CA: ${r.peerCa.cert} (key ${r.peerCa.key})\n`);
  for (const m of r.members) out.write(memberLines(m));
  out.write(issued('admin (root) client certificate', r.admin));
  out.write(`token signing key: ${tokenKeyPath(dir)}${keyCreated ? '' : ' (kept: it already existed)'}\n`);
  out.write(`Copy ca/*.crt, members/<name>/ and auth/token.key to each member; keep ca/*.key on this machine.\n`);
}

export function runCertsIssue(out: CertsOutput, dir: string, o: { user?: string; tenant?: string; force?: boolean }): void {
  if (o.user === undefined) throw new UsageError('certs issue needs --user NAME');
  const f = new CertStore(dir).issueClient(o.user, o.tenant, { overwrite: o.force === true });
  out.write(issued(`client certificate for ${o.tenant === undefined ? o.user : `${o.user} of tenant ${o.tenant}`}`, f));
}

export function runCertsAddMember(out: CertsOutput, dir: string, name: string, o: { host?: string[]; force?: boolean }): void {
  const m = new CertStore(dir).addMember({ name, hosts: o.host ?? [] }, LOCAL_HOSTS, { overwrite: o.force === true });
  out.write(memberLines(m));
}

export function runCertsRotate(out: CertsOutput, dir: string, o: { member?: string; host?: string[] }): void {
  if (o.member === undefined) throw new UsageError('certs rotate needs --member NAME');
  const r = new CertStore(dir).rotate(o.member, o.host === undefined ? {} : { hosts: [...LOCAL_HOSTS, ...o.host] });
  out.write(memberLines(r));
  const old = [r.previousSerials.server, r.previousSerials.peer].filter((s): s is string => s !== undefined);
  if (old.length > 0) {
    out.write(`previous serials (still valid until they expire): ${old.join(' ')}\n`);
    out.write(`to cut them off: keyward certs revoke ${old.map((s) => `--serial ${s}`).join(' ')}\n`);
  }
}

export function runCertsRevoke(out: CertsOutput, dir: string, o: { serial?: string[]; user?: string; tenant?: string; certFile?: string[] }): void {
  const store = new CertStore(dir);
  const serials = [...(o.serial ?? [])];
  const files = [...(o.certFile ?? [])];
  if (o.user !== undefined) files.push(store.layout.client(o.user, o.tenant).cert);
  else if (o.tenant !== undefined) throw new UsageError('--tenant needs --user');
  for (const f of files) serials.push(serialOf(f));
  if (serials.length === 0) throw new UsageError('certs revoke needs --serial S, --user NAME or --cert-file FILE');
  const wanted = serials.map(normalizeSerial);
  const r = store.revoke(wanted);
  out.write(`revoked: ${wanted.join(' ')}\n`);
  out.write(`revocation list: ${store.layout.revoked} (${r.revoked.length} serials)\n`);
  for (const c of r.crls) out.write(`CRL: ${c}\n`);
  out.write('Copy revoked.txt and the CRLs to every member; members reload them (SIGHUP or file watch) and cut open connections.\n');
}

function serialOf(file: string): string {
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read certificate ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return new X509Certificate(pem).serialNumber;
  } catch {
    throw new UsageError(`${file} is not a PEM certificate`);
  }
}

export function registerCertsCommands(program: Command, deps: { certsDir(): string; write(s: string): void }): void {
  const dirOf = (o: { dir?: string }): string => o.dir ?? deps.certsDir();
  // commander gives `--user` to the program's global login option wherever it appears on the
  // line (the program defines it too), so the certs commands read it from there.
  const userOf = <T extends { user?: string }>(o: T): T => {
    const g = program.opts<{ user?: string }>().user;
    return o.user === undefined && g !== undefined ? { ...o, user: g } : o;
  };
  const out: CertsOutput = { write: (s) => deps.write(s) };
  const certs = program.command('certs').description('certificate authority: make, issue, rotate and revoke certificates (files under --dir)');
  certs
    .command('init')
    .description('create both CAs, each member\'s server and peer certificates, the root client certificate and the token signing key')
    .option('--dir <dir>', 'certificate directory (default: --certs-dir)')
    .option('--member <name[=host,...]>', 'a member and its extra host names/IPs (repeatable; default: "default")', collect)
    .option('--host <host>', 'a host name or IP every member certificate carries (repeatable; localhost, 127.0.0.1 and ::1 always)', collect)
    .option('--force', 'replace existing files')
    .action((o: { dir?: string; member?: string[]; host?: string[]; force?: boolean }) => runCertsInit(out, dirOf(o), o));
  certs
    .command('issue')
    .description('issue a client certificate for a user')
    .option('--dir <dir>', 'certificate directory (default: --certs-dir)')
    .option('--user <name>', 'the user (the certificate\'s CN)')
    .option('--tenant <id>', 'the tenant the user belongs to')
    .option('--force', 'replace an existing certificate')
    .action((o: { dir?: string; user?: string; tenant?: string; force?: boolean }) => runCertsIssue(out, dirOf(o), userOf(o)));
  certs
    .command('add-member <name>')
    .description('issue server and peer certificates for a member joining later')
    .option('--dir <dir>', 'certificate directory (default: --certs-dir)')
    .option('--host <host>', 'a host name or IP of the member (repeatable)', collect)
    .option('--force', 'replace existing certificates')
    .action((name: string, o: { dir?: string; host?: string[]; force?: boolean }) => runCertsAddMember(out, dirOf(o), name, o));
  certs
    .command('rotate')
    .description('new keys and certificates for a member (running members pick them up without a restart)')
    .option('--dir <dir>', 'certificate directory (default: --certs-dir)')
    .option('--member <name>', 'the member')
    .option('--host <host>', 'replace the host names (repeatable; default: those of the current certificates)', collect)
    .action((o: { dir?: string; member?: string; host?: string[] }) => runCertsRotate(out, dirOf(o), o));
  certs
    .command('revoke')
    .description('add certificates to revoked.txt and re-issue the CRLs')
    .option('--dir <dir>', 'certificate directory (default: --certs-dir)')
    .option('--serial <hex>', 'a serial number (repeatable)', collect)
    .option('--user <name>', 'the certificate issued to this user')
    .option('--tenant <id>', 'with --user: the user\'s tenant')
    .option('--cert-file <file>', 'the certificate in this file (repeatable)', collect)
    .action((o: { dir?: string; serial?: string[]; user?: string; tenant?: string; certFile?: string[] }) => runCertsRevoke(out, dirOf(o), userOf(o)));
}

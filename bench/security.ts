// The secure targets (`--secure`): certificates from our own CertStore (src/tls) in a temp dir,
// mutual TLS on the client and peer ports, and authorization switched on with a non-root user
// `bench` whose one role grants READWRITE on the bench's key prefix, so every request really
// goes through the permission check (root would bypass it on etcd).
//
// How each system learns who the client is:
// - Keyward: the verified client certificate's CN (`bench`); no token. `keyward serve` without
//   --insecure bootstraps auth itself (user root bound to the CN=root certificate, auth on);
//   the bench then adds user `bench` (no password) and its role through /v3/auth/* as root.
// - etcd 3.4: its JSON gateway refuses any request whose client certificate has a CN when
//   --client-cert-auth is on ("CommonName of client sending a request against gateway will be
//   ignored and not used as expected", HTTP 400), because the gateway re-dials etcd's gRPC port
//   with the member's own certificate. So etcd's clients present a certificate with no CN (only
//   OU=keyward-bench) for the handshake and authenticate with a password: the simple token from
//   /v3/auth/authenticate goes in the Authorization header of every request. The gateway's own
//   dial needs clientAuth in the member certificate, so etcd's client-port certificates carry
//   serverAuth+clientAuth (CertStore's server profile has serverAuth only).

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CertStore, generatePrivateKey, issuePeerCertificate, writeFileAtomic } from '../src/tls/index.js';
import { buildCertificate } from '../src/tls/x509.js';
import { controlRequest, postJson } from './http-request.js';
import type { ClientTls, Credentials } from './protocol.js';
import { keyName } from './workload.js';

/** The user the load runs as on both systems, and its client certificate's CN (Keyward). */
export const BENCH_USER = 'bench';
/** Every key the bench touches (`bench/key-<i>`) starts with this; the role covers [prefix, prefix+1). */
export const BENCH_PREFIX = 'bench/';
/** Names every member certificate carries as SANs: the bench uses loopback only. */
export const MEMBER_HOSTS: readonly string[] = ['127.0.0.1', 'localhost'];

const POLL_MS = 100;

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

/** The end of a prefix range, etcd's `--prefix` rule: the prefix with its last byte plus one. */
export function prefixEnd(prefix: string): string {
  const b = Buffer.from(prefix, 'utf8');
  b[b.length - 1]! += 1;
  return b.toString('utf8');
}

function readTls(ca: string, cert: string, key: string): ClientTls {
  return { ca: readFileSync(ca, 'utf8'), cert: readFileSync(cert, 'utf8'), key: readFileSync(key, 'utf8') };
}

/** Certificates, keys and passwords of one secure target (a Keyward or an etcd cluster). */
export class SecureMaterial {
  readonly store: CertStore;
  /** What the orchestrator presents for health, leader and version requests and for auth setup. */
  readonly admin: Credentials;
  /** What the load generator presents; for etcd the token is added by configure(). */
  bench: Credentials;
  private readonly rootPassword = randomBytes(16).toString('hex');
  private readonly benchPassword = randomBytes(16).toString('hex');

  private constructor(
    readonly kind: 'keyward' | 'etcd',
    readonly dir: string,
    private readonly members: readonly string[],
  ) {
    this.store = new CertStore(join(dir, 'certs'));
    this.store.init([...members], MEMBER_HOSTS);
    const l = this.store.layout;
    if (kind === 'keyward') {
      const benchCert = this.store.issueClient(BENCH_USER);
      this.admin = { tls: readTls(l.clientCa.cert, l.client('root').cert, l.client('root').key) };
      this.bench = { tls: readTls(l.clientCa.cert, benchCert.cert, benchCert.key) };
      // One token signing key for every member (what `certs init` would make); unused by the
      // load itself, which authenticates by certificate.
      const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
      writeFileAtomic(this.tokenKeyFile, pem);
    } else {
      const clientCa = this.store.loadCa('client');
      for (const m of members) {
        const c = issuePeerCertificate(clientCa, m, MEMBER_HOSTS);
        writeFileAtomic(this.etcdServerCert(m), c.certPem);
        writeFileAtomic(this.etcdServerKey(m), c.keyPem);
      }
      const key = generatePrivateKey();
      const now = Date.now();
      const cert = buildCertificate(
        {
          subject: [{ type: 'OU', value: 'keyward-bench' }],
          key,
          extKeyUsage: ['clientAuth'],
          notBefore: new Date(now - 5 * 60_000),
          notAfter: new Date(now + 7 * 86_400_000),
        },
        clientCa.key,
        clientCa.cert,
      );
      const tls: ClientTls = {
        ca: readFileSync(l.clientCa.cert, 'utf8'),
        cert: cert.toString(),
        key: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
      };
      this.admin = { tls };
      this.bench = { tls };
    }
  }

  /** Makes the material for `members` (certificate CNs) of a `kind` target in a fresh temp dir. */
  static create(kind: 'keyward' | 'etcd', members: readonly string[]): SecureMaterial {
    const dir = mkdtempSync(join(tmpdir(), `keyward-bench-certs-${kind}-`));
    try {
      return new SecureMaterial(kind, dir, members);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get tokenKeyFile(): string {
    return join(this.dir, 'token.key');
  }

  private etcdServerCert(m: string): string {
    return join(this.dir, 'etcd', `${m}.crt`);
  }

  private etcdServerKey(m: string): string {
    return join(this.dir, 'etcd', `${m}.key`);
  }

  private checkMember(member: string): void {
    if (!this.members.includes(member)) throw new TypeError(`no certificates for member ${member} (have ${this.members.join(', ')})`);
  }

  /** `keyward serve` flags for member `member`: its certificates, explicitly, as etcd's flags name them. */
  keywardFlags(member: string): string[] {
    this.checkMember(member);
    const l = this.store.layout;
    const m = l.member(member);
    return [
      '--cert-file', m.server.cert,
      '--key-file', m.server.key,
      '--trusted-ca-file', l.clientCa.cert,
      '--client-cert-auth',
      '--peer-cert-file', m.peer.cert,
      '--peer-key-file', m.peer.key,
      '--peer-trusted-ca-file', l.peerCa.cert,
      '--peer-client-cert-auth',
      // Nothing should be generated next to the repository: the store is complete already.
      '--certs-dir', l.root,
      '--auth-token-key-file', this.tokenKeyFile,
    ];
  }

  /** etcd's TLS flags for member `member`. */
  etcdFlags(member: string): string[] {
    this.checkMember(member);
    const l = this.store.layout;
    const m = l.member(member);
    return [
      '--cert-file', this.etcdServerCert(member),
      '--key-file', this.etcdServerKey(member),
      '--trusted-ca-file', l.clientCa.cert,
      '--client-cert-auth',
      '--peer-cert-file', m.peer.cert,
      '--peer-key-file', m.peer.key,
      '--peer-trusted-ca-file', l.peerCa.cert,
      '--peer-client-cert-auth',
    ];
  }

  /**
   * Switches authorization on for the started, healthy cluster at `urls` and sets up user
   * `bench` with READWRITE on [bench/, bench0); returns once every member lets `bench` read a key
   * of the prefix (the grants are applied everywhere) and refuses it outside the prefix.
   */
  async configure(urls: readonly string[], timeoutMs: number): Promise<void> {
    const url = urls[0]!;
    const perm = { permType: 'READWRITE', key: b64(BENCH_PREFIX), range_end: b64(prefixEnd(BENCH_PREFIX)) };
    if (this.kind === 'keyward') {
      await this.waitAuthEnabled(url, timeoutMs);
      await postJson(`${url}/v3/auth/user/add`, { name: BENCH_USER, options: { no_password: true } }, this.admin);
    } else {
      await postJson(`${url}/v3/auth/user/add`, { name: 'root', password: this.rootPassword }, this.admin);
      await postJson(`${url}/v3/auth/role/add`, { name: 'root' }, this.admin);
      await postJson(`${url}/v3/auth/user/grant`, { user: 'root', role: 'root' }, this.admin);
      await postJson(`${url}/v3/auth/user/add`, { name: BENCH_USER, password: this.benchPassword }, this.admin);
    }
    await postJson(`${url}/v3/auth/role/add`, { name: BENCH_USER }, this.admin);
    await postJson(`${url}/v3/auth/role/grant`, { name: BENCH_USER, perm }, this.admin);
    await postJson(`${url}/v3/auth/user/grant`, { user: BENCH_USER, role: BENCH_USER }, this.admin);
    if (this.kind === 'etcd') {
      await postJson(`${url}/v3/auth/enable`, {}, this.admin);
      const res = (await postJson(`${url}/v3/auth/authenticate`, { name: BENCH_USER, password: this.benchPassword }, this.admin)) as { token?: unknown };
      if (typeof res.token !== 'string' || res.token === '') throw new Error(`etcd authenticate answered no token: ${JSON.stringify(res).slice(0, 200)}`);
      this.bench = { ...this.bench, authorization: res.token };
    }
    for (const u of urls) await this.waitBenchAllowed(u, timeoutMs);
  }

  /** Polls /v3/auth/status (as root) until the member's auth bootstrap has enabled auth. */
  private async waitAuthEnabled(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const res = await controlRequest(`${url}/v3/auth/status`, { body: '{}', credentials: this.admin }).catch((err: unknown) => ({
        status: 0,
        text: err instanceof Error ? err.message : String(err),
      }));
      last = `HTTP ${res.status} ${res.text.slice(0, 200)}`;
      if (res.status === 200 && (JSON.parse(res.text) as { enabled?: unknown }).enabled === true) return;
      if (Date.now() > deadline) throw new Error(`${url}: auth not enabled by the bootstrap after ${timeoutMs} ms (last: ${last})`);
      await sleep(POLL_MS);
    }
  }

  /** Waits until `bench` may read a bench key at `url`, then checks it may not read outside its prefix. */
  private async waitBenchAllowed(url: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const res = await controlRequest(`${url}/v3/kv/range`, { body: JSON.stringify({ key: b64(keyName(0)) }), credentials: this.bench });
      last = `HTTP ${res.status} ${res.text.slice(0, 200)}`;
      if (res.status === 200) break;
      if (Date.now() > deadline) throw new Error(`${url}: user ${BENCH_USER} still refused after ${timeoutMs} ms (last: ${last})`);
      await sleep(POLL_MS);
    }
    const outside = await controlRequest(`${url}/v3/kv/range`, { body: JSON.stringify({ key: b64('not-bench') }), credentials: this.bench });
    if (outside.status === 200) throw new Error(`${url}: user ${BENCH_USER} may read outside ${BENCH_PREFIX}: authorization is not on (${outside.text.slice(0, 200)})`);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

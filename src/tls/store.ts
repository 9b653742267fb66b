// The certificate directory that `keyward certs init|issue|rotate|revoke` manages.
//
//   <root>/                            0700
//     ca/client-ca.crt  client-ca.key  the client-port CA: signs member server certificates and
//                                      user client certificates; clients trust it
//     ca/peer-ca.crt    peer-ca.key    the peer-port CA: signs member peer certificates only
//     ca/client-ca.crl  peer-ca.crl    written by revoke()
//     revoked.txt                      serial denylist (RevocationList format), written by revoke()
//     members/<member>/server.crt .key the member's client-port certificate (serverAuth)
//     members/<member>/peer.crt   .key the member's peer-port certificate (serverAuth+clientAuth)
//     clients/<user>.crt .key          a cluster-level user (init issues "root")
//     tenants/<tenant>/<user>.crt .key a tenant's user (O=<tenant> in the certificate)
//
// Every file is 0600 and every directory 0700 (files.ts). Existing files are never replaced
// unless the call asks for it (rotate always does, for the member's own certificates).
//
// The CA keys are needed only to issue, rotate and revoke. A member needs ca/*.crt, its own
// members/<name>/ directory, and revoked.txt / *.crl when used; ca/*.key should live on the
// operator's machine, not on the cluster's members (GUARANTEES A22).

import { join } from 'node:path';
import { TlsError } from './errors.js';
import { altNames, certificateParts } from './der.js';
import { ensurePrivateDir, exists, readPrivateFile, readPublicFile, writeFileAtomic } from './files.js';
import { parseCertificates, parsePrivateKey } from './material.js';
import { checkIssuedName, checkTenantId, parseHost } from './names.js';
import { RevocationList } from './revocation.js';
import {
  createCa,
  createCrl,
  issueClientCertificate,
  issuePeerCertificate,
  issueServerCertificate,
  normalizeSerial,
  type CertifiedKey,
  type IssueOptions,
  type Issuer,
} from './x509.js';

export interface CertKeyPaths {
  readonly cert: string;
  readonly key: string;
}

export interface CertLayout {
  readonly root: string;
  readonly clientCa: CertKeyPaths & { readonly crl: string };
  readonly peerCa: CertKeyPaths & { readonly crl: string };
  readonly revoked: string;
  member(name: string): { readonly dir: string; readonly server: CertKeyPaths; readonly peer: CertKeyPaths };
  client(user: string, tenant?: string): CertKeyPaths;
}

/** Where everything lives under `root`. Names are checked, so no path can leave the root. */
export function certLayout(root: string): CertLayout {
  const ca = (n: string) => ({ cert: join(root, 'ca', `${n}.crt`), key: join(root, 'ca', `${n}.key`), crl: join(root, 'ca', `${n}.crl`) });
  return {
    root,
    clientCa: ca('client-ca'),
    peerCa: ca('peer-ca'),
    revoked: join(root, 'revoked.txt'),
    member(name) {
      const dir = join(root, 'members', checkIssuedName('member', name));
      return { dir, server: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') }, peer: { cert: join(dir, 'peer.crt'), key: join(dir, 'peer.key') } };
    },
    client(user, tenant) {
      checkIssuedName('user', user);
      const dir = tenant === undefined ? join(root, 'clients') : join(root, 'tenants', checkTenantId(tenant));
      return { cert: join(dir, `${user}.crt`), key: join(dir, `${user}.key`) };
    },
  };
}

export interface MemberSpec {
  readonly name: string;
  /** Host names and IPs of this member, added to the hosts every member gets. */
  readonly hosts?: readonly string[];
}

export interface IssuedFiles extends CertKeyPaths {
  readonly serial: string;
  readonly notAfter: string;
}

export interface MemberFiles {
  readonly name: string;
  readonly server: IssuedFiles;
  readonly peer: IssuedFiles;
}

export interface InitResult {
  readonly clientCa: CertKeyPaths;
  readonly peerCa: CertKeyPaths;
  readonly members: readonly MemberFiles[];
  /** The admin ("root") client certificate: what the quick start prints. */
  readonly admin: IssuedFiles;
}

export interface RotateResult extends MemberFiles {
  readonly previousSerials: { readonly server?: string; readonly peer?: string };
}

export interface CertStoreOptions extends IssueOptions {}

export class CertStore {
  readonly layout: CertLayout;
  readonly #opts: CertStoreOptions;

  constructor(root: string, opts: CertStoreOptions = {}) {
    this.layout = certLayout(root);
    this.#opts = opts;
  }

  /**
   * Creates both CAs, a server and a peer certificate for each member (SANs: `hosts` plus the
   * member's own), and the admin client certificate (CN=`admin`, default "root"). Refuses to
   * touch anything if any of those files exists, unless `overwrite`.
   */
  init(members: readonly (string | MemberSpec)[], hosts: readonly string[], opts: { overwrite?: boolean; admin?: string } = {}): InitResult {
    const specs = members.map((m) => (typeof m === 'string' ? { name: m } : m));
    const admin = opts.admin ?? 'root';
    // Check every name and host before creating anything, so a typo leaves no half-made tree.
    const seen = new Set<string>();
    for (const s of specs) {
      checkIssuedName('member', s.name);
      if (seen.has(s.name)) throw new TlsError('InvalidName', `member ${s.name} is listed twice`);
      seen.add(s.name);
      this.#hostsFor(s, hosts);
    }
    if (specs.length === 0) throw new TypeError('init needs at least one member');
    const l = this.layout;
    const targets = [
      l.clientCa.cert, l.clientCa.key, l.peerCa.cert, l.peerCa.key,
      ...specs.flatMap((s) => { const m = l.member(s.name); return [m.server.cert, m.server.key, m.peer.cert, m.peer.key]; }),
      l.client(admin).cert, l.client(admin).key,
    ];
    if (opts.overwrite !== true) this.#refuseExisting(targets);
    const write = { overwrite: opts.overwrite === true };
    ensurePrivateDir(l.root);

    const clientCa = createCa('client', this.#opts);
    const peerCa = createCa('peer', this.#opts);
    this.#write(l.clientCa, clientCa, write);
    this.#write(l.peerCa, peerCa, write);
    const issued = specs.map((s) => this.#issueMember(s.name, this.#hostsFor(s, hosts), clientCa, peerCa, write));
    const adminCert = issueClientCertificate(clientCa, admin, undefined, this.#opts);
    this.#write(l.client(admin), adminCert, write);
    return {
      clientCa: { cert: l.clientCa.cert, key: l.clientCa.key },
      peerCa: { cert: l.peerCa.cert, key: l.peerCa.key },
      members: issued,
      admin: files(l.client(admin), adminCert),
    };
  }

  /** Issues server and peer certificates for a member joining later. */
  addMember(member: string | MemberSpec, hosts: readonly string[] = [], opts: { overwrite?: boolean } = {}): MemberFiles {
    const spec = typeof member === 'string' ? { name: member } : member;
    const sans = this.#hostsFor(spec, hosts);
    const m = this.layout.member(spec.name);
    if (opts.overwrite !== true) this.#refuseExisting([m.server.cert, m.server.key, m.peer.cert, m.peer.key]);
    return this.#issueMember(spec.name, sans, this.loadCa('client'), this.loadCa('peer'), { overwrite: opts.overwrite === true });
  }

  /** A client certificate for `user` (optionally of `tenant`). */
  issueClient(user: string, tenant?: string, opts: { overwrite?: boolean } = {}): IssuedFiles {
    const paths = this.layout.client(user, tenant);
    if (opts.overwrite !== true) this.#refuseExisting([paths.cert, paths.key]);
    const c = issueClientCertificate(this.loadCa('client'), user, tenant, this.#opts);
    this.#write(paths, c, { overwrite: opts.overwrite === true });
    return files(paths, c);
  }

  /**
   * New keys and certificates for a member's server and peer certificates, with the same host
   * names as before unless `hosts` is given. A member running with a TlsReloader picks them up
   * without a restart. The old certificates are not revoked (they stay valid until they expire);
   * pass previousSerials to revoke() to cut them off.
   */
  rotate(member: string, opts: { hosts?: readonly string[] } = {}): RotateResult {
    const m = this.layout.member(member);
    const previous = (p: string): { serial: string; hosts: string[] } | undefined => {
      if (!exists(p)) return undefined;
      const [cert] = parseCertificates(readPublicFile(p), p);
      const names = altNames(certificateParts(cert!.raw));
      return { serial: normalizeSerial(cert!.serialNumber), hosts: [...names.dns, ...names.ips] };
    };
    const oldServer = previous(m.server.cert);
    const oldPeer = previous(m.peer.cert);
    const hosts = opts.hosts ?? [...new Set([...(oldServer?.hosts ?? []), ...(oldPeer?.hosts ?? [])])];
    if (hosts.length === 0) throw new TlsError('FileMissing', `member ${member} has no certificates to take host names from; pass hosts`);
    hosts.forEach(parseHost);
    const issued = this.#issueMember(member, hosts, this.loadCa('client'), this.loadCa('peer'), { overwrite: true });
    const previousSerials: { server?: string; peer?: string } = {};
    if (oldServer !== undefined) previousSerials.server = oldServer.serial;
    if (oldPeer !== undefined) previousSerials.peer = oldPeer.serial;
    return { ...issued, previousSerials };
  }

  /**
   * Adds serials to revoked.txt and re-issues the CRL of every CA whose key is here. Members pick
   * the list up on reload and cut open connections using those certificates.
   */
  revoke(serials: Iterable<string>, opts: { crlValidityDays?: number } = {}): { revoked: readonly string[]; crls: readonly string[] } {
    const l = this.layout;
    const current = exists(l.revoked) ? RevocationList.parse(readPublicFile(l.revoked).toString()) : [];
    const all = [...new Set([...current, ...[...serials].map(normalizeSerial)])].sort();
    ensurePrivateDir(l.root);
    writeFileAtomic(l.revoked, RevocationList.format(all), { overwrite: true });
    const crls: string[] = [];
    for (const kind of ['client', 'peer'] as const) {
      const paths = kind === 'client' ? l.clientCa : l.peerCa;
      if (!exists(paths.key)) continue;
      const crl = createCrl(this.loadCa(kind), all, { now: this.#opts.now, validityDays: opts.crlValidityDays ?? 365 });
      writeFileAtomic(paths.crl, crl, { overwrite: true });
      crls.push(paths.crl);
    }
    return { revoked: all, crls };
  }

  /** A CA with its key, read from the store (the key file must be 0600 and ours). */
  loadCa(kind: 'client' | 'peer'): Issuer {
    const paths = kind === 'client' ? this.layout.clientCa : this.layout.peerCa;
    const [cert] = parseCertificates(readPublicFile(paths.cert), paths.cert);
    const key = parsePrivateKey(readPrivateFile(paths.key), paths.key);
    if (!cert!.ca) throw new TlsError('NotCa', `${paths.cert} is not a CA certificate`);
    if (!cert!.checkPrivateKey(key)) throw new TlsError('KeyMismatch', `${paths.key} does not belong to ${paths.cert}`);
    return { cert: cert!, key };
  }

  #hostsFor(spec: MemberSpec, common: readonly string[]): string[] {
    const all = [...common, ...(spec.hosts ?? [])];
    all.forEach(parseHost);
    if (all.length === 0) throw new TlsError('InvalidName', `member ${spec.name} needs at least one host name or IP address`);
    return all;
  }

  #issueMember(name: string, hosts: readonly string[], clientCa: Issuer, peerCa: Issuer, write: { overwrite: boolean }): MemberFiles {
    const m = this.layout.member(name);
    const server = issueServerCertificate(clientCa, name, hosts, this.#opts);
    const peer = issuePeerCertificate(peerCa, name, hosts, this.#opts);
    this.#write(m.server, server, write);
    this.#write(m.peer, peer, write);
    return { name, server: files(m.server, server), peer: files(m.peer, peer) };
  }

  // Key first: a reader never finds a certificate whose key is not there yet. (A reloader seeing
  // the new key beside the old certificate refuses the pair and waits for the certificate.)
  #write(paths: CertKeyPaths, c: CertifiedKey, opts: { overwrite: boolean }): void {
    // The root too, not only the file's own directory: a checkout's certs/ arrives 0755.
    ensurePrivateDir(this.layout.root);
    writeFileAtomic(paths.key, c.keyPem, opts);
    writeFileAtomic(paths.cert, c.certPem, opts);
  }

  #refuseExisting(paths: readonly string[]): void {
    const found = paths.filter(exists);
    if (found.length > 0) throw new TlsError('FileExists', `refusing to overwrite ${found.join(', ')}`);
  }
}

function files(paths: CertKeyPaths, c: CertifiedKey): IssuedFiles {
  return { cert: paths.cert, key: paths.key, serial: c.serial, notAfter: c.cert.validTo };
}

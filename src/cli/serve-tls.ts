// TLS and token-key material for `keyward serve` (issue 5, secure by default): which files the
// client port uses, generating the certs dir and the token signing key on first run, and the
// first-run message telling the operator where the admin certificate is.
//
// The rule for the client port's files: each of --cert-file/--key-file/--trusted-ca-file that is
// given wins; the rest come from the CertStore layout in --certs-dir. Only when none of them is
// given and the store has no client CA yet is the store created (CertStore.init for this member),
// so an operator who brings their own PKI never gets a second one generated beside it.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import {
  CertStore,
  TlsReloader,
  certLayout,
  isTlsError,
  writeFileAtomic,
  type HandshakeFailure,
  type InitResult,
  type TlsLogger,
} from '../tls/index.js';
import { ConfigError, type ServeConfig } from './config.js';

/** The narrow logger used here; pino's fits. */
export interface ServeLogger extends TlsLogger {}

/** Names every generated member certificate carries, so loopback clients verify it by any name. */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** Host names and IPs of this member's advertised URLs (client and peer), plus loopback. */
export function memberHosts(config: ServeConfig): string[] {
  const hosts = new Set(LOOPBACK_HOSTS);
  for (const url of [...config.advertiseClientUrls, ...config.initialAdvertisePeerUrls]) {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    // An unspecified address is where a member listens, never a name a client checks.
    if (host !== '' && host !== '0.0.0.0' && host !== '::') hosts.add(host);
  }
  return [...hosts];
}

export function usesClientTls(config: ServeConfig): boolean {
  return config.listenClientUrls.some((u) => u.startsWith('https:'));
}

export interface ClientTlsSetup {
  reloader: TlsReloader;
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Set when this start created the certs dir. */
  generated?: InitResult;
}

/**
 * Resolves and loads the client port's TLS material, creating the certs dir on first run (see the
 * file comment). Every problem is a ConfigError naming the flags involved.
 */
export function clientTls(config: ServeConfig, logger: ServeLogger): ClientTlsSetup {
  const certsDir = resolve(config.certsDir);
  const layout = certLayout(certsDir);
  const explicit = config.certFile !== undefined || config.trustedCaFile !== undefined;
  let generated: InitResult | undefined;
  try {
    const member = layout.member(config.name);
    if (!explicit && !existsSync(layout.clientCa.cert)) {
      generated = new CertStore(certsDir).init([config.name], memberHosts(config));
      logger.info({ certsDir, member: config.name, hosts: memberHosts(config), admin: generated.admin.cert }, 'first run: generated the certificate authorities and certificates');
    } else if (!explicit && !existsSync(member.server.cert) && existsSync(layout.clientCa.key) && existsSync(layout.peerCa.key)) {
      // A store made for other members (or another --name): the CA keys are here, so issue ours.
      new CertStore(certsDir).addMember(config.name, memberHosts(config));
      logger.info({ certsDir, member: config.name, hosts: memberHosts(config) }, 'issued certificates for this member from the CAs in the certs dir');
    }
  } catch (e) {
    if (isTlsError(e)) throw new ConfigError(`--certs-dir ${certsDir}: cannot create certificates: ${e.message}`);
    throw e;
  }
  const member = layout.member(config.name);
  const certFile = config.certFile ?? member.server.cert;
  const keyFile = config.keyFile ?? member.server.key;
  const caFile = config.trustedCaFile ?? layout.clientCa.cert;
  // The denylist is created empty so that `keyward certs revoke` (which writes it) is picked up by
  // a running member on reload: the reloader only reads files it was given.
  const revokedFile = layout.revoked;
  try {
    if (!existsSync(revokedFile) && existsSync(certsDir)) writeFileAtomic(revokedFile, '# Revoked certificate serial numbers, one per line (keyward certs revoke).\n');
  } catch (e) {
    if (!isTlsError(e, 'FileExists')) throw e;
  }
  const crlFile = config.clientCrlFile ?? (existsSync(layout.clientCa.crl) ? layout.clientCa.crl : undefined);
  let reloader: TlsReloader;
  try {
    reloader = new TlsReloader({
      certFile,
      keyFile,
      caFile,
      ...(existsSync(revokedFile) ? { revokedFile } : {}),
      ...(crlFile !== undefined ? { crlFile } : {}),
      sighup: true,
      logger,
    });
  } catch (e) {
    if (isTlsError(e)) {
      const flags = `--cert-file ${certFile}, --key-file ${keyFile}, --trusted-ca-file ${caFile}${crlFile !== undefined ? `, --client-crl-file ${crlFile}` : ''}`;
      throw new ConfigError(`client port TLS (${flags}): ${e.message}`);
    }
    throw e;
  }
  return { reloader, certFile, keyFile, caFile, ...(generated !== undefined ? { generated } : {}) };
}

/**
 * The auth token signing key: --auth-token-key-file (which must exist), else, unless --insecure,
 * <certs-dir>/auth/token.key, generated on first run. Undefined with --insecure and no flag: the
 * server then keeps a key of its own in the data dir (tokens good on that member only).
 */
export function tokenKeyFile(config: ServeConfig, logger: ServeLogger): string | undefined {
  if (config.authTokenKeyFile !== undefined) {
    const file = resolve(config.authTokenKeyFile);
    if (!existsSync(file)) throw new ConfigError(`--auth-token-key-file ${file}: no such file (omit the flag to use <certs-dir>/auth/token.key, generated on first run)`);
    return file;
  }
  if (config.insecure) return undefined;
  const file = join(resolve(config.certsDir), 'auth', 'token.key');
  if (existsSync(file)) return file;
  // Ed25519 PKCS#8, as TokenService.generateKeyPem makes it (cli does not import auth). Written with
  // link(2) and no overwrite, so members starting together on a shared certs dir agree on one key.
  const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  try {
    writeFileAtomic(file, pem);
    logger.info({ file }, 'first run: generated the auth token signing key (give every member the same file)');
  } catch (e) {
    if (!isTlsError(e, 'FileExists')) {
      throw new ConfigError(`cannot write the auth token key ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  return file;
}

/** Paths as an operator should type them: relative to the working directory when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** The first-run lines for stderr: where the admin certificate is and how to use it. */
export function firstRunMessage(init: InitResult, certsDir: string, clientUrl: string): string {
  const ca = shown(init.clientCa.cert);
  const cert = shown(init.admin.cert);
  const key = shown(init.admin.key);
  const lines = [
    `keyward: first run: created a certificate authority and certificates in ${shown(resolve(certsDir))}`,
    `keyward:   admin (user root) certificate: ${cert}`,
    `keyward:   admin (user root) key:         ${key}`,
    `keyward:   client CA to trust:            ${ca}`,
    `keyward:   try: curl --cacert ${ca} --cert ${cert} --key ${key} -X POST ${clientUrl}/v3/kv/put -d '{"key":"Zm9v","value":"YmFy"}'`,
    `keyward:   the CA keys (${shown(init.clientCa.key)}, ${shown(init.peerCa.key)}) can issue any identity: keep them off members in production`,
  ];
  return lines.join('\n') + '\n';
}

/**
 * Failed handshakes as log lines, at most `max` per window and then one line with the count, so a
 * scan or a flood of bad clients cannot flood the log.
 */
export function handshakeFailureLog(logger: ServeLogger, opts: { windowMs?: number; max?: number; now?: () => number } = {}): (f: HandshakeFailure) => void {
  const windowMs = opts.windowMs ?? 10_000;
  const max = opts.max ?? 20;
  const clock = opts.now ?? Date.now;
  let windowStart = -Infinity;
  let count = 0;
  let suppressed = 0;
  return (f) => {
    const now = clock();
    if (now - windowStart >= windowMs) {
      if (suppressed > 0) logger.warn({ suppressed, windowMs }, 'client TLS handshake failures not logged (rate limit)');
      windowStart = now;
      count = 0;
      suppressed = 0;
    }
    if (++count > max) {
      suppressed++;
      return;
    }
    logger.warn({ code: f.code, reason: f.reason, remoteAddress: f.remoteAddress }, 'client TLS handshake failed');
  };
}

import { existsSync, readFileSync } from 'node:fs';
import type { ClientTls } from '../client/index.js';
import { certLayout, readPrivateFile } from '../tls/index.js';
import { UsageError } from './kv-commands.js';

// How the control commands reach the cluster: endpoints, TLS material and the login, from
// etcdctl's global flags (--endpoints, --cacert, --cert, --key, --insecure-transport,
// --insecure-skip-tls-verify, --user, --password) plus one Keyward convenience, --certs-dir:
// with https endpoints and none of --cacert/--cert/--key, the CLI trusts <certs-dir>/ca/client-ca.crt
// and presents <certs-dir>/clients/root.crt|key when they exist — the files `keyward serve`
// generates on its first run — so a quick start needs no flags at all.

export const SECURE_DEFAULT_ENDPOINT = 'https://127.0.0.1:2379';
export const INSECURE_DEFAULT_ENDPOINT = 'http://127.0.0.1:2379';
/** The user whose certificate --certs-dir offers (CertStore.init's admin). */
export const CERTS_DIR_USER = 'root';

export interface ConnectionFlags {
  /** Comma-separated; undefined: the default endpoint. */
  endpoints?: string | undefined;
  cacert?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  insecureTransport?: boolean | undefined;
  insecureSkipTlsVerify?: boolean | undefined;
  certsDir: string;
  /** A --user was given: a password or token will be sent. */
  login: boolean;
}

export interface Connection {
  endpoints: string[];
  tls?: ClientTls;
  /** Where the TLS material came from, for messages: "flags", "certs-dir <dir>", or "system CAs". */
  trust: string;
}

/**
 * Endpoints and TLS for a command. Throws UsageError for contradictory flags; a file that cannot be
 * read throws (TlsError FileMissing / FilePermissions for keys, Node's error for others).
 */
export function resolveConnection(f: ConnectionFlags, warn: (line: string) => void): Connection {
  const explicitTls = f.cacert !== undefined || f.cert !== undefined || f.key !== undefined;
  if ((f.cert === undefined) !== (f.key === undefined)) throw new UsageError('--cert and --key must be given together');
  // etcdctl: a scheme-less endpoint is plaintext only with --insecure-transport and no TLS flags.
  const plainDefault = f.insecureTransport === true && !explicitTls;
  const raw = f.endpoints ?? (plainDefault ? INSECURE_DEFAULT_ENDPOINT : SECURE_DEFAULT_ENDPOINT);
  const endpoints = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map((e) => (/^[a-z][a-z0-9+.-]*:\/\//i.test(e) ? e : `${plainDefault ? 'http' : 'https'}://${e}`));
  if (endpoints.length === 0) throw new UsageError('--endpoints names no endpoint');
  for (const e of endpoints) {
    let u: URL;
    try {
      u = new URL(e);
    } catch {
      throw new UsageError(`--endpoints: ${e} is not a URL`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--endpoints: ${e} must be http:// or https://`);
  }
  const secure = endpoints.some((e) => e.startsWith('https:'));
  const plain = endpoints.filter((e) => e.startsWith('http:'));
  if (plain.length > 0 && f.login) warn(`keyward: WARNING: the password and token go over plaintext to ${plain.join(', ')}\n`);
  if (!secure) {
    if (explicitTls || f.insecureSkipTlsVerify === true) warn('keyward: TLS flags ignored: no https:// endpoint\n');
    return { endpoints, trust: 'none (plaintext)' };
  }
  if (f.insecureSkipTlsVerify === true) {
    // A password or token sent to a server nobody verified is a password handed to whoever
    // answers. A client certificate is safe (its signature covers this handshake only), so
    // certificate-only use is allowed, loudly.
    if (f.login) throw new UsageError('--insecure-skip-tls-verify cannot be used with --user: the password would go to a server whose certificate is not checked');
    warn("keyward: WARNING: --insecure-skip-tls-verify: the server's certificate is not checked; anyone on the network path can read and change this session\n");
  }
  const tls: ClientTls = f.insecureSkipTlsVerify === true ? { insecureSkipVerify: true } : {};
  if (explicitTls) {
    if (f.cacert !== undefined) tls.ca = readPublic(f.cacert, '--cacert');
    if (f.cert !== undefined && f.key !== undefined) {
      tls.cert = readPublic(f.cert, '--cert');
      tls.key = readPrivateFile(f.key);
    }
    return { endpoints, tls, trust: 'flags' };
  }
  const layout = certLayout(f.certsDir);
  if (!existsSync(layout.clientCa.cert)) return { endpoints, tls, trust: `system CAs (no --cacert, and no ${layout.clientCa.cert})` };
  tls.ca = readPublic(layout.clientCa.cert, '--certs-dir');
  const admin = layout.client(CERTS_DIR_USER);
  if (existsSync(admin.cert) && existsSync(admin.key)) {
    tls.cert = readPublic(admin.cert, '--certs-dir');
    tls.key = readPrivateFile(admin.key);
  }
  return { endpoints, tls, trust: `certs-dir ${f.certsDir}` };
}

function readPublic(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliFileError(`${flag}: cannot read ${path}${code === undefined ? '' : ` (${code})`}`);
  }
}

/** A file named by a flag that cannot be read: a failure (exit 1), not a usage error. */
export class CliFileError extends Error {
  override readonly name = 'CliFileError';
}

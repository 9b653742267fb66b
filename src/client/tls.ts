import { readFileSync, statSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';

// TLS for the client SDK: which CAs to trust, and the client certificate to present (mutual TLS).
//
// The hardening matches src/tls's clientTlsOptions (TLS 1.2 minimum, AEAD suites with forward
// secrecy, X25519/P-256/P-384, the server always verified) but is spelled out here: the client
// module imports only `wire` (ARCHITECTURE.md), and pulling src/tls in would load node-forge into
// every application that uses the SDK. test/client/tls-options.test.ts pins these lists to
// src/tls's so the two cannot drift apart.

export const CLIENT_TLS_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

export const CLIENT_ECDH_CURVES = 'X25519:P-256:P-384';

/** TLS material for https endpoints, in PEM. */
export interface ClientTls {
  /** CA certificates that verify the members' server certificates. Default: Node's public roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** This client's certificate (leaf first) for mutual TLS; needs `key`. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name the server certificate must match, when it differs from the endpoint's host. */
  servername?: string;
  /**
   * Accept any server certificate (etcdctl's --insecure-skip-tls-verify). The connection is then
   * encrypted but not authenticated: anyone on the path can read and change it. Never send a
   * password or token over it.
   */
  insecureSkipVerify?: boolean;
}

/** Reads `ClientTls` from PEM files; the key file must not be readable by group or others. */
export function clientTlsFromFiles(files: { caFile?: string; certFile?: string; keyFile?: string }): ClientTls {
  const out: ClientTls = {};
  if (files.caFile !== undefined) out.ca = readFileSync(files.caFile);
  if (files.certFile !== undefined) out.cert = readFileSync(files.certFile);
  if (files.keyFile !== undefined) {
    const mode = statSync(files.keyFile).mode;
    if ((mode & 0o077) !== 0) {
      throw new TypeError(`${files.keyFile} has mode ${(mode & 0o777).toString(8)}; a private key must be 0600 (chmod 600 ${files.keyFile})`);
    }
    out.key = readFileSync(files.keyFile);
  }
  return out;
}

/** The options given to https.Agent / https.request for `tls`. */
export function clientConnectionOptions(tls: ClientTls = {}): ConnectionOptions {
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new TypeError('a client certificate needs both cert and key');
  const opts: ConnectionOptions = {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: CLIENT_TLS_CIPHERS,
    ecdhCurve: CLIENT_ECDH_CURVES,
    rejectUnauthorized: tls.insecureSkipVerify !== true,
  };
  if (tls.ca !== undefined) opts.ca = tls.ca;
  if (tls.cert !== undefined) opts.cert = tls.cert;
  if (tls.key !== undefined) opts.key = tls.key;
  if (tls.servername !== undefined) opts.servername = tls.servername;
  return opts;
}

/**
 * An operator-readable reason for a failed connection: OpenSSL's verification codes say what was
 * wrong with the server's certificate; a plaintext/TLS mismatch gets a hint.
 */
export function describeConnectionError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  const base = code !== undefined && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
  if (code !== undefined && VERIFY_CODES.has(code)) return `TLS: the server certificate was not accepted: ${base}`;
  if (/wrong version number|packet length too long|http request/i.test(err.message)) return `TLS: ${base} (is the endpoint plain http://?)`;
  if (/alert|certificate required|ssl/i.test(err.message)) return `TLS: ${base} (the server refused this client's certificate?)`;
  return base;
}

const VERIFY_CODES: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

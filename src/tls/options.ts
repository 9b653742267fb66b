// Hardened TLS options for Keyward's listeners and outgoing connections (GUARANTEES A19, D9).
//
// * TLS 1.2 minimum, 1.3 preferred. Older ClientHellos fail the handshake.
// * AEAD cipher suites with forward secrecy only: TLS 1.3's three suites, and for TLS 1.2
//   ECDHE with AES-GCM or ChaCha20-Poly1305, for ECDSA and RSA certificates. No CBC, no static
//   RSA key exchange, no SHA-1 MACs.
// * Key exchange on X25519, P-256 or P-384.
// * Renegotiation off (SSL_OP_NO_RENEGOTIATION): a TLS 1.2 client asking to renegotiate gets a
//   no_renegotiation alert. TLS 1.3 has no renegotiation.
// * A handshake that does not finish within the handshake timeout is dropped (slow-handshake
//   DoS, GHSA-6vch-q96h-7gc3).
// * Client certificates are requested and verified by default (mutual TLS).
//
// The same secure-context options go to tls.createServer and to every server.setSecureContext:
// Node's setSecureContext rebuilds the context from the options it is given alone and silently
// falls back to Node's defaults for any it is not (lib/_tls_wrap.js), so a reload that passed
// only key/cert/ca would quietly re-enable Node's default cipher list.

import { constants } from 'node:crypto';
import { TlsError, quote } from './errors.js';
import { checkServerIdentity as defaultCheckServerIdentity, type ConnectionOptions, type PeerCertificate, type SecureContextOptions, type TlsOptions } from 'node:tls';

export const TLS_CIPHERS = [
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

export const ECDH_CURVES = 'X25519:P-256:P-384';

export const SECURE_OPTIONS = constants.SSL_OP_NO_RENEGOTIATION;

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

export type MinTlsVersion = 'TLSv1.2' | 'TLSv1.3';

/** Certificate material in PEM: this side's certificate chain and key, the CAs it trusts, optional CRLs. */
export interface TlsMaterial {
  /** This side's certificate, leaf first, then any intermediates. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** CA certificates that verify the other side (client CA on the client port, peer CA on the peer port). */
  readonly ca: string | Buffer | readonly (string | Buffer)[];
  /** CRLs (PEM) for the CAs in `ca`; OpenSSL then refuses revoked certificates at the handshake. */
  readonly crl?: string | Buffer | readonly (string | Buffer)[] | undefined;
}

export interface HardeningOptions {
  /** Default TLSv1.2. */
  readonly minVersion?: MinTlsVersion;
}

/** The hardened secure-context options: for tls.createSecureContext and server.setSecureContext. */
export function secureContextOptions(m: TlsMaterial, h: HardeningOptions = {}): SecureContextOptions {
  const opts: SecureContextOptions = {
    cert: m.cert,
    key: m.key,
    // Node's types want mutable arrays; these are never mutated.
    ca: (Array.isArray(m.ca) ? [...m.ca] : m.ca) as string | Buffer | (string | Buffer)[],
    minVersion: h.minVersion ?? 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: TLS_CIPHERS,
    ecdhCurve: ECDH_CURVES,
    honorCipherOrder: true,
    secureOptions: SECURE_OPTIONS,
  };
  if (m.crl !== undefined) opts.crl = (Array.isArray(m.crl) ? [...m.crl] : m.crl) as string | Buffer | (string | Buffer)[];
  return opts;
}

export interface ServerTlsOptions extends TlsMaterial, HardeningOptions {
  /** Ask for a client certificate (mutual TLS). Default true. */
  readonly requestCert?: boolean;
  /** Refuse a client whose certificate does not verify, or that sends none. Default true. */
  readonly rejectUnauthorized?: boolean;
  /** Default DEFAULT_HANDSHAKE_TIMEOUT_MS. */
  readonly handshakeTimeoutMs?: number;
}

/** Options for tls.createServer / https.createServer. */
export function serverTlsOptions(o: ServerTlsOptions): TlsOptions {
  const requestCert = o.requestCert ?? true;
  const rejectUnauthorized = o.rejectUnauthorized ?? true;
  if (rejectUnauthorized && !requestCert) throw new TypeError('rejectUnauthorized needs requestCert: a server cannot verify a certificate it never asked for');
  const handshakeTimeout = o.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  if (!Number.isFinite(handshakeTimeout) || handshakeTimeout <= 0) throw new TypeError('handshakeTimeoutMs must be positive');
  return { ...secureContextOptions(o, o), requestCert, rejectUnauthorized, handshakeTimeout };
}

export interface ClientTlsOptions extends TlsMaterial, HardeningOptions {
  /** SNI and the name checked against the server certificate; default: the host connected to. */
  readonly servername?: string;
  /**
   * The CN the server's certificate must carry in addition to matching the host name: a peer
   * dialling member "m2" checks it reached m2, not another member that shares an address.
   */
  readonly expectedName?: string;
}

/** Options for tls.connect / https.request: always verifies the server. */
export function clientTlsOptions(o: ClientTlsOptions): ConnectionOptions {
  const opts: ConnectionOptions = { ...secureContextOptions(o, o), rejectUnauthorized: true };
  if (o.servername !== undefined) opts.servername = o.servername;
  const expected = o.expectedName;
  if (expected !== undefined) {
    opts.checkServerIdentity = (host: string, cert: PeerCertificate): Error | undefined => {
      const err = defaultCheckServerIdentity(host, cert);
      if (err !== undefined) return err;
      const cn: unknown = cert.subject?.CN;
      if (cn !== expected) return new TlsError('NotAllowed', `the server certificate names ${typeof cn === 'string' ? quote(cn) : 'no single CN'}, expected ${quote(expected)}`);
      return undefined;
    };
  }
  return opts;
}

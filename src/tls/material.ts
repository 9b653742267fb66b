// Loading TLS material from files and deciding whether it is fit to serve with.
//
// A listener must never run with material that would fail every handshake, nor fall back to a
// weaker configuration, so loading is all-or-nothing: every file parses, the key belongs to the
// certificate, the certificate is inside its validity window, every trusted certificate is a CA,
// and finally OpenSSL itself builds a secure context from the hardened options. Only material
// that passed all of that is ever handed to a server (see reload.ts).

import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { crlTimes } from './der.js';
import { TlsError } from './errors.js';
import { readPrivateFile, readPublicFile } from './files.js';
import { secureContextOptions, type HardeningOptions, type TlsMaterial } from './options.js';
import { RevocationList } from './revocation.js';
import { normalizeSerial } from './x509.js';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/**
 * Every certificate in a PEM text, in order. Text outside the blocks is ignored (OpenSSL's
 * bundles carry "subject=" lines); a block of another kind is refused.
 */
export function parseCertificates(pem: string | Buffer, what: string): X509Certificate[] {
  const text = pem.toString();
  const out: X509Certificate[] = [];
  for (const m of text.matchAll(PEM_BLOCK)) {
    if (m[1] !== 'CERTIFICATE') throw new TlsError('InvalidMaterial', `${what} holds a ${m[1]} block where only certificates belong`);
    try {
      out.push(new X509Certificate(m[0]));
    } catch (e) {
      throw new TlsError('InvalidMaterial', `${what} holds a certificate that does not parse`, { cause: e });
    }
  }
  if (out.length === 0) throw new TlsError('InvalidMaterial', `${what} holds no certificate`);
  return out;
}

export function parsePrivateKey(pem: string | Buffer, what: string): KeyObject {
  const text = pem.toString();
  // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key; it carries nothing secret.
  const blocks = [...text.matchAll(PEM_BLOCK)].filter((m) => m[1] !== 'EC PARAMETERS');
  if (blocks.length !== 1 || !/PRIVATE KEY$/.test(blocks[0]![1]!)) {
    throw new TlsError('InvalidMaterial', `${what} must hold exactly one unencrypted private key`);
  }
  try {
    return createPrivateKey({ key: blocks[0]![0], format: 'pem' });
  } catch (e) {
    // Encrypted keys land here too: Keyward protects keys with file modes, not passphrases.
    throw new TlsError('InvalidMaterial', `${what} does not hold a usable unencrypted private key`, { cause: e });
  }
}

/** `cert` is usable at `now`, or an Expired error naming which edge it is past. */
export function checkValidity(cert: X509Certificate, now: number, what: string): void {
  if (now < Date.parse(cert.validFrom)) throw new TlsError('Expired', `${what} is not valid before ${cert.validFrom}`);
  if (now > Date.parse(cert.validTo)) throw new TlsError('Expired', `${what} expired on ${cert.validTo}`);
}

/**
 * Every CRL in the text must be current. OpenSSL treats a CRL past its nextUpdate as a failure
 * for every certificate of that CA (CRL_HAS_EXPIRED), so loading one would lock every client out;
 * it is refused here instead, and the listener keeps what it had.
 */
function checkCrls(text: string, now: number): void {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) throw new TlsError('InvalidMaterial', 'the CRL file holds no CRL');
  for (const m of blocks) {
    if (m[1] !== 'X509 CRL') throw new TlsError('InvalidMaterial', `the CRL file holds a ${m[1]} block where only CRLs belong`);
    const { nextUpdate } = crlTimes(Buffer.from(m[2]!.replace(/\s+/g, ''), 'base64'));
    if (nextUpdate !== undefined && nextUpdate < now) {
      throw new TlsError('Expired', `a CRL passed its nextUpdate (${new Date(nextUpdate).toISOString()}); issue a fresh one (keyward certs revoke)`);
    }
  }
}

export interface TlsFiles {
  /** This side's certificate (leaf first, then intermediates). */
  readonly certFile: string;
  /** Its private key; must be mode 0600 and ours. */
  readonly keyFile: string;
  /** CAs that verify the other side. */
  readonly caFile: string;
  /** Optional CRL file (PEM, one or more CRLs) enforced by OpenSSL at the handshake. */
  readonly crlFile?: string | undefined;
  /** Optional serial denylist (RevocationList format). */
  readonly revokedFile?: string | undefined;
}

export interface LoadedMaterial extends TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly crl?: string;
  /** Parsed chain, leaf first. */
  readonly chain: readonly X509Certificate[];
  readonly leaf: X509Certificate;
  readonly leafSerial: string;
  readonly cas: readonly X509Certificate[];
  readonly revoked: readonly string[];
  /** Digest of every input byte, to tell a real change from a repeated file event. */
  readonly digest: string;
}

export interface LoadOptions extends HardeningOptions {
  readonly now?: () => number;
}

/** Reads and fully checks the material named by `files`; throws a TlsError and changes nothing on any problem. */
export function loadTlsFiles(files: TlsFiles, opts: LoadOptions = {}): LoadedMaterial {
  const certText = readPublicFile(files.certFile).toString();
  const keyText = readPrivateFile(files.keyFile).toString();
  const caText = readPublicFile(files.caFile).toString();
  const crlText = files.crlFile === undefined ? undefined : readPublicFile(files.crlFile).toString();
  const revokedText = files.revokedFile === undefined ? undefined : readPublicFile(files.revokedFile).toString();
  return checkMaterial({ cert: certText, key: keyText, ca: caText, crl: crlText, revoked: revokedText }, opts);
}

export interface MaterialTexts {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
  readonly crl?: string | undefined;
  readonly revoked?: string | undefined;
}

/** The checks of loadTlsFiles on material already in memory. */
export function checkMaterial(t: MaterialTexts, opts: LoadOptions = {}): LoadedMaterial {
  const now = (opts.now ?? Date.now)();
  const chain = parseCertificates(t.cert, 'the certificate file');
  const leaf = chain[0]!;
  const key = parsePrivateKey(t.key, 'the key file');
  if (!leaf.checkPrivateKey(key)) throw new TlsError('KeyMismatch', 'the private key does not belong to the certificate');
  checkValidity(leaf, now, 'the certificate');
  const cas = parseCertificates(t.ca, 'the CA file');
  for (const ca of cas) {
    if (!ca.ca) throw new TlsError('NotCa', `the CA file holds a certificate that is not a CA (${ca.subject.replace(/\n/g, ', ')})`);
  }
  if (t.crl !== undefined) checkCrls(t.crl, now);
  const revoked = t.revoked === undefined ? [] : RevocationList.parse(t.revoked);
  const material: LoadedMaterial = {
    cert: t.cert,
    key: t.key,
    ca: t.ca,
    ...(t.crl === undefined ? {} : { crl: t.crl }),
    chain,
    leaf,
    leafSerial: normalizeSerial(leaf.serialNumber),
    cas,
    revoked,
    digest: createHash('sha256')
      .update(JSON.stringify([t.cert, t.key, t.ca, t.crl ?? null, t.revoked ?? null]))
      .digest('hex'),
  };
  // Last word to OpenSSL: anything it would refuse (a CRL that does not parse, an unusable key
  // type) is refused here, before any server sees it.
  try {
    createSecureContext(secureContextOptions(material, opts));
  } catch (e) {
    throw new TlsError('InvalidMaterial', `OpenSSL refuses the material: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return material;
}

// Keys: generated, exported and used for signing by node:crypto (OpenSSL), never by node-forge.
//
// Why: node-forge 1.4.3 can only produce RSA-signed certificates. Its `cert.sign` looks up the
// signature OID as `md.algorithm + 'WithRSAEncryption'` (lib/x509.js), `publicKeyToAsn1` writes
// an rsaEncryption SubjectPublicKeyInfo and nothing else (lib/rsa.js), and lib/oids.js has no
// ECDSA OIDs at all; its ed25519 module signs raw messages but is not wired into X.509. RSA done
// by forge is also pure JavaScript: slow key generation, and signing in a library with a history
// of RSA signature CVEs. So forge encodes the certificate structure (names, extensions, times),
// and OpenSSL generates the key and signs the DER that forge produced. The default key is ECDSA
// P-256: generation takes well under a millisecond (RSA-3072 takes hundreds), handshakes are
// cheaper, and every TLS 1.2/1.3 stack in use speaks it. RSA stays available for clients that
// need it.

import { createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { OID } from './der.js';
import { TlsError } from './errors.js';

export type KeyAlgorithm = 'ecdsa-p256' | 'rsa-2048' | 'rsa-3072';

export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = ['ecdsa-p256', 'rsa-2048', 'rsa-3072'];
export const DEFAULT_KEY_ALGORITHM: KeyAlgorithm = 'ecdsa-p256';

export function generatePrivateKey(algorithm: KeyAlgorithm = DEFAULT_KEY_ALGORITHM): KeyObject {
  switch (algorithm) {
    case 'ecdsa-p256':
      return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'rsa-2048':
      return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'rsa-3072':
      return generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey;
    default:
      throw new TypeError(`unknown key algorithm ${String(algorithm satisfies never)}`);
  }
}

/** PKCS#8 PEM, unencrypted: the file's 0600 mode is the protection (as etcd and kubeadm do). */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** SubjectPublicKeyInfo DER of a key (of its public half when given the private key). */
export function spkiDer(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ type: 'spki', format: 'der' });
}

export interface SignatureAlgorithm {
  /** signatureAlgorithm OID. */
  readonly oid: string;
  /** RSA AlgorithmIdentifiers carry an explicit NULL; ECDSA ones have no parameters (RFC 5758). */
  readonly nullParameters: boolean;
  /** Digest node:crypto.sign uses. */
  readonly digest: 'sha256' | 'sha384';
}

/** The signature algorithm a CA key signs with. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 2048) throw new TlsError('InvalidMaterial', `RSA key of ${bits} bits is too small to sign certificates (2048 minimum)`);
    return { oid: OID.sha256WithRsa, nullParameters: true, digest: 'sha256' };
  }
  if (key.asymmetricKeyType === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { oid: OID.ecdsaWithSha256, nullParameters: false, digest: 'sha256' };
    if (curve === 'secp384r1') return { oid: OID.ecdsaWithSha384, nullParameters: false, digest: 'sha384' };
    throw new TlsError('InvalidMaterial', `EC curve ${String(curve)} is not supported for signing (P-256 or P-384)`);
  }
  throw new TlsError('InvalidMaterial', `key type ${String(key.asymmetricKeyType)} cannot sign certificates (ECDSA or RSA)`);
}

/** Signs DER with the CA key. ECDSA signatures come out DER-encoded (dsaEncoding 'der'), as X.509 wants. */
export function signDer(key: KeyObject, der: Buffer): Buffer {
  return sign(signatureAlgorithmFor(key).digest, der, { key, dsaEncoding: 'der' });
}

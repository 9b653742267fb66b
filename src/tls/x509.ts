// Certificate and CRL issuance.
//
// node-forge encodes every structure we generate (names, validity, extensions, the CRL body);
// node:crypto supplies the keys, the SubjectPublicKeyInfo and the signature (see keys.ts for why
// forge does not sign). The pieces are joined at the DER level (der.ts `wrap`) so the bytes of a
// foreign structure, a CA's subject name or an OpenSSL-exported key, pass through unchanged.
//
// Every certificate is checked by OpenSSL before it is returned: it must parse, carry the subject
// key, and verify under the issuer's key. A bug here therefore fails at issuance, not at the
// first handshake in production.
//
// Profiles (RFC 5280):
//   CA      basicConstraints critical CA:true pathlen:0; keyUsage critical keyCertSign, cRLSign.
//           pathlen 0: a CA can sign only end-entity certificates, so no certificate it issues
//           can itself mint identities.
//   server  keyUsage critical digitalSignature; EKU serverAuth;            SANs = DNS names / IPs.
//   peer    keyUsage critical digitalSignature; EKU serverAuth+clientAuth; SANs; CN = member name.
//   client  keyUsage critical digitalSignature; EKU clientAuth only;       CN = user name,
//           O = tenant ID when the user belongs to a tenant (see README.md, "Tenant in a certificate").
// Every certificate carries subjectKeyIdentifier and (when issued by a CA) authorityKeyIdentifier,
// and basicConstraints CA:false for end entities. Serial numbers are 126 random bits.

import { X509Certificate, createHash, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';
import { TAG, wrap, certificateParts, children, readOne, subjectKeyId, OID } from './der.js';
import { TlsError } from './errors.js';
import { generatePrivateKey, privateKeyPem, signDer, signatureAlgorithmFor, spkiDer, type KeyAlgorithm } from './keys.js';
import { checkIssuedName, checkTenantId, parseHost, type HostName } from './names.js';

const { asn1, pki } = forge;
type Asn1 = forge.asn1.Asn1;

// @types/node-forge leaves out pki.certificateExtensionToAsn1, which lib/x509.js exports and which
// is the encoder for one filled-in extension object.
const forgeExtensions = pki as unknown as { certificateExtensionToAsn1(ext: object): Asn1 };
// @types/node-forge types CertificateField.valueTagClass as asn1.Class, but forge compares it
// with asn1.Type values (lib/x509.js _dnToAsn1); UTF8 is type 12.
const UTF8_TAG = asn1.Type.UTF8 as unknown as forge.asn1.Class;

const toDer = (node: Asn1): Buffer => Buffer.from(asn1.toDer(node).getBytes(), 'binary');
const bytes = (b: Uint8Array): string => Buffer.from(b).toString('binary');
const oidNode = (oid: string): Asn1 => asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(oid).getBytes());

function timeNode(d: Date): Asn1 {
  // RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on.
  return d.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(d))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(d));
}

function algorithmIdentifier(key: KeyObject): Buffer {
  const alg = signatureAlgorithmFor(key);
  const parts = [oidNode(alg.oid)];
  if (alg.nullParameters) parts.push(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, ''));
  return toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, parts));
}

/** Signs `tbs` and joins it with the algorithm and signature into the outer SEQUENCE (Certificate and CertificateList share this shape). */
function signed(tbs: Buffer, signer: KeyObject): Buffer {
  const signature = signDer(signer, tbs);
  const sigBits = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\x00${bytes(signature)}`);
  return wrap(TAG.SEQUENCE, tbs, algorithmIdentifier(signer), toDer(sigBits));
}

const ATTRIBUTE_OIDS = { CN: '2.5.4.3', O: '2.5.4.10', OU: '2.5.4.11' } as const;

export interface SubjectAttribute {
  readonly type: keyof typeof ATTRIBUTE_OIDS;
  readonly value: string;
}

/** A Name with one attribute per RDN, in the order given, each a UTF8String (RFC 5280's recommendation). */
function nameDer(attrs: readonly SubjectAttribute[]): Buffer {
  return toDer(
    pki.distinguishedNameToAsn1({
      attributes: attrs.map((a) => ({ type: ATTRIBUTE_OIDS[a.type], value: a.value, valueTagClass: UTF8_TAG })),
    }),
  );
}

/** RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
function keyIdentifier(spki: Buffer): Buffer {
  const bits = children(readOne(spki).content)[1];
  if (bits === undefined || bits.tag !== TAG.BIT_STRING) throw new TypeError('SubjectPublicKeyInfo without a BIT STRING');
  return createHash('sha1').update(bits.content.subarray(1)).digest();
}

/** 16 random bytes, top bits 01: positive, never zero, minimal DER, 126 bits of entropy (CA/B asks for 64). */
export function randomSerial(): Buffer {
  const b = randomBytes(16);
  b[0] = 0x40 | (b[0]! & 0x3f);
  return b;
}

/** Upper-case hex without separators or leading zeros: the one spelling used for comparing serials. */
export function normalizeSerial(serial: string): string {
  const hex = serial.replace(/[:\s]/g, '').toUpperCase();
  if (!/^[0-9A-F]+$/.test(hex)) throw new TlsError('InvalidName', `serial ${JSON.stringify(serial.slice(0, 80))} is not hexadecimal`);
  return hex.replace(/^0+(?=.)/, '');
}

export type ExtendedKeyUsage = 'serverAuth' | 'clientAuth';

/** Everything that goes into one certificate. Low level: no name rules apply here (tests build odd certificates with it). */
export interface CertificateSpec {
  readonly subject: readonly SubjectAttribute[];
  /** The certified key: a public key, or the private key (its public half is used). */
  readonly key: KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Magnitude bytes (unsigned, big-endian); default randomSerial(). */
  readonly serial?: Uint8Array;
  /** A CA certificate (pathlen 0) instead of an end entity. */
  readonly ca?: boolean;
  readonly extKeyUsage?: readonly ExtendedKeyUsage[];
  readonly hosts?: readonly HostName[];
}

/** A certificate with its private key, as PEM and as parsed objects. */
export interface CertifiedKey {
  readonly cert: X509Certificate;
  readonly certPem: string;
  readonly key: KeyObject;
  readonly keyPem: string;
  /** normalizeSerial() form. */
  readonly serial: string;
}

/** Builds, signs and self-checks a certificate. `issuer` undefined means self-signed with `signingKey`. */
export function buildCertificate(spec: CertificateSpec, signingKey: KeyObject, issuer?: X509Certificate): X509Certificate {
  if (spec.notAfter.getTime() <= spec.notBefore.getTime()) throw new TypeError('notAfter must be after notBefore');
  const spki = spkiDer(spec.key);
  const subject = nameDer(spec.subject);
  const issuerParts = issuer === undefined ? undefined : certificateParts(issuer.raw);
  const ski = keyIdentifier(spki);
  const aki = issuerParts === undefined ? ski : (subjectKeyId(issuerParts) ?? keyIdentifier(issuerParts.spki));

  const exts: object[] = [
    spec.ca === true
      ? { name: 'basicConstraints', critical: true, cA: true, pathLenConstraint: 0 }
      : { name: 'basicConstraints', critical: true, cA: false },
    spec.ca === true
      ? { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true }
      : { name: 'keyUsage', critical: true, digitalSignature: true },
    { name: 'subjectKeyIdentifier', value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes(ski)) },
    { name: 'authorityKeyIdentifier', keyIdentifier: bytes(aki) },
  ];
  if (spec.extKeyUsage !== undefined && spec.extKeyUsage.length > 0) {
    exts.push({ name: 'extKeyUsage', ...Object.fromEntries(spec.extKeyUsage.map((u) => [u, true])) });
  }
  if (spec.hosts !== undefined && spec.hosts.length > 0) {
    // GeneralName tags: 2 = dNSName, 7 = iPAddress (forge converts the textual IP to bytes).
    exts.push({ name: 'subjectAltName', altNames: spec.hosts.map((h) => (h.kind === 'ip' ? { type: 7, ip: h.value } : { type: 2, value: h.value })) });
  }
  // setExtensions fills in each extension's encoded value (forge's _fillMissingExtensionFields);
  // the throwaway certificate object is only its carrier.
  const carrier = pki.createCertificate();
  carrier.setExtensions(exts);
  const extensionsDer = wrap(0xa3, wrap(TAG.SEQUENCE, ...carrier.extensions.map((e: object) => toDer(forgeExtensions.certificateExtensionToAsn1(e)))));

  const version = asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, '\x02')]);
  const serial = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, bytes(positiveInteger(spec.serial ?? randomSerial())));
  const validity = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [timeNode(spec.notBefore), timeNode(spec.notAfter)]);
  const tbs = wrap(
    TAG.SEQUENCE,
    toDer(version),
    toDer(serial),
    algorithmIdentifier(signingKey),
    issuerParts?.subject ?? subject,
    toDer(validity),
    subject,
    spki,
    extensionsDer,
  );
  const cert = new X509Certificate(signed(tbs, signingKey));

  // OpenSSL's reading of what we built must match what we meant.
  if (!cert.verify(issuer?.publicKey ?? createPublicKey(signingKey))) throw new Error('internal: issued certificate does not verify under its issuer key');
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki)) throw new Error('internal: issued certificate carries the wrong key');
  return cert;
}

export interface IssueOptions {
  readonly keyAlgorithm?: KeyAlgorithm;
  /** Default 365 for end entities, 3650 for CAs. */
  readonly validityDays?: number;
  /** Clock for notBefore/notAfter; default Date.now. */
  readonly now?: () => number;
}

// Start validity a little in the past so a member whose clock runs slightly behind the CA's
// accepts a certificate issued this minute.
const BACKDATE_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

function window(opts: IssueOptions, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const days = opts.validityDays ?? defaultDays;
  if (!Number.isFinite(days) || days <= 0 || days > 36_500) throw new TypeError('validityDays must be in (0, 36500]');
  const now = (opts.now ?? Date.now)();
  return { notBefore: new Date(now - BACKDATE_MS), notAfter: new Date(now + days * DAY_MS) };
}

function certified(cert: X509Certificate, key: KeyObject): CertifiedKey {
  return { cert, certPem: cert.toString(), key, keyPem: privateKeyPem(key), serial: normalizeSerial(cert.serialNumber) };
}

/** A new self-signed CA. `purpose` goes into the CN with a random tag, so two CAs never share a name. */
export function createCa(purpose: 'client' | 'peer', opts: IssueOptions = {}): CertifiedKey {
  const key = generatePrivateKey(opts.keyAlgorithm);
  const tag = randomBytes(4).toString('hex');
  const cert = buildCertificate(
    { subject: [{ type: 'CN', value: `keyward ${purpose} CA ${tag}` }], key, ca: true, ...window(opts, 3650) },
    key,
  );
  return certified(cert, key);
}

/** The CA as an issuer: its certificate and private key. */
export interface Issuer {
  readonly cert: X509Certificate;
  readonly key: KeyObject;
}

function checkIssuer(ca: Issuer): void {
  if (!ca.cert.ca) throw new TlsError('NotCa', 'the issuing certificate is not a CA (basicConstraints CA:false)');
  if (!ca.cert.checkPrivateKey(ca.key)) throw new TlsError('KeyMismatch', 'the CA key does not belong to the CA certificate');
}

function hostList(hosts: readonly string[]): HostName[] {
  const seen = new Set<string>();
  const out: HostName[] = [];
  for (const h of hosts) {
    const parsed = parseHost(h);
    const k = `${parsed.kind}:${parsed.value}`;
    if (!seen.has(k)) {
      seen.add(k);
      out.push(parsed);
    }
  }
  return out;
}

/** A member's certificate for the client port, signed by the client CA. */
export function issueServerCertificate(ca: Issuer, member: string, hosts: readonly string[], opts: IssueOptions = {}): CertifiedKey {
  checkIssuer(ca);
  checkIssuedName('member', member);
  const sans = hostList(hosts);
  if (sans.length === 0) throw new TlsError('InvalidName', 'a server certificate needs at least one DNS name or IP address');
  const key = generatePrivateKey(opts.keyAlgorithm);
  const cert = buildCertificate(
    { subject: [{ type: 'CN', value: member }], key, extKeyUsage: ['serverAuth'], hosts: sans, ...window(opts, 365) },
    ca.key,
    ca.cert,
  );
  return certified(cert, key);
}

/** A member's certificate for the peer port (server and client side), signed by the peer CA. */
export function issuePeerCertificate(ca: Issuer, member: string, hosts: readonly string[], opts: IssueOptions = {}): CertifiedKey {
  checkIssuer(ca);
  checkIssuedName('member', member);
  const sans = hostList(hosts);
  if (sans.length === 0) throw new TlsError('InvalidName', 'a peer certificate needs at least one DNS name or IP address');
  const key = generatePrivateKey(opts.keyAlgorithm);
  const cert = buildCertificate(
    { subject: [{ type: 'CN', value: member }], key, extKeyUsage: ['serverAuth', 'clientAuth'], hosts: sans, ...window(opts, 365) },
    ca.key,
    ca.cert,
  );
  return certified(cert, key);
}

/** A user's client certificate, signed by the client CA: CN = user, O = tenant when given. */
export function issueClientCertificate(ca: Issuer, user: string, tenant?: string, opts: IssueOptions = {}): CertifiedKey {
  checkIssuer(ca);
  checkIssuedName('user', user);
  const subject: SubjectAttribute[] = [{ type: 'CN', value: user }];
  if (tenant !== undefined) subject.push({ type: 'O', value: checkTenantId(tenant) });
  const key = generatePrivateKey(opts.keyAlgorithm);
  const cert = buildCertificate({ subject, key, extKeyUsage: ['clientAuth'], ...window(opts, 365) }, ca.key, ca.cert);
  return certified(cert, key);
}

export interface CrlOptions {
  /** Default Date.now(). */
  readonly now?: () => number;
  /** nextUpdate = thisUpdate + this many days (default 30). OpenSSL refuses every client once it passes: re-issue before. */
  readonly validityDays?: number;
  /** Monotonic cRLNumber; default the current time in seconds. */
  readonly number?: number;
}

/**
 * A version 2 CRL signed by `ca` listing `serials` (hex, any spelling). Loaded into a listener's
 * `crl` option, OpenSSL refuses the listed certificates during the handshake.
 */
export function createCrl(ca: Issuer, serials: Iterable<string>, opts: CrlOptions = {}): string {
  checkIssuer(ca);
  const now = (opts.now ?? Date.now)();
  const days = opts.validityDays ?? 30;
  if (!Number.isFinite(days) || days <= 0) throw new TypeError('validityDays must be positive');
  const thisUpdate = new Date(now - BACKDATE_MS);
  const nextUpdate = new Date(now + days * DAY_MS);
  const caParts = certificateParts(ca.cert.raw);
  const aki = subjectKeyId(caParts) ?? keyIdentifier(caParts.spki);
  const crlNumber = opts.number ?? Math.floor(now / 1000);

  const unique = [...new Set([...serials].map(normalizeSerial))].sort();
  const entries = unique.map((s) =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, bytes(serialBytes(s))),
      timeNode(thisUpdate),
    ]),
  );
  const carrier = pki.createCertificate();
  carrier.setExtensions([
    { name: 'authorityKeyIdentifier', keyIdentifier: bytes(aki) },
    { id: OID.cRLNumber, value: asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, bytes(integerBytes(crlNumber))) },
  ]);
  const parts: Buffer[] = [
    toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, '\x01')), // v2
    algorithmIdentifier(ca.key),
    caParts.subject,
    toDer(timeNode(thisUpdate)),
    toDer(timeNode(nextUpdate)),
  ];
  // revokedCertificates is OPTIONAL and must be absent, not empty, when nothing is revoked.
  if (entries.length > 0) parts.push(toDer(asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, entries)));
  parts.push(wrap(0xa0, wrap(TAG.SEQUENCE, ...carrier.extensions.map((e: object) => toDer(forgeExtensions.certificateExtensionToAsn1(e))))));
  const der = signed(wrap(TAG.SEQUENCE, ...parts), ca.key);
  return `-----BEGIN X509 CRL-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END X509 CRL-----\n`;
}

/** DER INTEGER content for a non-negative magnitude: no redundant leading zeros, a 0x00 in front when the top bit is set. */
function positiveInteger(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const b = Buffer.from(magnitude.subarray(i));
  if (b.length === 0) return Buffer.of(0);
  return (b[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.of(0), b]) : b;
}

/** INTEGER content of a normalized hex serial. */
function serialBytes(hex: string): Buffer {
  return positiveInteger(Buffer.from(hex.length % 2 === 1 ? `0${hex}` : hex, 'hex'));
}

function integerBytes(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('CRL number must be a non-negative safe integer');
  return serialBytes(n.toString(16).toUpperCase());
}

// Just enough DER reading to get back the few fields of a certificate that Node does not expose
// in structured form: the raw issuer and subject names (a child certificate and a CRL must repeat
// the CA's subject byte for byte), the subjectAltName list (to re-issue a member certificate with
// the same names), the subject key identifier. Building is node-forge's job (x509.ts).
//
// This is NOT used to decide whether a certificate is trusted: OpenSSL verifies chains during the
// handshake, and identity is read from what OpenSSL parsed (see identity.ts). The reader is still
// strict (definite minimal lengths, no trailing bytes, bounds on every read) because it runs on
// files an operator can replace.

import { TlsError } from './errors.js';

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  OCTET_STRING: 0x04,
  OID: 0x06,
  BIT_STRING: 0x03,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
} as const;

/** Context-specific tag number n, constructed (e.g. [0] EXPLICIT) or primitive (e.g. [2] IMPLICIT IA5String). */
export const contextTag = (n: number, constructed: boolean): number => 0x80 | (constructed ? 0x20 : 0) | n;

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/**
 * One DER element around already-encoded parts. Used to join what node-forge encoded with bytes
 * that must pass through untouched (a CA's subject name, a SubjectPublicKeyInfo exported by
 * OpenSSL): re-encoding foreign DER through another library is how names stop matching.
 */
export function wrap(tag: number, ...parts: Uint8Array[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.of(tag), encodeLength(body.length), body]);
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface Element {
  readonly tag: number;
  /** The whole element, header included. */
  readonly raw: Buffer;
  readonly content: Buffer;
}

function malformed(what: string): TlsError {
  return new TlsError('InvalidMaterial', `malformed DER: ${what}`);
}

function readElement(buf: Buffer, off: number): Element {
  if (off + 2 > buf.length) throw malformed('truncated header');
  const tag = buf[off]!;
  if ((tag & 0x1f) === 0x1f) throw malformed('high tag numbers are not used in certificates');
  let len = buf[off + 1]!;
  let p = off + 2;
  if (len >= 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw malformed('indefinite or oversized length');
    if (p + n > buf.length) throw malformed('truncated length');
    if (buf[p] === 0) throw malformed('non-minimal length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p + i]!;
    if (len < 0x80) throw malformed('non-minimal length');
    p += n;
  }
  if (p + len > buf.length) throw malformed('content runs past its container');
  return { tag, raw: buf.subarray(off, p + len), content: buf.subarray(p, p + len) };
}

/** The one element that fills `buf` exactly. */
export function readOne(buf: Buffer): Element {
  const e = readElement(buf, 0);
  if (e.raw.length !== buf.length) throw malformed('trailing bytes');
  return e;
}

/** The elements inside a constructed element's content. */
export function children(content: Buffer): Element[] {
  const out: Element[] = [];
  for (let off = 0; off < content.length; ) {
    const e = readElement(content, off);
    out.push(e);
    off += e.raw.length;
  }
  return out;
}

function decodeOid(content: Buffer): string {
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (v === 0 && b === 0x80) throw malformed('non-minimal OID arc');
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw malformed('OID arc too large');
    if ((b & 0x80) === 0) {
      if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else arcs.push(v);
      v = 0;
    } else if (i === content.length - 1) {
      throw malformed('truncated OID');
    }
  }
  if (arcs.length === 0) throw malformed('empty OID');
  return arcs.join('.');
}

function expect(e: Element | undefined, tag: number, what: string): Element {
  if (e === undefined || e.tag !== tag) throw malformed(`expected ${what}`);
  return e;
}

export interface CertificateParts {
  /** The tbsCertificate element, header included (what the signature covers). */
  readonly tbs: Buffer;
  /** Magnitude bytes of the serial number (sign byte stripped). */
  readonly serial: Buffer;
  /** The issuer Name element, byte for byte. */
  readonly issuer: Buffer;
  /** The subject Name element, byte for byte. */
  readonly subject: Buffer;
  /** The SubjectPublicKeyInfo element. */
  readonly spki: Buffer;
  /** Extension OID (dotted) to its extnValue content (the DER inside the OCTET STRING). */
  readonly extensions: ReadonlyMap<string, { critical: boolean; value: Buffer }>;
}

export function certificateParts(der: Buffer): CertificateParts {
  const cert = expect(readOne(der), TAG.SEQUENCE, 'Certificate');
  const [tbsEl] = children(cert.content);
  const tbs = expect(tbsEl, TAG.SEQUENCE, 'TBSCertificate');
  const f = children(tbs.content);
  let i = 0;
  if (f[0]?.tag === contextTag(0, true)) i++; // [0] EXPLICIT version
  const serialEl = expect(f[i++], TAG.INTEGER, 'serialNumber');
  i++; // signature AlgorithmIdentifier
  const issuer = expect(f[i++], TAG.SEQUENCE, 'issuer');
  i++; // validity
  const subject = expect(f[i++], TAG.SEQUENCE, 'subject');
  const spki = expect(f[i++], TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const extensions = new Map<string, { critical: boolean; value: Buffer }>();
  for (; i < f.length; i++) {
    if (f[i]!.tag !== contextTag(3, true)) continue; // issuer/subject unique IDs
    const list = expect(children(f[i]!.content)[0], TAG.SEQUENCE, 'Extensions');
    for (const ext of children(list.content)) {
      const parts = children(expect(ext, TAG.SEQUENCE, 'Extension').content);
      const oid = decodeOid(expect(parts[0], TAG.OID, 'extnID').content);
      const critical = parts.length === 3 && parts[1]!.tag === TAG.BOOLEAN && parts[1]!.content[0] !== 0;
      const value = expect(parts[parts.length - 1], TAG.OCTET_STRING, 'extnValue').content;
      if (extensions.has(oid)) throw malformed(`extension ${oid} appears twice`);
      extensions.set(oid, { critical, value });
    }
  }
  let serial = serialEl.content;
  while (serial.length > 1 && serial[0] === 0) serial = serial.subarray(1);
  return { tbs: tbs.raw, serial, issuer: issuer.raw, subject: subject.raw, spki: spki.raw, extensions };
}

export const OID = {
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  cRLNumber: '2.5.29.20',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const;

export interface AltNames {
  readonly dns: readonly string[];
  readonly ips: readonly string[];
  readonly uris: readonly string[];
}

function ipToString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  if (b.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  throw malformed('IP address of odd length');
}

/** The DNS, IP and URI entries of the certificate's subjectAltName (other kinds are skipped). */
export function altNames(parts: CertificateParts): AltNames {
  const ext = parts.extensions.get(OID.subjectAltName);
  const dns: string[] = [];
  const ips: string[] = [];
  const uris: string[] = [];
  if (ext !== undefined) {
    for (const gn of children(expect(readOne(ext.value), TAG.SEQUENCE, 'GeneralNames').content)) {
      if (gn.tag === contextTag(2, false)) dns.push(gn.content.toString('latin1'));
      else if (gn.tag === contextTag(7, false)) ips.push(ipToString(gn.content));
      else if (gn.tag === contextTag(6, false)) uris.push(gn.content.toString('latin1'));
    }
  }
  return { dns, ips, uris };
}

/** The keyIdentifier of a subjectKeyIdentifier extension, if present. */
export function subjectKeyId(parts: CertificateParts): Buffer | undefined {
  const ext = parts.extensions.get(OID.subjectKeyIdentifier);
  return ext === undefined ? undefined : expect(readOne(ext.value), TAG.OCTET_STRING, 'KeyIdentifier').content;
}

function readTime(e: Element): number {
  const text = e.content.toString('latin1');
  let m: RegExpExecArray | null;
  if (e.tag === TAG.UTC_TIME && (m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)) !== null) {
    const yy = Number(m[1]);
    // RFC 5280 4.1.2.5.1: YY >= 50 is 19YY, else 20YY.
    return Date.UTC(yy >= 50 ? 1900 + yy : 2000 + yy, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  if (e.tag === TAG.GENERALIZED_TIME && (m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)) !== null) {
    return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  }
  throw malformed('a time that is neither UTCTime nor GeneralizedTime in Zulu seconds');
}

/** thisUpdate and nextUpdate (if present) of a DER CertificateList, in ms since the epoch. */
export function crlTimes(der: Buffer): { thisUpdate: number; nextUpdate: number | undefined } {
  const list = expect(readOne(der), TAG.SEQUENCE, 'CertificateList');
  const tbs = expect(children(list.content)[0], TAG.SEQUENCE, 'TBSCertList');
  const f = children(tbs.content);
  let i = 0;
  if (f[0]?.tag === TAG.INTEGER) i++; // version
  i++; // signature
  expect(f[i++], TAG.SEQUENCE, 'issuer');
  const thisEl = f[i++];
  if (thisEl === undefined) throw malformed('CRL without thisUpdate');
  const thisUpdate = readTime(thisEl);
  const next = f[i];
  const nextUpdate = next !== undefined && (next.tag === TAG.UTC_TIME || next.tag === TAG.GENERALIZED_TIME) ? readTime(next) : undefined;
  return { thisUpdate, nextUpdate };
}

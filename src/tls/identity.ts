// Who is on the other end of a TLS connection (GUARANTEES A17, A18, A18b).
//
// Identity comes only from a certificate chain OpenSSL verified during this connection's
// handshake, never from anything the client says afterwards (no header, no body field). On top
// of OpenSSL's verification every call re-checks what the listener's configuration alone cannot
// guarantee:
//   1. the socket is TLS and `authorized` (rejectUnauthorized:false or a listener mistakenly
//      trusting extra CAs must not turn into an identity);
//   2. the certificate was issued directly by one of the CAs this kind of identity comes from:
//      a client identity only from the client CA, a peer identity only from the peer CA, so a
//      peer certificate is never a user and a user certificate never a member (A17);
//   3. it is an end entity whose extended key usage fits: clientAuth for a client; serverAuth and
//      clientAuth for a peer (Keyward's own certificates always carry the EKU, so one without
//      any EKU, which OpenSSL would accept for any purpose, is refused here);
//   4. it is inside its validity window now (a long-lived connection outlives its certificate;
//      a resumed TLS session skips OpenSSL's check);
//   5. the subject names exactly one well-formed principal: one CN (several CN attributes are
//      refused, not resolved by picking one), no control, format or unassigned characters, NFC;
//      at most one O, which must be a tenant ID (A18);
//   6. the serial is not on the revocation list (A18b);
//   7. for peers, the name is on the allowed list when one is configured (--peer-cert-allowed-cn).
//
// CN versus subjectAltName: the principal is the CN. SANs name hosts (DNS, IP) for server-side
// checks and are never read as a user or member name.

import { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { TlsError, quote } from './errors.js';
import { isTenantId, isWellFormedCn } from './names.js';
import type { RevocationList } from './revocation.js';
import { normalizeSerial } from './x509.js';

export type Identity =
  | { readonly kind: 'client'; readonly user: string; readonly tenant?: string; readonly serial: string }
  | { readonly kind: 'peer'; readonly memberName: string; readonly serial: string };

export const EKU_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const EKU_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface IdentityPolicy {
  /** Which kind of identity this listener takes. */
  readonly expect: 'client' | 'peer';
  /**
   * The CAs that issue this kind of identity (the client CA, or the peer CA). A function is
   * called on every check, so a reloader can hand over new CAs without rebuilding the policy.
   */
  readonly issuers: readonly X509Certificate[] | (() => readonly X509Certificate[]);
  readonly revocation?: RevocationList;
  /** Peers only: accepted member names (etcd --peer-cert-allowed-cn). Undefined or empty: any. */
  readonly allowedNames?: readonly string[];
  /** Clock for the validity check; default Date.now. */
  readonly now?: () => number;
}

// The expensive part (chain and subject checks) is done once per connection; revocation, time
// and the issuer set are re-checked on every call because they can change while it is open.
interface Verified {
  readonly identity: Identity;
  readonly issuers: readonly X509Certificate[];
  readonly policy: IdentityPolicy;
  readonly notBefore: number;
  readonly notAfter: number;
}
const verifiedSockets = new WeakMap<TLSSocket, Verified>();

function issuersOf(policy: IdentityPolicy): readonly X509Certificate[] {
  return typeof policy.issuers === 'function' ? policy.issuers() : policy.issuers;
}

/**
 * The verified identity of the peer of `socket`, or a TlsError: NotTls, Unverified, WrongIssuer,
 * WrongUsage, Expired, BadSubject, Revoked or NotAllowed.
 */
export function identityFromSocket(socket: unknown, policy: IdentityPolicy): Identity {
  if (!(socket instanceof TLSSocket)) throw new TlsError('NotTls', 'the connection is not TLS');
  const issuers = issuersOf(policy);
  let v = verifiedSockets.get(socket);
  if (v === undefined || v.issuers !== issuers || v.policy !== policy) {
    v = verify(socket, policy, issuers);
    verifiedSockets.set(socket, v);
  }
  const now = (policy.now ?? Date.now)();
  if (now < v.notBefore || now > v.notAfter) throw new TlsError('Expired', 'the certificate is outside its validity window');
  if (policy.revocation?.has(v.identity.serial) === true) throw new TlsError('Revoked', `certificate ${v.identity.serial} is revoked`);
  return v.identity;
}

function verify(socket: TLSSocket, policy: IdentityPolicy, issuers: readonly X509Certificate[]): Verified {
  if (socket.authorized !== true) {
    const why = socket.authorizationError;
    throw new TlsError('Unverified', `the peer certificate was not verified${why === undefined ? '' : ` (${String(why)})`}`);
  }
  // The certificate is parsed from the DER getPeerCertificate() returns, never taken from
  // getPeerX509Certificate(): on a CLIENT socket (a member dialling a peer) Node 20 moves the leaf
  // out of OpenSSL's peer chain on that call (X509Certificate::GetPeerCert deletes it from the
  // stack when not a server), after which getPeerCertificate() returns {} and the subject check
  // below would fail on every dialled connection (measured on 20.20).
  const peer = socket.getPeerCertificate();
  const raw = peer.raw as Buffer | undefined;
  if (raw === undefined || raw.length === 0) throw new TlsError('Unverified', 'the peer presented no certificate');
  const cert = new X509Certificate(raw);

  // 2. Directly issued by one of the expected CAs: names match and the CA's key verifies it.
  if (!issuers.some((ca) => ca.ca && cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    throw new TlsError('WrongIssuer', `the certificate is not issued by the ${policy.expect} CA`);
  }

  // 3. End entity with a fitting EKU. X509Certificate.keyUsage holds the EKU OIDs (Node's name).
  if (cert.ca) throw new TlsError('WrongUsage', 'a CA certificate is not an identity');
  const eku = cert.keyUsage ?? [];
  const needs = policy.expect === 'client' ? [EKU_CLIENT_AUTH] : [EKU_SERVER_AUTH, EKU_CLIENT_AUTH];
  if (!needs.every((oid) => eku.includes(oid))) {
    throw new TlsError('WrongUsage', `the certificate's extended key usage does not allow ${policy.expect === 'client' ? 'client authentication' : 'use as a peer (server and client authentication)'}`);
  }

  // 4. Window, as OpenSSL saw it when it parsed the certificate.
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (Number.isNaN(notBefore) || Number.isNaN(notAfter)) throw new TlsError('Expired', 'the certificate validity dates do not parse');

  // 5. Subject, as OpenSSL decoded it: one value per attribute, an array when repeated. Node's
  //    types claim plain string fields, which is exactly the assumption this check must not make.
  const subject = peer.subject as unknown as Record<string, unknown> | undefined;
  const cn = single(subject, 'CN');
  if (cn === undefined) throw new TlsError('BadSubject', 'the certificate subject has no CN or more than one');
  if (!isWellFormedCn(cn)) throw new TlsError('BadSubject', `the certificate CN ${quote(cn)} is not a well-formed name`);

  const serial = normalizeSerial(cert.serialNumber);
  let identity: Identity;
  if (policy.expect === 'client') {
    const hasO = subject !== undefined && Object.hasOwn(subject, 'O');
    const tenant = hasO ? single(subject, 'O') : undefined;
    if (hasO && (tenant === undefined || !isTenantId(tenant))) throw new TlsError('BadSubject', 'the certificate names more than one tenant, or a malformed one');
    identity = tenant === undefined ? { kind: 'client', user: cn, serial } : { kind: 'client', user: cn, tenant, serial };
  } else {
    const allowed = policy.allowedNames;
    if (allowed !== undefined && allowed.length > 0 && !allowed.includes(cn)) {
      throw new TlsError('NotAllowed', `peer ${quote(cn)} is not on the allowed list`);
    }
    identity = { kind: 'peer', memberName: cn, serial };
  }
  return { identity, issuers, policy, notBefore, notAfter };
}

/** The attribute's value when it occurs exactly once as a string. */
function single(subject: Record<string, unknown> | undefined, key: string): string | undefined {
  if (subject === undefined || !Object.hasOwn(subject, key)) return undefined;
  const v = subject[key];
  return typeof v === 'string' ? v : undefined;
}

// Who is on the other end of a peer connection, and whether that is the member it claims to be
// (GUARANTEES A17 for the peer port).
//
// Every https connection, in both directions, passes two checks:
//
//   1. The certificate is a peer identity: OpenSSL verified the chain against the peer CA during
//      the handshake (requestCert + rejectUnauthorized on the listener, rejectUnauthorized on the
//      dialer), and src/tls identityFromSocket checks it again with a peer policy: issued directly
//      by the peer CA, end entity with serverAuth+clientAuth EKU (a client-port certificate or a
//      user's certificate never qualifies, even when an operator put both CAs in one file), in
//      its validity window, not on the denylist, and its CN on --peer-cert-allowed-cn when that
//      list is set. Failure: PeerCertificate (403).
//   2. The certificate names the member the connection is about: inbound, the sender in the
//      request's headers (and, through the receiver's envelope check, the `from` of every message
//      in it); outbound, the member we dialled. Failure: IdentityMismatch (403).
//
// Binding a certificate to a member ID. Member IDs are hashes of peer URLs and the cluster token
// (server/identity.ts) and certificates name members by NAME (the CN), so the owner supplies
// memberNameOf(id): the name the cluster's members table holds (founders: from --initial-cluster;
// members added later: from the name they publish once they have joined; a joining member falls
// back on its own --initial-cluster). The rule:
//
//   * name known:   the CN must equal it. A peer certificate of member X can never speak as Y.
//   * name unknown  (a member added with `member add` that has not published yet; it must be able
//     to talk before it can publish, so refusing it would make adding members impossible): the
//     certificate is accepted for that ID only if
//       - its CN is not the known name of any other member (this one or any of its peers: the
//         owner keeps the transport's peers equal to the membership), so no existing member's
//         certificate can speak as the newcomer, and
//       - it covers (SAN, never the CN) the host of one of the peer URLs the cluster recorded for
//         that ID when an administrator added it, as a TLS client would check a server.
//     Nothing is remembered from such a connection; once the member's name is published the
//     first rule applies to every new connection and to every later frame of an open stream.
//
// Why not take the name from `member add`: etcd's MemberAddRequest has no name field (etcdctl's
// name argument is only printed back), and Keyward speaks etcd's API.

import { isIP } from 'node:net';
import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions, TLSSocket } from 'node:tls';
import { identityFromSocket, isTlsError, type IdentityPolicy } from '../tls/index.js';
import type { NodeId } from '../raft/index.js';
import { TransportError } from './errors.js';
import type { PeerTlsOptions } from './options.js';
import { fmtId } from './protocol.js';

/** What the binding needs from the transport: who else is a member and where a member lives. */
export interface MemberDirectory {
  readonly selfId: NodeId;
  /** The IDs of every known peer (not this member). */
  peerIds(): Iterable<NodeId>;
  /** The peer URLs recorded for `id`, undefined for an unknown member. */
  peerUrlsOf(id: NodeId): readonly URL[] | undefined;
}

/** A verified peer on one connection: its certificate's member name and serial. */
export interface PeerIdentity {
  readonly memberName: string;
  readonly serial: string;
}

export class PeerAuthenticator {
  /** One policy for the transport's lifetime: identityFromSocket caches per (socket, policy). */
  readonly policy: IdentityPolicy;

  constructor(
    private readonly tls: PeerTlsOptions,
    private readonly dir: MemberDirectory,
  ) {
    const reloader = tls.reloader;
    this.policy = {
      expect: 'peer',
      issuers: () => reloader.cas,
      revocation: reloader.revocation,
      ...(tls.allowedNames !== undefined && tls.allowedNames.length > 0 ? { allowedNames: [...tls.allowedNames] } : {}),
    };
  }

  /** The name the cluster knows member `id` by; undefined while unknown ('' counts as unknown). */
  nameOf(id: NodeId): string | undefined {
    const n = this.tls.memberNameOf(id);
    return n === undefined || n === '' ? undefined : n;
  }

  /**
   * Client options for one dial to member `to`, built from the reloader's current material (so a
   * rotated certificate is used from the next connection on). When `to`'s name is known, the
   * handshake itself already refuses a server certificate with another CN (expectedName).
   */
  dialOptions(to: NodeId): ConnectionOptions {
    const name = this.nameOf(to);
    return this.tls.reloader.clientOptions(name === undefined ? {} : { expectedName: name });
  }

  /**
   * Checks the connection's certificate and that it names member `id`. Throws TransportError
   * PeerCertificate or IdentityMismatch; the message holds both names for the log.
   */
  check(socket: unknown, id: NodeId): PeerIdentity {
    let memberName: string;
    let serial: string;
    try {
      const who = identityFromSocket(socket, this.policy);
      if (who.kind !== 'peer') throw new TransportError('PeerCertificate', 'not a peer certificate');
      memberName = who.memberName;
      serial = who.serial;
    } catch (e) {
      if (isTlsError(e)) throw new TransportError('PeerCertificate', `${e.code}: ${e.message}`);
      throw e;
    }
    const expected = this.nameOf(id);
    if (expected !== undefined) {
      if (memberName !== expected) throw mismatch(memberName, id, `member ${fmtId(id)} is ${JSON.stringify(expected)}`);
      return { memberName, serial };
    }
    for (const other of [this.dir.selfId, ...this.dir.peerIds()]) {
      if (other !== id && this.nameOf(other) === memberName) throw mismatch(memberName, id, `that is the name of member ${fmtId(other)}`);
    }
    // identityFromSocket accepted a TLSSocket with a certificate. Parsed from getPeerCertificate()'s
    // DER, never getPeerX509Certificate(): on a dialled socket Node 20 takes the leaf out of the
    // peer chain on that call (src/tls/identity.ts), which later checks of the socket would miss.
    const cert = new X509Certificate((socket as TLSSocket).getPeerCertificate().raw);
    const urls = this.dir.peerUrlsOf(id) ?? [];
    if (!urls.some((u) => covers(cert, u))) {
      throw mismatch(memberName, id, `member ${fmtId(id)} has not published its name and the certificate covers none of its peer URL hosts (${urls.map((u) => u.host).join(', ') || 'none'})`);
    }
    return { memberName, serial };
  }
}

function mismatch(certName: string, id: NodeId, why: string): TransportError {
  return new TransportError('IdentityMismatch', `certificate names ${JSON.stringify(certName)}, claimed member ${fmtId(id)}: ${why}`);
}

/** Whether the certificate's SANs name the URL's host (an IP against IP SANs, a name against DNS SANs; never the CN). */
function covers(cert: X509Certificate, url: URL): boolean {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (isIP(host) !== 0) return cert.checkIP(host) !== undefined;
  return cert.checkHost(host, { subject: 'never' }) !== undefined;
}

// A test PKI made at test time by src/tls (STYLE 14: no key is ever committed). Everything is
// ECDSA P-256, so making it costs milliseconds; it is still cached per process (node --test runs
// each test file in its own process), and per name for the certificates handed out on demand.
//
//   const pki = testPki();
//   https.createServer(pki.clientPortServerOptions(), handler)          // the client port
//   https.request({ ...pki.clientOptions('alice'), host: '127.0.0.1' })  // a user connecting
//   pki.peerServerOptions('m1') / pki.peerClientOptions('m2')           // the peer port
//
// writeTestPki(dir) lays the same kind of tree out on disk with `keyward certs init`'s code
// (CertStore) for tests that need files (reload, the CLI, whole members).

import type { ConnectionOptions, TlsOptions } from 'node:tls';
import {
  CertStore,
  clientTlsOptions,
  createCa,
  issueClientCertificate,
  issuePeerCertificate,
  issueServerCertificate,
  serverTlsOptions,
  type CertifiedKey,
  type InitResult,
  type MemberSpec,
} from '../../src/tls/index.js';

/** Names every test server certificate carries, so any loopback address verifies. */
export const TEST_HOSTS: readonly string[] = ['localhost', '127.0.0.1', '::1'];

export interface TestPki {
  /** Signs the client-port server certificate and every user certificate. */
  readonly clientCa: CertifiedKey;
  /** Signs peer certificates only. */
  readonly peerCa: CertifiedKey;
  /** A CA nobody trusts: for "wrong CA" cases. */
  readonly strangerCa: CertifiedKey;
  /** The client-port server certificate (CN "test-member", SANs TEST_HOSTS). */
  readonly server: CertifiedKey;
  /** A user's client certificate from the client CA (cached per user and tenant). */
  client(user: string, tenant?: string): CertifiedKey;
  /** A member's peer certificate from the peer CA (cached per name). */
  peer(member: string): CertifiedKey;
  /** Options for the client-port listener: mutual TLS against the client CA. */
  clientPortServerOptions(extra?: { handshakeTimeoutMs?: number; crl?: string }): TlsOptions;
  /** Options for a user connecting to the client port. */
  clientOptions(user: string, tenant?: string): ConnectionOptions;
  /** Options for a member's peer listener. */
  peerServerOptions(member: string): TlsOptions;
  /** Options for a member dialling another member's peer port. */
  peerClientOptions(member: string, expectedPeer?: string): ConnectionOptions;
}

let cached: TestPki | undefined;

export function testPki(): TestPki {
  if (cached !== undefined) return cached;
  const clientCa = createCa('client');
  const peerCa = createCa('peer');
  const strangerCa = createCa('client');
  const server = issueServerCertificate(clientCa, 'test-member', TEST_HOSTS);
  const clients = new Map<string, CertifiedKey>();
  const peers = new Map<string, CertifiedKey>();
  const client = (user: string, tenant?: string): CertifiedKey => {
    const k = `${tenant ?? ''}/${user}`;
    let c = clients.get(k);
    if (c === undefined) {
      c = issueClientCertificate(clientCa, user, tenant);
      clients.set(k, c);
    }
    return c;
  };
  const peer = (member: string): CertifiedKey => {
    let c = peers.get(member);
    if (c === undefined) {
      c = issuePeerCertificate(peerCa, member, TEST_HOSTS);
      peers.set(member, c);
    }
    return c;
  };
  cached = {
    clientCa,
    peerCa,
    strangerCa,
    server,
    client,
    peer,
    clientPortServerOptions: (extra = {}) =>
      serverTlsOptions({ cert: server.certPem, key: server.keyPem, ca: clientCa.certPem, ...extra }),
    clientOptions: (user, tenant) => {
      const c = client(user, tenant);
      return clientTlsOptions({ cert: c.certPem, key: c.keyPem, ca: clientCa.certPem, servername: 'localhost' });
    },
    peerServerOptions: (member) => {
      const c = peer(member);
      return serverTlsOptions({ cert: c.certPem, key: c.keyPem, ca: peerCa.certPem });
    },
    peerClientOptions: (member, expectedPeer) => {
      const c = peer(member);
      return clientTlsOptions({
        cert: c.certPem,
        key: c.keyPem,
        ca: peerCa.certPem,
        servername: 'localhost',
        ...(expectedPeer === undefined ? {} : { expectedName: expectedPeer }),
      });
    },
  };
  return cached;
}

/** `keyward certs init` into `dir`: both CAs, each member's server and peer certificates, the root user's certificate. */
export function writeTestPki(dir: string, members: readonly (string | MemberSpec)[] = ['m1']): { store: CertStore; init: InitResult } {
  const store = new CertStore(dir);
  return { store, init: store.init(members, TEST_HOSTS) };
}

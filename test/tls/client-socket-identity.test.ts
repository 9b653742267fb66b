// identityFromSocket on the DIALLING side of a connection: a member checks the certificate of
// the peer it called (src/transport/peer-identity.ts). On Node 20 getPeerX509Certificate() on a
// client socket takes the leaf out of the peer chain, after which getPeerCertificate() is {};
// identityFromSocket must not depend on (or cause) that.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { identityFromSocket, isTlsError, normalizeSerial, type IdentityPolicy } from '../../src/tls/index.js';
import { testPki } from '../harness/certs.js';
import { start } from './helpers.js';

const pki = testPki();
const peerPolicy: IdentityPolicy = { expect: 'peer', issuers: [pki.peerCa.cert] };

const server = await start(
  createServer(pki.peerServerOptions('m1'), (socket) => {
    socket.on('error', () => {});
    socket.on('data', () => socket.end());
  }),
);
after(() => server.close());

async function dial(): Promise<TLSSocket> {
  const s = connect({ ...pki.peerClientOptions('m2', 'm1'), host: '127.0.0.1', port: server.port });
  s.on('error', () => {});
  await once(s, 'secureConnect');
  return s;
}

test('A17 identityFromSocket on a client socket names the server\'s member, every time, and leaves the peer chain intact', async () => {
  const s = await dial();
  try {
    const expectedSerial = normalizeSerial(pki.peer('m1').cert.serialNumber);
    for (let i = 0; i < 3; i++) assert.deepEqual(identityFromSocket(s, peerPolicy), { kind: 'peer', memberName: 'm1', serial: expectedSerial });
    // The chain is still there for anyone else reading it (https' host check, logs).
    assert.equal(s.getPeerCertificate().subject.CN, 'm1');
    assert.ok((s.getPeerCertificate().raw as Buffer).length > 0);
  } finally {
    s.destroy();
  }
});

test('A17 on a client socket a server certificate from the peer CA is still no client identity', async () => {
  const s = await dial();
  try {
    assert.throws(
      () => identityFromSocket(s, { expect: 'client', issuers: [pki.clientCa.cert] }),
      (e: unknown) => isTlsError(e) && e.code === 'WrongIssuer',
    );
  } finally {
    s.destroy();
  }
});

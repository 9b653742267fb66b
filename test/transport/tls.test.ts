// Mutual TLS between members. Certificates are made at test time with the openssl CLI (never
// committed); the tests are skipped where it is missing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../../src/raft/index.js';
import type { TransportTlsOptions } from '../../src/transport/index.js';
import { app, member } from './helpers.js';

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skip = hasOpenssl() ? false : 'openssl CLI not available';

/** A CA and one member certificate it signed (server and client use, SAN 127.0.0.1). */
function makePki(dir: string, name: string): TransportTlsOptions {
  const p = (f: string): string => join(dir, `${name}-${f}`);
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-subj', `/CN=${name}-ca`, '-days', '1');
  ssl('req', ...ec, '-keyout', p('member.key'), '-out', p('member.csr'), '-subj', `/CN=${name}-member`);
  writeFileSync(p('ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n');
  ssl('x509', '-req', '-in', p('member.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('member.crt'), '-days', '1', '-extfile', p('ext'));
  return { key: readFileSync(p('member.key')), cert: readFileSync(p('member.crt')), ca: readFileSync(p('ca.crt')) };
}

test('members talk over mutual TLS: messages and a snapshot', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-transport-tls-'));
  try {
    const tls = makePki(dir, 'good');
    const opts = { tls, listenUrls: ['https://127.0.0.1:0'] };
    const a = await member(1n, opts);
    const b = await member(2n, opts);
    try {
      assert.match(a.t.listenUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      a.t.addPeer(2n, [b.t.listenUrl]);
      b.t.addPeer(1n, [a.t.listenUrl]);
      const snap: Message = { type: 'snap', from: 1n, to: 2n, term: 2, snapshot: { data: new Uint8Array(300_000).fill(3), metadata: { index: 9, term: 2, confState: { voters: [1n, 2n], learners: [] } } } };
      a.t.send([app(1n, 2n, 1), snap]);
      const got = await b.inbox.count(2);
      assert.deepEqual(new Set(got.map((m) => m.type)), new Set(['app', 'snap']));
      assert.deepEqual(await a.snaps.next(), [2n, true]);
      b.t.send([app(2n, 1n, 5)]);
      assert.equal((await a.inbox.next()).type, 'app');
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a member whose certificate another CA signed cannot reach us', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-transport-tls-'));
  try {
    const good = makePki(dir, 'good');
    const evil = makePki(dir, 'evil');
    const b = await member(2n, { tls: good, listenUrls: ['https://127.0.0.1:0'] });
    // Trusts our CA (so it would accept our server certificate) but presents its own.
    const c = await member(1n, { tls: { ...evil, ca: good.ca }, listenUrls: ['https://127.0.0.1:0'] });
    try {
      b.t.addPeer(1n, [c.t.listenUrl]);
      c.t.addPeer(2n, [b.t.listenUrl]);
      c.t.send([app(1n, 2n, 1)]);
      assert.equal(await c.unreachable.next(), 2n);
      await b.logs.next((l) => l.msg === 'peer TLS handshake failed');
      assert.equal(b.inbox.all.length, 0);
    } finally {
      await Promise.all([b.t.close(), c.t.close()]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

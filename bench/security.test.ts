// The secure targets' setup (bench/security.ts) against real servers: certificates from our own
// CertStore, a real `keyward serve` member started from source (and etcd when it is installed),
// real mutual TLS handshakes through the load generator's raw client, auth switched on with the
// non-root user `bench`. No timing assertions. Run with
//   node --import tsx --test bench/security.test.ts

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { resolve } from 'node:path';
import { onPath } from './options.js';
import type { Credentials } from './protocol.js';
import { RawConnection } from './raw-client.js';
import { BENCH_USER, SecureMaterial } from './security.js';
import { freePort, launch } from './servers.js';
import type { ServerUnderTest } from './servers.js';
import { rawRequest, requestBody } from './workload.js';

const REPO_ROOT = resolve(import.meta.dirname, '..');
const STARTUP_MS = 60_000;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Answer {
  status: number;
  body: string;
  sessionReused: boolean;
}

/** One request over a fresh raw-client connection, as the load generator sends it. */
function send(url: string, creds: Credentials, path: string, body: string, session?: Buffer): Promise<Answer & { session: Buffer | undefined }> {
  const u = new URL(url);
  const c = creds.tls!;
  const conn = new RawConnection(u.hostname, Number(u.port), { ca: c.ca, cert: c.cert, key: c.key, ...(session === undefined ? {} : { session }) });
  let latest: Buffer | undefined;
  conn.socket.on('session', (s: Buffer) => (latest = s));
  return new Promise((resolvePromise, reject) => {
    conn.request(rawRequest(path, u.host, body, creds.authorization), (err, status, resBody) => {
      // isSessionReused: only TLSSocket has it; the raw client made one for these https URLs.
      const reused = (conn.socket as unknown as { isSessionReused(): boolean }).isSessionReused();
      // Let a TLS 1.3 ticket that follows the response arrive before the socket goes.
      setTimeout(() => {
        conn.close();
        if (err !== null) reject(err);
        else resolvePromise({ status, body: resBody.toString('utf8'), sessionReused: reused, session: latest });
      }, 50);
    });
  });
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

async function checkSecureTarget(server: ServerUnderTest, material: SecureMaterial): Promise<void> {
  assert.ok(server.url.startsWith('https://'));
  await material.configure(server.urls, STARTUP_MS);
  const bench = material.bench;

  const put = await send(server.url, bench, '/v3/kv/put', requestBody('put', 1, 16));
  assert.equal(put.status, 200, put.body);
  assert.match(put.body, /"header"/);
  const range = await send(server.url, bench, '/v3/kv/range', requestBody('range', 1, 16), put.session);
  assert.equal(range.status, 200, range.body);
  assert.match(range.body, /"kvs"/);
  assert.equal(range.sessionReused, put.session !== undefined, 'the second connection resumes the first one\'s TLS session');

  // The permission check is really made: user bench may not write outside its prefix.
  const outside = await send(server.url, bench, '/v3/kv/put', JSON.stringify({ key: b64('elsewhere'), value: b64('x') }));
  assert.notEqual(outside.status, 200, outside.body);
  assert.match(outside.body, /permission denied/);

  // No client certificate: the handshake itself is refused.
  const u = new URL(server.url);
  const bare = new RawConnection(u.hostname, Number(u.port), { ca: bench.tls!.ca });
  const refused = await new Promise<Error | null>((r) => bare.request(rawRequest('/v3/kv/range', u.host, requestBody('range', 1, 16)), (err) => r(err)));
  bare.close();
  assert.ok(refused !== null, 'a connection without a client certificate must fail');
}

test('secure Keyward member: CertStore certificates, auth bootstrap, user bench by its certificate (CN) over mutual TLS', async () => {
  const material = SecureMaterial.create('keyward', ['m1']);
  cleanups.push(() => material.remove());
  const peerUrl = `https://127.0.0.1:${await freePort()}`;
  const server = await launch({
    label: 'keyward-secure-test',
    cwd: REPO_ROOT,
    startupTimeoutMs: STARTUP_MS,
    scheme: 'https',
    credentials: material.admin,
    argv: ({ dataDir, url }) => [
      process.execPath, '--import', 'tsx', 'src/cli/main.ts', 'serve',
      '--name', 'm1', '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `m1=${peerUrl}`, '--initial-cluster-state', 'new',
      ...material.keywardFlags('m1'),
    ],
  });
  cleanups.push(() => server.stop());
  assert.equal(material.bench.authorization, undefined, 'Keyward identifies bench by its certificate, no token');
  await checkSecureTarget(server, material);
});

test('secure etcd member: CN-less client certificate for the gateway, user bench by token', { skip: !onPath('etcd') && 'etcd is not on PATH' }, async () => {
  const material = SecureMaterial.create('etcd', ['bench']);
  cleanups.push(() => material.remove());
  const peerUrl = `https://127.0.0.1:${await freePort()}`;
  const server = await launch({
    label: 'etcd-secure-test',
    cwd: REPO_ROOT,
    startupTimeoutMs: STARTUP_MS,
    scheme: 'https',
    credentials: material.admin,
    argv: ({ dataDir, url }) => [
      'etcd', '--name', 'bench', '--data-dir', dataDir,
      '--listen-client-urls', url, '--advertise-client-urls', url,
      '--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `bench=${peerUrl}`, '--initial-cluster-state', 'new',
      '--logger', 'zap', '--log-outputs', 'stderr', '--log-level', 'warn',
      ...material.etcdFlags('bench'),
    ],
  });
  cleanups.push(() => server.stop());
  await checkSecureTarget(server, material);
  assert.ok(material.bench.authorization !== undefined && material.bench.authorization !== '', `etcd's ${BENCH_USER} carries a token`);
});

// An in-process secure member for the client and CLI tests: a real KeywardServer on real LMDB,
// the real API, behind a real https listener built as src/tls/README.md says the client port is
// (TlsReloader from a CertStore laid out by `keyward certs init`'s code, mutual TLS, identity from
// the verified client certificate), with the auth bootstrap a secure `keyward serve` runs (user
// root bound to its certificate, auth enabled). `keyward serve`'s own TLS wiring is tested by its
// owner; these tests are about the client side.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApi } from '../../src/api/index.js';
import { ensureTokenKey, tokenKeyPath } from '../../src/cli/certs-commands.js';
import { KeywardServer } from '../../src/server/index.js';
import { CertStore, TlsReloader, identityFromSocket, type IdentityPolicy, type InitResult } from '../../src/tls/index.js';
import { TEST_HOSTS } from '../harness/certs.js';

export interface SecureMember {
  url: string;
  /** The certs dir (`keyward certs init` layout) the member's material came from. */
  certsDir: string;
  store: CertStore;
  init: InitResult;
  server: KeywardServer;
  /** Stops listening (severing connections) and closes the server. */
  stop(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startSecureMember(opts: { certsDir?: string; authBootstrap?: boolean; audit?: object[] } = {}): Promise<SecureMember> {
  const root = mkdtempSync(join(tmpdir(), 'keyward-secure-'));
  const certsDir = opts.certsDir ?? join(root, 'certs');
  const store = new CertStore(certsDir);
  const init = store.init(['m1'], TEST_HOSTS);
  ensureTokenKey(certsDir);
  const dataDir = join(root, 'data');
  const maxRequestBytes = 1572864;
  const server = await KeywardServer.open({
    name: 'm1',
    dataDir,
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'client-tls',
    maxRequestBytes,
    maxTxnOps: 128,
    authTokenKeyFile: tokenKeyPath(certsDir),
    authBootstrap: opts.authBootstrap ?? true,
    ...(opts.audit === undefined ? {} : { auditLogger: { info: (obj: object) => void opts.audit!.push(obj) } }),
  });
  await server.ready();
  const member = store.layout.member('m1');
  const tls = new TlsReloader({ certFile: member.server.cert, keyFile: member.server.key, caFile: store.layout.clientCa.cert, watch: false });
  const policy: IdentityPolicy = { expect: 'client', issuers: () => tls.cas, revocation: tls.revocation };
  const api = createApi(server, {
    maxRequestBytes,
    logger: { error: () => {} },
    clientIdentity: (req) => {
      const id = identityFromSocket(req.socket, policy);
      if (id.kind !== 'client') return undefined;
      return id.tenant === undefined ? { user: id.user } : { user: id.user, tenant: id.tenant };
    },
  });
  const https: Server = createServer(tls.serverOptions(), api.listener);
  https.on('upgrade', api.upgrade);
  const detach = tls.attach(https);
  await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
  const port = (https.address() as AddressInfo).port;
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      https.closeAllConnections();
      await new Promise<void>((r) => https.close(() => r()));
      detach();
      await tls.close();
      await server.close();
    })());
  return {
    url: `https://localhost:${port}`,
    certsDir,
    store,
    init,
    server,
    stop,
    async dispose() {
      await stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

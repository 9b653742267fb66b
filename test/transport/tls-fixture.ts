// Peer-port TLS fixtures for transport tests: a certs/ tree made by CertStore (what `keyward certs
// init` writes) in a temp dir, a TlsReloader per member over its peer files, and a hand-made
// https peer request for refusals the Transport itself would never send.

import * as https from 'node:https';
import { readFileSync } from 'node:fs';
import type { NodeId } from '../../src/raft/index.js';
import { CertStore, clientTlsOptions, TlsReloader, type ReloaderOptions } from '../../src/tls/index.js';
import type { PeerTlsOptions } from '../../src/transport/index.js';
import { TEST_HOSTS } from '../harness/certs.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

export const CLUSTER = 0xc105n;

export interface PeerPki {
  readonly dir: TmpDir;
  readonly store: CertStore;
  /** Reloaders made by reloader(); closed by dispose(). */
  readonly reloaders: TlsReloader[];
  /** A reloader over member `name`'s peer certificate and key, the peer CA and the denylist. */
  reloader(name: string, extra?: Partial<ReloaderOptions>): TlsReloader;
  dispose(): Promise<void>;
}

/** CertStore.init for `members` (SANs localhost, 127.0.0.1, ::1) plus an empty denylist file. */
export function peerPki(members: readonly string[] = ['m1', 'm2', 'm3']): PeerPki {
  const dir = makeTmpDir('keyward-peer-tls-');
  const store = new CertStore(dir.sub('certs'));
  store.init(members, TEST_HOSTS);
  store.revoke([]);
  const reloaders: TlsReloader[] = [];
  return {
    dir,
    store,
    reloaders,
    reloader(name, extra = {}) {
      const m = store.layout.member(name);
      const r = new TlsReloader({ certFile: m.peer.cert, keyFile: m.peer.key, caFile: store.layout.peerCa.cert, revokedFile: store.layout.revoked, watch: false, ...extra });
      reloaders.push(r);
      return r;
    },
    async dispose() {
      await Promise.all(reloaders.map((r) => r.close()));
      dir.cleanup();
    },
  };
}

/** The transport's tls option: `names` is the members table (ID → name) the owner would supply. */
export function peerTls(reloader: TlsReloader, names: ReadonlyMap<NodeId, string>, allowedNames?: readonly string[]): PeerTlsOptions {
  return { reloader, memberNameOf: (id) => names.get(id), ...(allowedNames === undefined ? {} : { allowedNames }) };
}

export const NAMES: ReadonlyMap<NodeId, string> = new Map([
  [1n, 'm1'],
  [2n, 'm2'],
  [3n, 'm3'],
]);

export function peerHeaders(from: NodeId, to: NodeId): Record<string, string> {
  return {
    'x-keyward-protocol': '1',
    'x-keyward-cluster-id': CLUSTER.toString(16),
    'x-keyward-from': from.toString(16),
    'x-keyward-to': to.toString(16),
  };
}

export interface RawAnswer {
  /** 0 when the connection failed before any answer (e.g. the handshake was refused). */
  status: number;
  code: string | undefined;
  body: string;
  error?: string;
}

/** TLS client options from a certificate and key file pair, trusting the CA file. */
export function certOptions(certFile: string, keyFile: string, caFile: string): https.RequestOptions {
  return clientTlsOptions({ cert: readFileSync(certFile), key: readFileSync(keyFile), ca: readFileSync(caFile), servername: 'localhost' });
}

/**
 * A hand-made peer request over TLS: headers first; once accepted (200), `chunks` are written.
 * Resolves with the answer, or with status 0 and the error when the connection failed first.
 */
export function rawTls(url: string, path: string, headers: Record<string, string>, chunks: Uint8Array[], tls: https.RequestOptions): Promise<RawAnswer> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const req = https.request({ ...tls, hostname: u.hostname, port: Number(u.port), method: 'POST', path, headers, agent: false });
    let settled = false;
    const settle = (a: RawAnswer): void => {
      if (settled) return;
      settled = true;
      resolve(a);
    };
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      const done = (): void => {
        const code = res.headers['x-keyward-error'];
        settle({ status: res.statusCode ?? 0, code: Array.isArray(code) ? code[0] : code, body });
      };
      res.on('end', done);
      res.on('close', done);
      if (res.statusCode === 200) for (const c of chunks) req.write(c);
    });
    req.on('error', (e) => {
      // The receiver cuts the connection right after answering; only an error before any answer counts.
      setImmediate(() => settle({ status: 0, code: undefined, body: '', error: e.message }));
    });
    req.flushHeaders();
  });
}

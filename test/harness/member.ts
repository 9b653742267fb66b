import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type express from 'express';
import type { RequestListener } from 'node:http';
import { createApi } from '../../src/api/index.js';
import { KeywardServer } from '../../src/server/index.js';

/** An in-process member on a real LMDB environment in a fresh temp dir, with its express app. */
export interface TestMember {
  server: KeywardServer;
  /** The express app alone (every route, no fast path). */
  express: express.Express;
  /** What the HTTP server runs: the fast path for unary RPCs, express for the rest. */
  app: RequestListener;
  dataDir: string;
  /** Closes the server and removes the data dir. */
  dispose(): Promise<void>;
}

export const silentLogger = { error: (): void => {} };

export async function openTestMember(opts: { maxRequestBytes?: number; maxTxnOps?: number; dataDir?: string } = {}): Promise<TestMember> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'keyward-test-'));
  const maxRequestBytes = opts.maxRequestBytes ?? 1572864;
  const server = await KeywardServer.open({
    name: 'test',
    dataDir,
    advertisePeerUrls: ['http://127.0.0.1:2380'],
    clusterToken: 'keyward-cluster',
    maxRequestBytes,
    maxTxnOps: opts.maxTxnOps ?? 128,
  });
  const api = createApi(server, { maxRequestBytes, logger: silentLogger });
  return {
    server,
    express: api.app,
    app: api.listener,
    dataDir,
    async dispose() {
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');

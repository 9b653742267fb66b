import { pino, type Logger } from 'pino';
import { createApi, HttpListener } from '../api/index.js';
import { KeywardServer } from '../server/index.js';
import { parseInitialCluster, type ServeConfig } from './config.js';

export interface RunningMember {
  server: KeywardServer;
  listeners: HttpListener[];
  /** Drains HTTP, makes accepted writes durable, closes storage. Idempotent. */
  stop(): Promise<void>;
}

export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } });
}

/** Starts one member from a resolved configuration. Throws if storage or any listener fails. */
export interface MemberHooks {
  /**
   * The member cannot or must not go on serving: storage failed (code 1) or it was removed from
   * the cluster (code 0, so a supervisor restarting on failure does not bring it back). The owner
   * stops it and ends the process.
   */
  onTerminate?: (code: number, reason: string) => void;
}

export async function startMember(config: ServeConfig, logger: Logger, hooks: MemberHooks = {}): Promise<RunningMember> {
  const server = await KeywardServer.open({
    name: config.name,
    dataDir: config.dataDir,
    advertisePeerUrls: config.initialAdvertisePeerUrls,
    clusterToken: config.initialClusterToken,
    maxRequestBytes: config.maxRequestBytes,
    maxTxnOps: config.maxTxnOps,
    initialCluster: parseInitialCluster(config.initialCluster),
    initialClusterState: config.initialClusterState === 'existing' ? 'existing' : 'new',
    listenPeerUrls: config.listenPeerUrls,
    advertiseClientUrls: config.advertiseClientUrls,
    heartbeatIntervalMs: config.heartbeatInterval,
    electionTimeoutMs: config.electionTimeout,
    snapshotCount: config.snapshotCount,
    watchProgressNotifyIntervalMs: config.experimentalWatchProgressNotifyInterval,
    leaseCheckpointIntervalMs: config.experimentalLeaseCheckpointInterval,
    logger,
    transportLogger: logger.child({ component: 'transport' }),
    onFatal: (err) => {
      logger.fatal({ err }, 'storage failed; stopping the member');
      hooks.onTerminate?.(1, 'storage failed');
    },
    onRemoved: () => {
      logger.warn('this member was removed from the cluster; stopping it (remove its data dir before reusing the name)');
      hooks.onTerminate?.(0, 'removed from the cluster');
    },
  });
  // Like etcd, serve clients once the member has joined the cluster's log (a leader is known and
  // this member's name and client URLs are published).
  await server.ready();
  const api = createApi(server, { maxRequestBytes: config.maxRequestBytes, logger });
  const listeners: HttpListener[] = [];
  try {
    for (const url of config.listenClientUrls) {
      listeners.push(await HttpListener.listen(api, url));
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await server.close();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(listeners.map((l) => l.close()));
      await server.close();
    })();
    return stopping;
  };
  logger.info(
    {
      name: config.name,
      dataDir: config.dataDir,
      memberId: server.memberId.toString(16),
      clusterId: server.clusterId.toString(16),
      clientUrls: listeners.map((l) => l.url),
      peerUrls: server.peerUrls,
    },
    'ready to serve client requests',
  );
  return { server, listeners, stop };
}

import { readFile } from 'node:fs/promises';
import { pino, type Logger } from 'pino';
import { createApi, HttpListener, requestPrincipal } from '../api/index.js';
import { KeywardServer, parseAutoCompaction } from '../server/index.js';
import { ConfigError, parseInitialCluster, type ServeConfig } from './config.js';
import { certLayout, isTlsError, TlsReloader, type TlsLogger } from '../tls/index.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { clientTls, firstRunMessage, handshakeFailureLog, tokenKeyFile, usesClientTls, type ClientTlsSetup } from './serve-tls.js';

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

/**
 * TEST-ONLY fault switch, deliberately not a setting (not in config.ts, not in --help): when the
 * environment variable KEYWARD_TEST_FAULT_FILE names a file, the member polls it (JSON
 * `{"blocked": ["<member id hex>", ...]}`) and exchanges no peer messages with the members listed,
 * through the server's existing testNetworkFilter. Process-level fault runs use it to partition a
 * real cluster (test/harness/partition.ts). Unset (production) nothing is polled and no filter is
 * installed. A missing or unreadable file means "nothing blocked".
 */
export const TEST_FAULT_FILE_ENV = 'KEYWARD_TEST_FAULT_FILE';

function testFaultFilter(file: string, logger: Logger): { filter: (from: bigint, to: bigint) => boolean; stop(): void } {
  let blocked = new Set<bigint>();
  let last = '';
  const poll = async (): Promise<void> => {
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // no file yet: nothing blocked
    }
    if (text === last) return;
    last = text;
    try {
      const ids = text === '' ? [] : ((JSON.parse(text) as { blocked?: string[] }).blocked ?? []);
      blocked = new Set(ids.map((h) => BigInt(`0x${h}`)));
      logger.warn({ blocked: ids }, 'test fault file: peer messages with these members are dropped');
    } catch (err) {
      logger.error({ err, file }, 'test fault file: not valid JSON; left the previous list in force');
    }
  };
  void poll();
  // A 20 ms poll: partitions start and heal well within an election timeout.
  const timer = setInterval(() => void poll(), 20);
  timer.unref();
  return {
    // Applied on send (from = this member) and on receipt (to = this member): the other side is the one checked.
    filter: (from, to) => !blocked.has(from) && !blocked.has(to),
    stop: () => clearInterval(timer),
  };
}

export async function startMember(config: ServeConfig, logger: Logger, hooks: MemberHooks = {}): Promise<RunningMember> {
  // TLS material and the token key first: a bad flag fails the start before the data dir is touched.
  const tlsLogger = logger.child({ component: 'tls' });
  const tls: ClientTlsSetup | undefined = usesClientTls(config) ? clientTls(config, tlsLogger) : undefined;
  let server: KeywardServer;
  let fault: ReturnType<typeof testFaultFilter> | undefined;
  let peer: PeerTlsSetup | undefined;
  try {
    peer = peerTls(config, tlsLogger);
    const authTokenKeyFile = tokenKeyFile(config, logger);
    const faultFile = process.env[TEST_FAULT_FILE_ENV];
    fault = faultFile === undefined || faultFile === '' ? undefined : testFaultFilter(faultFile, logger);
    server = await openServer(config, logger, hooks, authTokenKeyFile, fault, peer);
  } catch (err) {
    fault?.stop();
    await tls?.reloader.close();
    await peer?.reloader.close();
    throw err;
  }
  if (tls?.generated !== undefined) {
    // stderr as well as the log: the one thing the operator must read on first run.
    process.stderr.write(firstRunMessage(tls.generated, config.certsDir, config.advertiseClientUrls[0]!));
  }
  for (const url of config.listenPeerUrls.filter((u) => u.startsWith('http:'))) {
    logger.warn({ url }, 'plaintext peer listener: peer traffic is neither encrypted nor authenticated');
  }
  // Like etcd, serve clients once the member has joined the cluster's log (a leader is known and
  // this member's name and client URLs are published).
  await server.ready();
  const api = createApi(server, {
    maxRequestBytes: config.maxRequestBytes,
    logger,
    clientIdentity: requestPrincipal,
    hostWhitelist: config.hostWhitelist,
    clientUrls: [...config.advertiseClientUrls, ...config.listenClientUrls],
  });
  const listeners: HttpListener[] = [];
  const onHandshakeFailure = handshakeFailureLog(tlsLogger);
  try {
    for (const url of config.listenClientUrls) {
      const secure = url.startsWith('https:');
      const listener = await HttpListener.listen(api, url, {
        maxConnections: config.maxConnections,
        ...(secure && tls !== undefined
          ? {
              tls: {
                reloader: tls.reloader,
                clientCertAuth: config.clientCertAuth,
                onHandshakeFailure,
                onRefused: (e) => tlsLogger.warn({ serial: e.serial, remoteAddress: e.remoteAddress, when: e.when }, 'client certificate on the revocation list: connection refused or cut'),
              },
            }
          : {}),
      });
      listeners.push(listener);
      if (!secure) logger.warn({ url: listener.url }, 'plaintext client listener (--insecure): no TLS and no client certificates; anyone who can reach it can read and change data');
    }
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    await server.close();
    await tls?.reloader.close();
    await peer?.reloader.close();
    fault?.stop();
    throw err;
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(listeners.map((l) => l.close()));
      await server.close();
      await tls?.reloader.close();
    await peer?.reloader.close();
      fault?.stop();
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
      tls: tls === undefined ? false : { certFile: tls.certFile, caFile: tls.caFile, clientCertAuth: config.clientCertAuth },
      auth: config.insecure ? 'off until enabled (--insecure)' : 'on (root bound to its certificate)',
    },
    'ready to serve client requests',
  );
  return { server, listeners, stop };
}

function openServer(
  config: ServeConfig,
  logger: Logger,
  hooks: MemberHooks,
  authTokenKeyFile: string | undefined,
  fault: ReturnType<typeof testFaultFilter> | undefined,
  peer: PeerTlsSetup | undefined,
): Promise<KeywardServer> {
  return KeywardServer.open({
    ...(peer !== undefined ? { peerTls: peer } : {}),
    ...(fault !== undefined ? { testNetworkFilter: fault.filter } : {}),
    ...(authTokenKeyFile !== undefined ? { authTokenKeyFile } : {}),
    authTokenTtlSeconds: config.authTokenTtl,
    // Secure by default: root bound to its certificate, auth on (proposed once, idempotent).
    authBootstrap: !config.insecure,
    auditLogger: logger.child({ component: 'audit' }),
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
    snapshotCatchUpEntries: config.snapshotCatchupEntries,
    autoCompaction: parseAutoCompaction(config.autoCompactionMode, config.autoCompactionRetention),
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
}

interface PeerTlsSetup {
  reloader: TlsReloader;
  allowedNames: string[];
}

/**
 * Peer port mTLS (issue 5 part B2), when a peer URL is https: this member's peer certificate and
 * key (--peer-cert-file/--peer-key-file, else <certs-dir>/members/<name>/peer.*), the peer CA
 * (--peer-trusted-ca-file, else <certs-dir>/ca/peer-ca.crt), the certs dir's denylist and the peer
 * CRL, reloaded on SIGHUP and file change. The transport binds each certificate's CN to the
 * member's name (src/transport/peer-identity.ts) and takes --peer-cert-allowed-cn.
 */
function peerTls(config: ServeConfig, logger: TlsLogger): PeerTlsSetup | undefined {
  if (![...config.listenPeerUrls, ...config.initialAdvertisePeerUrls].some((u) => u.startsWith('https:'))) return undefined;
  if (!config.peerClientCertAuth) {
    throw new ConfigError('--peer-client-cert-auth=false: Keyward always verifies peer certificates (they name the member that sends); use http:// peer URLs with --insecure for an unauthenticated peer port');
  }
  const layout = certLayout(resolve(config.certsDir));
  let files = `--peer-trusted-ca-file ${config.peerTrustedCaFile ?? layout.peerCa.cert}`;
  try {
    // Inside the try: a --name that is no certificate name is an error only when the certs dir is used.
    const certFile = config.peerCertFile ?? layout.member(config.name).peer.cert;
    const keyFile = config.peerKeyFile ?? layout.member(config.name).peer.key;
    files = `--peer-cert-file ${certFile}, --peer-key-file ${keyFile}, ${files}`;
    const crlFile = config.peerCrlFile ?? (existsSync(layout.peerCa.crl) ? layout.peerCa.crl : undefined);
    const reloader = new TlsReloader({
      certFile,
      keyFile,
      caFile: config.peerTrustedCaFile ?? layout.peerCa.cert,
      ...(existsSync(layout.revoked) ? { revokedFile: layout.revoked } : {}),
      ...(crlFile !== undefined ? { crlFile } : {}),
      sighup: true,
      logger,
    });
    return { reloader, allowedNames: config.peerCertAllowedCn };
  } catch (e) {
    if (isTlsError(e)) throw new ConfigError(`peer port TLS (${files}): ${e.message}`);
    throw e;
  }
}

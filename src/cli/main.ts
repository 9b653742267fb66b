#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-semi-space-size=8
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { ClusterClient, KeywardError, KvClient, LeaseClient, LockClient, type ClientOptions } from '../client/index.js';
import { isTlsError } from '../tls/index.js';
import { ConfigError, SETTINGS, envName, resolveServeConfig } from './config.js';
import { UsageError, runDel, runGet, runPut, runTxn, type Output } from './kv-commands.js';
import {
  runEndpointStatus,
  runMemberAdd,
  runMemberList,
  runMemberPromote,
  runMemberRemove,
  runMemberUpdate,
  runMoveLeader,
  type ClusterOutput,
} from './member-commands.js';
import { TxnSyntaxError } from './txn-syntax.js';
import { openWatch, runWatch } from './watch-command.js';
import { runLock } from './lock-command.js';
import { runLeaseGrant, runLeaseKeepAlive, runLeaseList, runLeaseRevoke, runLeaseTimeToLive } from './lease-commands.js';
import { createLogger, startMember, type RunningMember } from './serve.js';
import { setMemberHeapFlags } from './heap.js';
import { registerAuthCommands } from './auth-commands.js';
import { CliFileError, resolveConnection, type Connection } from './connection.js';
import { registerCertsCommands } from './certs-commands.js';
import { registerPolicyCommands } from './policy-commands.js';
import { registerTenantCommands } from './tenant-commands.js';

// `keyward` parses and prints; all behaviour lives in library modules (ARCHITECTURE.md, cli).

const program = new Command();
program
  .name('keyward')
  .description('Keyward: a configuration service on a Raft-replicated MVCC key-value core (etcd v3 API)')
  .version(packageVersion())
  .option('--endpoints <urls>', 'comma-separated member client URLs; scheme-less ones are https:// (default https://127.0.0.1:2379) [$KEYWARD_ENDPOINTS]', process.env['KEYWARD_ENDPOINTS'] || undefined)
  .addOption(new Option('-w, --write-out <format>', 'output format').choices(['simple', 'json', 'table']).default('simple'))
  .option('--command-timeout <ms>', 'timeout for each request, in milliseconds', '5000')
  .option('--cacert <file>', 'verify the members\' certificates with this CA bundle')
  .option('--cert <file>', 'client certificate for mutual TLS (needs --key)')
  .option('--key <file>', 'private key of --cert (must be mode 0600)')
  .option('--certs-dir <dir>', 'without --cacert/--cert/--key: trust <dir>/ca/client-ca.crt and present <dir>/clients/root.crt if present; also where `certs` commands write', 'certs')
  .option('--insecure-transport', 'scheme-less endpoints (and the default one) are plaintext http://')
  .option('--insecure-skip-tls-verify', 'do not verify the server certificate (DANGEROUS: anyone on the path can read and change the session; refused with --user)')
  .exitOverride();

const serve = program.command('serve').description('run a Keyward member').option('--config-file <path>', 'YAML file of settings');
for (const s of Object.values(SETTINGS)) {
  // Booleans as etcd takes them: `--insecure` alone, or `--client-cert-auth=false`.
  serve.option(`--${s.flag} ${s.kind === 'bool' ? '[value]' : '<value>'}`, `${s.description} [$${envName(s.flag)}]`);
}
serve.action(async (opts: Record<string, string | undefined>) => {
  // The member's heap settings (heap.ts); the shebang gave node the start-up ones.
  setMemberHeapFlags();
  // commander camel-cases flag names; the config module speaks etcd's flag names.
  const flags: Record<string, string | undefined> = {};
  for (const s of Object.values(SETTINGS)) flags[s.flag] = opts[camel(s.flag)];
  // --certs-dir is a global option too (the client commands'), and commander gives a parent's
  // option to the parent even when it follows `serve`: take it from there when it was typed.
  if (flags['certs-dir'] === undefined && program.getOptionValueSource('certsDir') === 'cli') flags['certs-dir'] = program.opts<{ certsDir: string }>().certsDir;
  const config = resolveServeConfig(flags, process.env, opts['configFile']);
  const logger = createLogger(config.logLevel);
  let member: RunningMember | undefined;
  let exitCode = 0;
  let shuttingDown = false;
  let pending: string | undefined;
  const shutdown = (signal: string): void => {
    if (member === undefined) {
      pending = signal;
      return;
    }
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down: draining requests and closing storage');
    member.stop().then(
      () => {
        logger.info('stopped cleanly');
        process.exit(exitCode);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  member = await startMember(config, logger, {
    onTerminate: (code, reason) => {
      exitCode = code;
      // Callbacks fire from inside the apply path: stop from a fresh turn.
      setImmediate(() => shutdown(reason));
    },
  });
  if (pending !== undefined) shutdown(pending);
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
});

type GlobalOptions = {
  endpoints?: string;
  writeOut: Output['format'];
  commandTimeout: string;
  cacert?: string;
  cert?: string;
  key?: string;
  certsDir: string;
  insecureTransport?: boolean;
  insecureSkipTlsVerify?: boolean;
  user?: string;
};

/** Resolved once per run: reading the flags' files twice would warn twice. */
let connection: Connection | undefined;

function globals(): GlobalOptions & { endpointList: string[]; out: ClusterOutput; clientOptions: ClientOptions } {
  const g = program.opts<GlobalOptions>();
  connection ??= resolveConnection(
    {
      endpoints: g.endpoints,
      cacert: g.cacert,
      cert: g.cert,
      key: g.key,
      insecureTransport: g.insecureTransport,
      insecureSkipTlsVerify: g.insecureSkipTlsVerify,
      certsDir: g.certsDir,
      login: g.user !== undefined,
    },
    (line) => process.stderr.write(line),
  );
  const out: ClusterOutput = { format: g.writeOut, write: (s) => process.stdout.write(s), warn: (s) => process.stderr.write(s) };
  const base: ClientOptions = { endpoints: connection.endpoints, timeoutMs: Number(g.commandTimeout), ...(connection.tls === undefined ? {} : { tls: connection.tls }) };
  return { ...g, endpointList: connection.endpoints, out, clientOptions: login.withLogin(base) };
}

function client(): { kv: KvClient; out: Output } {
  const g = globals();
  return { kv: new KvClient(g.clientOptions), out: g.out };
}

function clusterClient(): { cluster: ClusterClient; out: ClusterOutput; endpoints: string[] } {
  const g = globals();
  return { cluster: new ClusterClient(g.clientOptions), out: g.out, endpoints: g.endpointList };
}

program
  .command('get <key> [range_end]')
  .description('get a key or a range of keys')
  .option('--prefix', 'get keys with the given prefix')
  .option('--from-key', 'get keys greater than or equal to the given key')
  .option('--rev <revision>', 'revision to read at', '0')
  .option('--limit <n>', 'maximum number of results', '0')
  .option('--order <order>', 'ASCEND or DESCEND')
  .option('--sort-by <target>', 'CREATE, KEY, MODIFY, VALUE or VERSION')
  .option('--print-value-only', 'print only the values')
  .option('--keys-only', 'print only the keys')
  .option('--count-only', 'print only the count')
  .option('--consistency <l|s>', 'l (linearizable) or s (serializable)', 'l')
  .action((key: string, rangeEnd: string | undefined, o) => {
    const { kv, out } = client();
    return runGet(kv, out, key, rangeEnd, o);
  });

program
  .command('put <key> [value]')
  .description('put a key (the value is read from stdin when omitted)')
  .option('--prev-kv', 'print the previous key-value pair')
  .option('--lease <id>', 'lease ID (hexadecimal, as etcdctl) to attach', '0')
  .option('--ignore-value', 'keep the current value')
  .option('--ignore-lease', 'keep the current lease')
  .action(async (key: string, value: string | undefined, o) => {
    const { kv, out } = client();
    const v = value ?? (o.ignoreValue ? undefined : readFileSync(0, 'utf8'));
    return runPut(kv, out, key, v, o);
  });

program
  .command('del <key> [range_end]')
  .description('delete a key or a range of keys')
  .option('--prefix', 'delete keys with the given prefix')
  .option('--from-key', 'delete keys greater than or equal to the given key')
  .option('--prev-kv', 'print the deleted key-value pairs')
  .action((key: string, rangeEnd: string | undefined, o) => {
    const { kv, out } = client();
    return runDel(kv, out, key, rangeEnd, o);
  });

program
  .command('txn')
  .description('run a transaction read from stdin: compares, blank line, success ops, blank line, failure ops')
  .option('-i, --interactive', 'prompt for each section')
  .action((o: { interactive?: boolean }) => {
    const { kv, out } = client();
    if (o.interactive) process.stderr.write('compares, then success requests (get, put, del), then failure requests, separated by blank lines; end with Ctrl-D\n');
    return runTxn(kv, out, readFileSync(0, 'utf8'));
  });

program
  .command('watch <key> [range_end]')
  .description('watch a key or range and print each event until interrupted (resumes across member failures)')
  .option('--prefix', 'watch keys with the given prefix')
  .option('--rev <revision>', 'revision to start watching from (0: from now)', '0')
  .option('--prev-kv', 'print the previous key-value pair of each event')
  .option('--progress-notify', 'ask for periodic progress notifications')
  .action(async (key: string, rangeEnd: string | undefined, o) => {
    const g = globals();
    const kv = new KvClient({
      ...g.clientOptions,
      watch: {
        timeoutMs: Number(g.commandTimeout),
        onReconnect: (r) => process.stderr.write(`watch: ${r.reason}; resuming from revision ${r.fromRevision} on ${r.endpoint} in ${r.delayMs} ms\n`),
      },
    });
    const w = openWatch(kv, key, rangeEnd, o);
    const stop = (): void => void w.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await runWatch({ ...g.out, warn: (s) => process.stderr.write(s) }, w);
  });

program
  .command('lock <lockname> [command...]')
  .description('acquire a named lock (etcdctl lock): print its key and hold it until interrupted, or run the command while holding it (ETCD_LOCK_KEY, ETCD_LOCK_REV set) and exit with its status')
  .option('--ttl <seconds>', 'time to live of the lock\'s lease, kept alive while held', '10')
  .action(async (name: string, command: string[], o: { ttl: string }) => {
    const g = globals();
    const locks = new LockClient(g.clientOptions);
    const interrupt = new Promise<void>((r) => {
      process.once('SIGINT', () => r());
      process.once('SIGTERM', () => r());
    });
    const code = await runLock(locks, g.out, name, command, o, interrupt);
    await locks.close();
    process.exit(code);
  });

function leaseClient(): { leases: LeaseClient; out: ClusterOutput } {
  const g = globals();
  return { leases: new LeaseClient(g.clientOptions), out: g.out };
}

const lease = program.command('lease').description('lease commands (lease IDs in hexadecimal, as etcdctl)');
lease
  .command('grant <ttl>')
  .description('grant a lease of <ttl> seconds (raised to the cluster minimum)')
  .action((ttl: string) => {
    const { leases, out } = leaseClient();
    return runLeaseGrant(leases, out, ttl);
  });
lease
  .command('revoke <leaseID>')
  .description('revoke a lease, deleting every key attached to it')
  .action((id: string) => {
    const { leases, out } = leaseClient();
    return runLeaseRevoke(leases, out, id);
  });
lease
  .command('timetolive <leaseID>')
  .description('print the granted and remaining TTL of a lease')
  .option('--keys', 'print the keys attached to the lease')
  .action((id: string, o: { keys?: boolean }) => {
    const { leases, out } = leaseClient();
    return runLeaseTimeToLive(leases, out, id, o);
  });
lease
  .command('list')
  .description('list every lease')
  .action(() => {
    const { leases, out } = leaseClient();
    return runLeaseList(leases, out);
  });
lease
  .command('keep-alive <leaseID>')
  .description('renew a lease at a third of its TTL until interrupted or the lease is gone')
  .option('--once', 'renew once and exit')
  .action((id: string, o: { once?: boolean }) => {
    const { leases, out } = leaseClient();
    return runLeaseKeepAlive(leases, out, id, o, (ka) => {
      process.once('SIGINT', () => ka.stop());
      process.once('SIGTERM', () => ka.stop());
    });
  });

const endpoint = program.command('endpoint').description('endpoint commands');
endpoint
  .command('status')
  .description('print the status of each endpoint: member ID, version, DB size, leader, raft term and index')
  .option('--cluster', "use every member's client URLs from member list instead of --endpoints")
  .action((o: { cluster?: boolean }) => {
    const { cluster, out, endpoints } = clusterClient();
    return runEndpointStatus(cluster, out, endpoints, o);
  });

const member = program.command('member').description('membership commands');
member
  .command('list')
  .description('list the members: ID, status, name, peer URLs, client URLs, is learner')
  .option('--consistency <l|s>', 'l (linearizable) or s (serializable)', 'l')
  .action((o: { consistency: string }) => {
    const { cluster, out } = clusterClient();
    return runMemberList(cluster, out, o);
  });
member
  .command('add <name>')
  .description('add a member; prints the settings it must start with')
  .option('--peer-urls <urls>', "comma-separated peer URLs of the new member")
  .option('--learner', 'add it as a non-voting learner')
  .action((name: string, o: { peerUrls?: string; learner?: boolean }) => {
    const { cluster, out } = clusterClient();
    return runMemberAdd(cluster, out, name, o);
  });
member
  .command('remove <memberID>')
  .description('remove the member with this hexadecimal ID')
  .action((id: string) => {
    const { cluster, out } = clusterClient();
    return runMemberRemove(cluster, out, id);
  });
member
  .command('update <memberID>')
  .description('replace the peer URLs of the member with this hexadecimal ID')
  .option('--peer-urls <urls>', 'comma-separated new peer URLs')
  .action((id: string, o: { peerUrls?: string }) => {
    const { cluster, out } = clusterClient();
    return runMemberUpdate(cluster, out, id, o);
  });
member
  .command('promote <memberID>')
  .description('make the learner with this hexadecimal ID a voting member')
  .action((id: string) => {
    const { cluster, out } = clusterClient();
    return runMemberPromote(cluster, out, id);
  });

program
  .command('move-leader <transfereeID>')
  .description('transfer leadership to the member with this hexadecimal ID')
  .action((id: string) => {
    const { cluster, out, endpoints } = clusterClient();
    return runMoveLeader(cluster, out, endpoints, id);
  });

// auth / user / role commands and the global --user login (src/cli/auth-commands.ts). The auth
// commands' clients get the login through withLogin themselves.
const login = registerAuthCommands(program, {
  clientOptions: () => {
    const o = globals().clientOptions;
    return { endpoints: o.endpoints, ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }), ...(o.tls === undefined ? {} : { tls: o.tls }) };
  },
  out: () => globals().out,
});

// keyward tenant … (src/cli/tenant-commands.ts) and keyward policy apply|export (src/cli/policy-commands.ts).
registerTenantCommands(program, { clientOptions: () => globals().clientOptions, out: () => globals().out });
registerPolicyCommands(program, { clientOptions: () => globals().clientOptions, out: () => globals().out });

// keyward certs init|issue|rotate|revoke|add-member (src/cli/certs-commands.ts).
registerCertsCommands(program, {
  certsDir: () => program.opts<GlobalOptions>().certsDir,
  write: (s) => process.stdout.write(s),
});

/** The package version, found by walking up from this file (it runs from src/ or dist/src/). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'keyward' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed its message; help and version exit 0.
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`keyward: invalid configuration: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof UsageError || err instanceof TxnSyntaxError) {
    process.stderr.write(`keyward: ${err.message}\n`);
    process.exit(2);
  }
  if (isTlsError(err)) {
    // A name typed wrong is a usage error; a missing, unreadable or refused file is a failure.
    process.stderr.write(`keyward: ${err.message} (${err.code})\n`);
    process.exit(err.code === 'InvalidName' ? 2 : 1);
  }
  if (err instanceof CliFileError) {
    process.stderr.write(`keyward: ${err.message}\n`);
    process.exit(1);
  }
  if (err instanceof KeywardError && err.code === 'UNAVAILABLE' && /TLS/.test(err.message) && connection !== undefined) {
    process.stderr.write(`Error: ${err.message}\n(trusting: ${connection.trust})\n`);
    process.exit(1);
  }
  // etcdctl's shape for server and transport errors.
  process.stderr.write(`Error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

#!/usr/bin/env node
// A three-member Keyward cluster on loopback, for development.
//
//   npm run cluster                      build, then start infra1..3 (Ctrl-C stops all three)
//   npm run cluster -- --clean           remove ./cluster.keyward first (a fresh cluster)
//   npm run cluster -- --no-build        skip `npm run build`
//   npm run cluster -- --dry-run         print each member's command line as JSON and exit
//   npm run cluster -- -- --log-level debug   flags after a second `--` go to every member
//
// Members: infra1 (client 2379, peer 2380), infra2 (22379, 22380), infra3 (32379, 32380), with
// data under ./cluster.keyward/<name> and etcd's flags for a new static cluster. Each member's
// output is printed line by line with its name in front. Data survives a restart; a member whose
// data dir already holds a cluster ignores --initial-cluster-state new, as etcd does.
//
// Secure: the client ports are https with mutual TLS and auth is on (root bound to its
// certificate). One certs dir, ./cluster.keyward/certs, is made for all three members before they
// start (scripts/dev-certs.mjs), and its root certificate is what the printed commands use.
// The same cluster in containers: docker-compose.yml.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join, relative, resolve } from 'node:path';
import { ensureDevCerts } from './dev-certs.mjs';

const HOST = '127.0.0.1';
const TOKEN = 'keyward-dev';
const DATA_ROOT = resolve('cluster.keyward');
const CERTS_DIR = join(DATA_ROOT, 'certs');
const CLI = resolve('dist/src/cli/main.js');
// Peers talk mutual TLS with the peer certificates of the shared certs dir.
const PEER_SCHEME = 'https';
const MEMBERS = [
  { name: 'infra1', client: 2379, peer: 2380 },
  { name: 'infra2', client: 22379, peer: 22380 },
  { name: 'infra3', client: 32379, peer: 32380 },
];

function parseArgs(argv) {
  const o = { clean: false, build: true, dryRun: false, extra: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--clean') o.clean = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--') {
      o.extra = argv.slice(i + 1);
      break;
    } else if (a === '--help' || a === '-h') {
      console.log('usage: npm run cluster -- [--clean] [--no-build] [--dry-run] [-- <flags for every member>]');
      process.exit(0);
    } else {
      console.error(`cluster: unknown argument ${a} (flags for the members go after a second --)`);
      process.exit(2);
    }
  }
  return o;
}

/** `keyward serve` arguments for one member, with etcd's flag names. */
function serveArgs(m, extra) {
  const initialCluster = MEMBERS.map((x) => `${x.name}=${PEER_SCHEME}://${HOST}:${x.peer}`).join(',');
  return [
    'serve',
    '--name', m.name,
    '--data-dir', join(DATA_ROOT, m.name),
    '--certs-dir', CERTS_DIR,
    '--listen-client-urls', `https://${HOST}:${m.client}`,
    '--advertise-client-urls', `https://${HOST}:${m.client}`,
    '--listen-peer-urls', `${PEER_SCHEME}://${HOST}:${m.peer}`,
    '--initial-advertise-peer-urls', `${PEER_SCHEME}://${HOST}:${m.peer}`,
    '--initial-cluster', initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', TOKEN,
    ...extra,
  ];
}

const COLOURS = [36, 35, 33]; // cyan, magenta, yellow
const tty = process.stdout.isTTY === true;
const width = Math.max(...MEMBERS.map((m) => m.name.length));

function prefixer(name, i) {
  const label = name.padEnd(width) + ' |';
  return tty ? `\x1b[${COLOURS[i % COLOURS.length]}m${label}\x1b[0m` : label;
}

function pipeLines(stream, prefix, out, onLine = () => {}) {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
    out.write(`${prefix} ${line}\n`);
    onLine(line);
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.dryRun) {
    for (const m of MEMBERS) console.log(JSON.stringify({ name: m.name, command: [process.execPath, CLI, ...serveArgs(m, o.extra)] }));
    return;
  }
  if (o.build) {
    const b = spawnSync('npm', ['run', 'build'], { stdio: 'inherit' });
    if (b.status !== 0) {
      console.error('cluster: build failed');
      process.exit(b.status ?? 1);
    }
  }
  if (o.clean) rmSync(DATA_ROOT, { recursive: true, force: true });
  mkdirSync(DATA_ROOT, { recursive: true });
  const { admin, created } = await ensureDevCerts(CERTS_DIR, MEMBERS.map((m) => m.name));
  if (created) console.log(`cluster: created ${relative(process.cwd(), CERTS_DIR)} (CAs, member certificates, admin client certificate)`);

  const running = new Map();
  const ready = new Set();
  let stopping = false;

  MEMBERS.forEach((m, i) => {
    const prefix = prefixer(m.name, i);
    // The heap and malloc settings the keyward bin's shebang gives (src/cli/heap.ts).
    const child = spawn(process.execPath, ['--max-semi-space-size=8', CLI, ...serveArgs(m, o.extra)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, MALLOC_ARENA_MAX: '2' },
    });
    running.set(m.name, child);
    pipeLines(child.stderr, prefix, process.stderr);
    pipeLines(child.stdout, prefix, process.stdout, (line) => {
      if (ready.has(m.name) || !line.includes('"ready to serve client requests"')) return;
      ready.add(m.name);
      if (ready.size === MEMBERS.length) {
        const endpoints = MEMBERS.map((x) => `https://${HOST}:${x.client}`).join(',');
        const rel = (p) => relative(process.cwd(), p);
        const tlsFlags = `--cacert ${rel(admin.ca)} --cert ${rel(admin.cert)} --key ${rel(admin.key)}`;
        const cli = 'node dist/src/cli/main.js';
        console.log(
          `\ncluster: all members are serving (mutual TLS; the admin is user root, by its certificate). Try:\n` +
            `  ${cli} --endpoints ${endpoints} ${tlsFlags} member list\n` +
            `  ${cli} --endpoints ${endpoints} ${tlsFlags} -w table endpoint status\n` +
            `  curl ${tlsFlags} -X POST https://${HOST}:${MEMBERS[0].client}/v3/kv/range -d '{"key":"Zm9v"}'\n` +
            `Ctrl-C stops all three.\n`,
        );
      }
    });
    // 'close' rather than 'exit': it comes after the member's last output lines.
    child.on('close', (code, signal) => {
      running.delete(m.name);
      const how = signal !== null ? `signal ${signal}` : `code ${code}`;
      const left = running.size === 0 ? 'none left' : `${[...running.keys()].join(', ')} still running`;
      console.log(`${prefix} exited (${how}); ${left}`);
      if (running.size === 0) process.exit(stopping ? 0 : 1);
    });
  });

  // Ctrl-C reaches the members from the terminal too; forwarding the signal covers a `kill` of this
  // script alone. A second signal kills whatever is left.
  const stop = (signal) => {
    if (stopping) {
      for (const child of running.values()) child.kill('SIGKILL');
      return;
    }
    stopping = true;
    console.log(`\ncluster: ${signal}: stopping ${[...running.keys()].join(', ')} (again to kill)`);
    for (const child of running.values()) child.kill('SIGTERM');
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

await main();

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, resolveServeConfig } from '../../src/cli/config.js';

test('defaults follow etcd, with the data dir derived from the name', () => {
  const c = resolveServeConfig({}, {});
  assert.equal(c.name, 'default');
  assert.equal(c.dataDir, 'default.keyward');
  assert.deepEqual(c.listenClientUrls, ['https://127.0.0.1:2379']);
  assert.deepEqual(c.advertiseClientUrls, ['https://127.0.0.1:2379']);
  assert.equal(c.maxRequestBytes, 1572864);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(c.snapshotCount, 10000);
  assert.equal(c.snapshotCatchupEntries, 1000);
  assert.equal(resolveServeConfig({ name: 'm1' }, {}).dataDir, 'm1.keyward');
});

test('--auto-compaction-mode/--auto-compaction-retention: off by default, etcd forms accepted, bad ones refused before start', () => {
  const c = resolveServeConfig({}, {});
  assert.equal(c.autoCompactionMode, 'periodic');
  assert.equal(c.autoCompactionRetention, '0');
  assert.equal(resolveServeConfig({ 'auto-compaction-retention': '1h30m' }, {}).autoCompactionRetention, '1h30m');
  assert.equal(resolveServeConfig({ 'auto-compaction-mode': 'revision' }, { KEYWARD_AUTO_COMPACTION_RETENTION: '1000' }).autoCompactionRetention, '1000');
  assert.throws(() => resolveServeConfig({ 'auto-compaction-mode': 'hourly', 'auto-compaction-retention': '1' }, {}), (e: unknown) => e instanceof ConfigError && /unknown auto-compaction mode/.test(e.message));
  assert.throws(() => resolveServeConfig({ 'auto-compaction-mode': 'revision', 'auto-compaction-retention': '1h' }, {}), (e: unknown) => e instanceof ConfigError && /not a number of revisions/.test(e.message));
  assert.throws(() => resolveServeConfig({ 'auto-compaction-retention': '3 days' }, {}), ConfigError);
});

test('--snapshot-catchup-entries sets the entries kept behind a snapshot; from the environment too; zero or words are refused', () => {
  assert.equal(resolveServeConfig({ 'snapshot-catchup-entries': '50' }, {}).snapshotCatchupEntries, 50);
  assert.equal(resolveServeConfig({}, { KEYWARD_SNAPSHOT_CATCHUP_ENTRIES: '75' }).snapshotCatchupEntries, 75);
  assert.throws(() => resolveServeConfig({ 'snapshot-catchup-entries': '0' }, {}), /--snapshot-catchup-entries \(from command line\): expected a positive integer/);
  assert.throws(() => resolveServeConfig({ 'snapshot-catchup-entries': 'many' }, {}), ConfigError);
});

test('flags beat environment variables, which beat the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cfg-'));
  try {
    const file = join(dir, 'keyward.yaml');
    writeFileSync(file, 'name: from-file\nmax-txn-ops: 64\nlog-level: warn\nlisten-client-urls:\n  - http://127.0.0.1:1\n  - http://127.0.0.1:2\n');
    const c = resolveServeConfig({ name: 'from-flag', insecure: 'true' }, { KEYWARD_MAX_TXN_OPS: '32' }, file);
    assert.equal(c.name, 'from-flag');
    assert.equal(c.maxTxnOps, 32);
    assert.equal(c.logLevel, 'warn');
    assert.deepEqual(c.listenClientUrls, ['http://127.0.0.1:1', 'http://127.0.0.1:2']);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('bad values are clear errors naming the setting and its source', () => {
  const cases: Array<[Record<string, string>, NodeJS.ProcessEnv, RegExp]> = [
    [{ 'max-request-bytes': 'lots' }, {}, /--max-request-bytes \(from command line\): expected a positive integer/],
    [{ 'max-request-bytes': '0' }, {}, /positive integer/],
    [{}, { KEYWARD_MAX_TXN_OPS: '-1' }, /\$KEYWARD_MAX_TXN_OPS/],
    [{ 'listen-client-urls': 'not a url' }, {}, /is not a URL/],
    [{ 'listen-client-urls': 'ftp://127.0.0.1:1' }, {}, /must be http/],
    [{ 'log-level': 'loud' }, {}, /expected one of/],
    [{ name: '' }, {}, /must not be empty/],
  ];
  for (const [flags, env, re] of cases) assert.throws(() => resolveServeConfig(flags, env), (e: unknown) => e instanceof ConfigError && re.test(e.message));
});

test('a config file with an unknown setting or bad YAML is rejected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cfg-'));
  try {
    const unknown = join(dir, 'a.yaml');
    writeFileSync(unknown, 'nmae: typo\n');
    assert.throws(() => resolveServeConfig({}, {}, unknown), /unknown setting "nmae"/);
    const bad = join(dir, 'b.yaml');
    writeFileSync(bad, 'name: [unclosed\n');
    assert.throws(() => resolveServeConfig({}, {}, bad), /not valid YAML/);
    assert.throws(() => resolveServeConfig({}, {}, join(dir, 'missing.yaml')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('TLS by default: http:// client URLs are refused without --insecure, naming the flag to pass', () => {
  const c = resolveServeConfig({}, {});
  assert.equal(c.insecure, false);
  assert.equal(c.certsDir, 'certs');
  assert.equal(c.clientCertAuth, true);
  assert.equal(c.peerClientCertAuth, true);
  assert.equal(c.authTokenTtl, 300);
  assert.equal(c.maxConnections, 10000);
  assert.deepEqual(c.peerCertAllowedCn, []);
  for (const f of ['certFile', 'keyFile', 'trustedCaFile', 'clientCrlFile', 'peerCertFile', 'peerKeyFile', 'peerTrustedCaFile', 'peerCrlFile', 'authTokenKeyFile'] as const) {
    assert.equal(c[f], undefined, f);
  }
  for (const flag of ['listen-client-urls', 'advertise-client-urls']) {
    assert.throws(
      () => resolveServeConfig({ [flag]: 'https://127.0.0.1:1,http://127.0.0.1:2' }, {}),
      (e: unknown) => e instanceof ConfigError && e.message === `--${flag}: "http://127.0.0.1:2" is plaintext; use https:// (the default), or pass --insecure to allow plaintext`,
    );
    assert.deepEqual(resolveServeConfig({ [flag]: 'http://127.0.0.1:2', insecure: 'true' }, {})[flag === 'listen-client-urls' ? 'listenClientUrls' : 'advertiseClientUrls'], ['http://127.0.0.1:2']);
  }
});

test('booleans take Go ParseBool words from flags, env and YAML booleans; anything else is an error', () => {
  // commander hands over `true` for a bare `--insecure`.
  assert.equal(resolveServeConfig({ insecure: true as unknown as string }, {}).insecure, true);
  assert.equal(resolveServeConfig({ 'client-cert-auth': 'false' }, {}).clientCertAuth, false);
  assert.equal(resolveServeConfig({}, { KEYWARD_INSECURE: '1' }).insecure, true);
  assert.equal(resolveServeConfig({}, { KEYWARD_PEER_CLIENT_CERT_AUTH: 'F' }).peerClientCertAuth, false);
  assert.throws(() => resolveServeConfig({ insecure: 'yes' }, {}), (e: unknown) => e instanceof ConfigError && /--insecure \(from command line\): expected true or false, got "yes"/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cfg-'));
  try {
    const file = join(dir, 'k.yaml');
    writeFileSync(file, 'insecure: true\nclient-cert-auth: false\ncerts-dir: /etc/keyward/certs\nauth-token-ttl: 60\npeer-cert-allowed-cn: [m1, m2]\ncert-file: /c.crt\nkey-file: /c.key\n');
    const c = resolveServeConfig({}, {}, file);
    assert.deepEqual(
      [c.insecure, c.clientCertAuth, c.certsDir, c.authTokenTtl, c.peerCertAllowedCn, c.certFile, c.keyFile],
      [true, false, '/etc/keyward/certs', 60, ['m1', 'm2'], '/c.crt', '/c.key'],
    );
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('TLS file flags: a certificate without its key (or the reverse) is refused; empty paths too', () => {
  assert.throws(() => resolveServeConfig({ 'cert-file': '/a.crt' }, {}), /--cert-file and --key-file must be given together/);
  assert.throws(() => resolveServeConfig({ 'key-file': '/a.key' }, {}), /--cert-file and --key-file must be given together/);
  assert.throws(() => resolveServeConfig({ 'peer-cert-file': '/p.crt' }, {}), /--peer-cert-file and --peer-key-file must be given together/);
  assert.throws(() => resolveServeConfig({ 'trusted-ca-file': '' }, {}), /--trusted-ca-file \(from command line\): must not be empty/);
  assert.throws(() => resolveServeConfig({ 'auth-token-ttl': '0' }, {}), /--auth-token-ttl .*positive integer/);
  const c = resolveServeConfig({ 'cert-file': '/a.crt', 'key-file': '/a.key', 'trusted-ca-file': '/ca.crt', 'auth-token-key-file': '/t.key' }, {});
  assert.deepEqual([c.certFile, c.keyFile, c.trustedCaFile, c.authTokenKeyFile], ['/a.crt', '/a.key', '/ca.crt', '/t.key']);
});

test('D12 a self-referencing initial cluster is refused at startup: a peer URL under two names, or another member at one of this member\'s listeners', () => {
  const base = { insecure: 'true', name: 'm1', 'listen-peer-urls': 'http://127.0.0.1:2380', 'initial-advertise-peer-urls': 'http://127.0.0.1:2380', 'listen-client-urls': 'http://127.0.0.1:2379', 'advertise-client-urls': 'http://127.0.0.1:2379' };
  const cluster = (ic: string, over: Record<string, string> = {}) => () => resolveServeConfig({ ...base, ...over, 'initial-cluster': ic }, {});
  // Two names, one URL: Keyward derives member IDs from peer URLs, so they would collapse into one.
  assert.throws(cluster('m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2380'), /members "m1" and "m2" share the peer URL http:\/\/127\.0\.0\.1:2380/);
  assert.throws(cluster('m1=http://127.0.0.1:2380,m2=http://localhost:2381,m3=http://LOCALHOST:2381'), /members "m2" and "m3" share/);
  // Another member at this member's own peer listener (advertising a different URL itself) ...
  assert.throws(cluster('m1=http://127.0.0.1:2390,m2=http://127.0.0.1:2380', { 'initial-advertise-peer-urls': 'http://127.0.0.1:2390' }), /member "m2"'s peer URL http:\/\/127\.0\.0\.1:2380 is this member's own listener http:\/\/127\.0\.0\.1:2380/);
  // ... at its client listener, through another loopback name, or behind a wildcard listener.
  assert.throws(cluster('m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2379'), /member "m2"'s peer URL http:\/\/127\.0\.0\.1:2379 is this member's own listener/);
  assert.throws(cluster('m1=http://127.0.0.1:2380,m2=http://localhost:2379'), /self-referencing configuration/);
  assert.throws(cluster('m1=http://127.0.0.1:2380,m2=http://127.0.0.1:2400', { 'listen-peer-urls': 'http://127.0.0.1:2380,http://0.0.0.0:2400' }), /self-referencing configuration/);
  // Not self: other ports, and the member's own entry.
  const ok = resolveServeConfig({ ...base, 'initial-cluster': 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:2381,m3=http://127.0.0.1:2382' }, {});
  assert.equal(ok.initialCluster, 'm1=http://127.0.0.1:2380,m2=http://127.0.0.1:2381,m3=http://127.0.0.1:2382');
});

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
  assert.deepEqual(c.listenClientUrls, ['http://127.0.0.1:2379']);
  assert.equal(c.maxRequestBytes, 1572864);
  assert.equal(c.maxTxnOps, 128);
  assert.equal(resolveServeConfig({ name: 'm1' }, {}).dataDir, 'm1.keyward');
});

test('flags beat environment variables, which beat the config file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyward-cfg-'));
  try {
    const file = join(dir, 'keyward.yaml');
    writeFileSync(file, 'name: from-file\nmax-txn-ops: 64\nlog-level: warn\nlisten-client-urls:\n  - http://127.0.0.1:1\n  - http://127.0.0.1:2\n');
    const c = resolveServeConfig({ name: 'from-flag' }, { KEYWARD_MAX_TXN_OPS: '32' }, file);
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

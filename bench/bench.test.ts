// Unit tests of the benchmark's own parsing and statistics (the parts whose bugs would
// silently skew numbers). Not part of `npm test` (which runs test/); run with
//   node --import tsx --test bench/bench.test.ts

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions, splitCommand } from './options.js';
import { parseResponse, ProtocolError } from './raw-client.js';
import { withInsecure } from './keyward-flags.js';
import { compare, comparisonPairs, goalsFor, memoryTables, securityCostGoals, securityTable, tenantComparisons, tenantsTable } from './report.js';
import type { CellResult, TargetResult } from './report.js';
import { LatencySamples } from './samples.js';
import { prefixEnd } from './security.js';
import { rawRequest, requestBody, valueBytes } from './workload.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('a Content-Length response is complete only when its whole body has arrived', () => {
  const full = b('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"a":"bcd"}');
  for (let cut = 0; cut < full.length; cut++) assert.equal(parseResponse(full.subarray(0, cut)), null, `cut at ${cut}`);
  const r = parseResponse(full);
  assert.ok(r !== null);
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), '{"a":"bcd"}');
  assert.equal(r.consumed, full.length);
  assert.equal(r.close, false);
});

test('header names are matched case-insensitively and Connection: close is reported', () => {
  const r = parseResponse(b('HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\nCONNECTION: close\r\n\r\nno'));
  assert.ok(r !== null);
  assert.equal(r.status, 404);
  assert.equal(r.body.toString(), 'no');
  assert.equal(r.close, true);
});

test('a chunked response (etcd errors) is reassembled, with or without trailers', () => {
  const plain = b('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n');
  const r1 = parseResponse(plain);
  assert.ok(r1 !== null);
  assert.equal(r1.status, 400);
  assert.equal(r1.body.toString(), 'hello world');
  assert.equal(r1.consumed, plain.length);
  for (let cut = 0; cut < plain.length; cut++) assert.equal(parseResponse(plain.subarray(0, cut)), null, `cut at ${cut}`);

  const trailers = b('HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nGrpc-Trailer-Content-Type: application/grpc\r\n\r\n');
  const r2 = parseResponse(trailers);
  assert.ok(r2 !== null);
  assert.equal(r2.body.toString(), '{}');
  assert.equal(r2.consumed, trailers.length);
  for (let cut = 0; cut < trailers.length; cut++) assert.equal(parseResponse(trailers.subarray(0, cut)), null, `cut at ${cut}`);
});

test('malformed responses are protocol errors', () => {
  assert.throws(() => parseResponse(b('HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n')), ProtocolError);
  assert.throws(() => parseResponse(b('HTTP/1.1 200 OK\r\n\r\n')), ProtocolError);
  assert.throws(() => parseResponse(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')), ProtocolError);
});

test('requests carry base64 keys and values and an exact Content-Length', () => {
  const body = requestBody('put', 7, 256);
  const parsed = JSON.parse(body) as { key: string; value: string };
  assert.equal(Buffer.from(parsed.key, 'base64').toString(), 'bench/key-7');
  assert.deepEqual(Buffer.from(parsed.value, 'base64'), valueBytes(7, 256));
  assert.equal(valueBytes(7, 256).length, 256);
  assert.notDeepEqual(valueBytes(7, 256), valueBytes(8, 256));
  assert.deepEqual(JSON.parse(requestBody('range', 7, 256)), { key: parsed.key });
  assert.deepEqual(JSON.parse(requestBody('range-s', 7, 256)), { key: parsed.key, serializable: true });
  const req = rawRequest('/v3/kv/put', '127.0.0.1:2379', body).toString('latin1');
  const [head, sent] = req.split('\r\n\r\n') as [string, string];
  assert.match(head, /^POST \/v3\/kv\/put HTTP\/1\.1\r\nHost: 127\.0\.0\.1:2379\r\n/);
  assert.ok(head.includes(`\r\nContent-Length: ${Buffer.byteLength(body)}`));
  assert.equal(sent, body);
});

test('percentiles are nearest-rank over every sample, across chunk boundaries', () => {
  const s = new LatencySamples();
  const n = 200_000; // more than one 65536-sample chunk
  for (let i = n; i >= 1; i--) s.record(i / 1000);
  const sum = s.summary();
  assert.equal(s.count, n);
  assert.equal(sum.p50, 100);
  assert.equal(sum.p99, 198);
  assert.equal(sum.p999, 199.8);
  assert.equal(sum.max, 200);
  assert.ok(Math.abs(sum.mean - 100.0005) < 1e-9);
  assert.ok(Number.isNaN(new LatencySamples().summary().p50));
});

test('commands split like a shell would for simple quoting', () => {
  assert.deepEqual(splitCommand(`node  a.js --x 'a b' "c \\" d" e\\ f ''`), ['node', 'a.js', '--x', 'a b', 'c " d', 'e f', '']);
});

test('the comparison is Keyward over etcd and the goal applies only at 16 and 64 connections', () => {
  const cell = (connections: number, throughput: number, p99: number): CellResult => ({
    op: 'put',
    connections,
    client: 'raw',
    windowS: 5,
    requests: throughput * 5,
    errors: 0,
    firstError: null,
    throughput,
    latencyMs: { mean: 1, p50: 1, p90: 1, p99, p999: p99, max: p99 },
    genCpuPct: 10,
    genElu: 0.1,
    genCpuUsPerReq: 10,
    serverCpuPct: null,
    idleTargetsCpuPct: null,
  });
  const target = (label: string, cells: CellResult[]): TargetResult => ({
    label,
    kind: label === 'etcd' ? 'etcd' : 'keyward',
    url: null,
    command: null,
    version: null,
    preload: null,
    cells,
    error: null,
  });
  const k = target('keyward', [cell(1, 50, 1), cell(16, 200, 2), cell(64, 300, 5)]);
  const e = target('etcd', [cell(1, 100, 1), cell(16, 100, 4), cell(64, 300, 4)]);
  const c = compare(k, e);
  assert.deepEqual(
    c.map((x) => [x.connections, x.throughputRatio, x.p99Ratio, x.meetsGoal]),
    [
      [1, 0.5, 1, null],
      [16, 2, 0.5, true],
      [64, 1, 1.25, false],
    ],
  );
});

test('three-member goals: put at 64 >= 1.5x with p99 no worse, linearizable range >= 1.5x, none for range-s', () => {
  const goals = goalsFor(3, ['put', 'range', 'range-s'], [1, 16, 64]);
  assert.deepEqual(
    goals.map((g) => [g.op, g.connections, g.minThroughputRatio, g.maxP99Ratio]),
    [
      ['put', 64, 1.5, 1],
      ['range', 16, 1.5, null],
      ['range', 64, 1.5, null],
    ],
  );
  const cell = (op: 'put' | 'range', connections: number, throughput: number, p99: number): CellResult => ({
    op,
    connections,
    client: 'raw',
    windowS: 1,
    requests: throughput,
    errors: 0,
    firstError: null,
    throughput,
    latencyMs: { mean: 1, p50: 1, p90: 1, p99, p999: p99, max: p99 },
    genCpuPct: 10,
    genElu: 0.1,
    genCpuUsPerReq: 10,
    serverCpuPct: null,
    idleTargetsCpuPct: null,
  });
  const t = (label: string, cells: CellResult[]): TargetResult => ({
    label,
    kind: label === 'etcd' ? 'etcd' : 'keyward',
    url: null,
    command: null,
    version: null,
    preload: null,
    cells,
    error: null,
  });
  const k = t('keyward', [cell('put', 16, 100, 9), cell('put', 64, 150, 4), cell('range', 64, 140, 99)]);
  const e = t('etcd', [cell('put', 16, 100, 1), cell('put', 64, 100, 4), cell('range', 64, 100, 1)]);
  assert.deepEqual(
    compare(k, e, goals).map((c) => [c.op, c.connections, c.meetsGoal]),
    [
      ['put', 16, null],
      ['put', 64, true],
      ['range', 64, false],
    ],
  );
});

test('--members 3 defaults to put,range,range-s and the cluster command; --memory to 100,000 keys', () => {
  const o = parseOptions(['--members', '3', '--target', 'keyward'], '/repo');
  assert.ok(o !== null);
  assert.deepEqual(o.ops, ['put', 'range', 'range-s']);
  assert.ok(o.keywardCmd.includes('{initial_cluster}'));
  assert.equal(o.keys, 10_000);
  const one = parseOptions(['--target', 'keyward'], '/repo');
  assert.ok(one !== null);
  assert.deepEqual(one.ops, ['put', 'range']);
  assert.equal(one.members, 1);
  assert.ok(!one.keywardCmd.includes('{initial_cluster}'));
  const mem = parseOptions(['--memory', '--members', '3', '--target', 'keyward'], '/repo');
  assert.equal(mem?.keys, 100_000);
});

test('memory ratio compares the largest members, after the load and after idling', () => {
  const r = (label: string, kind: 'keyward' | 'etcd', rss: number[], idle: number[]) => ({
    label, kind, members: rss.length, keys: 10, valueSize: 256, loadMs: 1, rssKiB: rss, rssIdleKiB: idle, error: null,
  });
  const tables = memoryTables([r('keyward', 'keyward', [100, 90, 80], [60, 70, 50]), r('etcd', 'etcd', [100, 120, 50], [80, 50, 40])]);
  assert.equal(tables.length, 2);
  assert.deepEqual(tables[1]!.rows, [['keyward', '0.83x', '1.00x', 'met', '0.88x', 'met']]);
  const late = memoryTables([r('keyward', 'keyward', [100], []), r('etcd', 'etcd', [90], [])]);
  assert.deepEqual(late[1]!.rows, [['keyward', '1.11x', '1.11x', 'MISSED', '-', '-']]);
});

test('--secure measures every started target plain and secure, plain ones first; --security secure drops plain', () => {
  const o = parseOptions(['--secure', '--target', 'both'], '/repo');
  assert.ok(o !== null);
  assert.deepEqual(o.security, ['plain', 'secure']);
  assert.deepEqual(o.targets.map((t) => [t.label, t.kind, t.secure]), [
    ['keyward', 'keyward', false],
    ['etcd', 'etcd', false],
    ['keyward-secure', 'keyward', true],
    ['etcd-secure', 'etcd', true],
  ]);
  const only = parseOptions(['--security', 'secure', '--target', 'keyward'], '/repo');
  assert.deepEqual(only?.targets.map((t) => t.label), ['keyward-secure']);
  assert.deepEqual(parseOptions(['--target', 'keyward'], '/repo')?.targets.map((t) => t.label), ['keyward', 'keyward-secure'], 'both settings by default');
  assert.deepEqual(parseOptions(['--security', 'plain', '--target', 'keyward'], '/repo')?.targets.map((t) => t.label), ['keyward']);
  assert.throws(() => parseOptions(['--secure', '--security', 'plain'], '/repo'), /exclude each other/);
  assert.throws(() => parseOptions(['--security', 'tls'], '/repo'), /unknown security setting "tls"/);
  assert.throws(() => parseOptions(['--security', 'secure', '--target', 'url:http://127.0.0.1:1'], '/repo'), /no plain setting/);
});

test('a plaintext keyward command gets --insecure only when it has an http:// URL and lacks the flag', () => {
  const https = ['node', 'main.js', 'serve', '--listen-client-urls', 'https://127.0.0.1:1'];
  assert.equal(withInsecure(https, '/'), https);
  const already = ['node', 'main.js', 'serve', '--listen-client-urls', 'http://127.0.0.1:1', '--insecure'];
  assert.equal(withInsecure(already, '/'), already);
  const noServe = ['etcd', '--listen-client-urls', 'http://127.0.0.1:1'];
  assert.equal(withInsecure(noServe, '/'), noServe);
});

test('security comparisons: each Keyward against the etcd of its setting, secure against plain with the 0.75x goal', () => {
  const cell = (op: 'put' | 'range', connections: number, throughput: number): CellResult => ({
    op, connections, client: 'raw', windowS: 1, requests: throughput, errors: 0, firstError: null, throughput,
    latencyMs: { mean: 1, p50: 1, p90: 1, p99: 2, p999: 2, max: 2 },
    genCpuPct: 10, genElu: 0.1, genCpuUsPerReq: 10, serverCpuPct: null, idleTargetsCpuPct: null,
  });
  const t = (label: string, put: number): TargetResult => ({
    label, kind: label.startsWith('etcd') ? 'etcd' : 'keyward', url: null, command: null, version: null, preload: null,
    cells: [cell('put', 16, put), cell('put', 64, put)], error: null,
  });
  const targets = [t('keyward', 1000), t('etcd', 800), t('keyward-secure', 700), t('etcd-secure', 400)];
  const goals = goalsFor(1, ['put'], [16, 64]);
  const cost = securityCostGoals(['put'], [16, 64]);
  const pairs = comparisonPairs(targets, goals, cost);
  assert.deepEqual(pairs.map((p) => `${p.subject.label}/${p.baseline.label}`), ['keyward/etcd', 'keyward-secure/etcd-secure', 'keyward-secure/keyward', 'etcd-secure/etcd']);
  const costCmp = compare(pairs[2]!.subject, pairs[2]!.baseline, pairs[2]!.goals);
  assert.deepEqual(costCmp.map((c) => [c.throughputRatio, c.meetsGoal]), [[0.7, false], [0.7, false]]);
  const table = securityTable(targets, goals, cost);
  assert.ok(table !== null);
  // op, conns, kw, kw lat, kw-sec, kw-sec lat, sec/plain, goal, etcd, etcd-sec, etcd-sec lat, etcd sec/plain, kw-sec/etcd-sec, goal
  assert.deepEqual(table.rows[0], ['put', '16', '1,000', '1.00/2.00', '700', '1.00/2.00', '0.70x', 'MISSED', '800', '400', '1.00/2.00', '0.50x', '1.75x', 'met']);
  assert.equal(securityTable([t('keyward', 1), t('etcd', 1)], goals, cost), null);
});

test('an Authorization header goes into the prebuilt request; a header break in it is refused', () => {
  const req = rawRequest('/v3/kv/put', 'h:1', '{}', 'tok.en').toString('latin1');
  assert.match(req, /\r\nAuthorization: tok\.en\r\n/);
  assert.throws(() => rawRequest('/v3/kv/put', 'h:1', '{}', 'a\r\nX-Evil: 1'), /one header line/);
});

test('prefix ranges end at the prefix with its last byte plus one', () => {
  assert.equal(prefixEnd('bench/'), 'bench0');
});

test('--tenants measures the secure Keyward only unless asked for more; counts are positive integers', () => {
  const o = parseOptions(['--tenants', '10,1,10'], '/repo');
  assert.ok(o !== null);
  assert.deepEqual(o.tenants, [1, 10]);
  assert.deepEqual(o.targets.map((t) => t.label), ['keyward-secure']);
  assert.deepEqual(parseOptions(['--tenants', '2', '--secure', '--target', 'keyward'], '/repo')?.targets.map((t) => t.label), ['keyward', 'keyward-secure']);
  assert.deepEqual(parseOptions([], '/repo')?.tenants, []);
  assert.throws(() => parseOptions(['--tenants', '0'], '/repo'), /--tenants must be a positive integer/);
  assert.throws(() => parseOptions(['--tenants', '2', '--security', 'plain'], '/repo'), /needs the secure Keyward target/);
  assert.throws(() => parseOptions(['--tenants', '2', '--target', 'etcd'], '/repo'), /needs the secure Keyward target/);
  assert.throws(() => parseOptions(['--tenants', '2', '--memory'], '/repo'), /exclude each other/);
});

test('tenant cost: each keyward-tN against keyward-secure with the 0.90x goal at 16 and 64; never against etcd', () => {
  const cell = (connections: number, throughput: number): CellResult => ({
    op: 'put', connections, client: 'raw', windowS: 1, requests: throughput, errors: 0, firstError: null, throughput,
    latencyMs: { mean: 1, p50: 1, p90: 1, p99: 2, p999: 2, max: 2 },
    genCpuPct: 10, genElu: 0.1, genCpuUsPerReq: 10, serverCpuPct: null, idleTargetsCpuPct: null,
  });
  const t = (label: string, rates: [number, number, number], tenants?: number): TargetResult => ({
    label, kind: label.startsWith('etcd') ? 'etcd' : 'keyward', url: null, command: null, version: null, preload: null,
    cells: [cell(1, rates[0]), cell(16, rates[1]), cell(64, rates[2])], error: null, ...(tenants === undefined ? {} : { tenants }),
  });
  const targets = [t('keyward-secure', [100, 1000, 2000]), t('etcd-secure', [1, 1, 1]), t('keyward-t1', [50, 950, 1900], 1), t('keyward-t10', [50, 890, 1800], 10)];
  const pairs = comparisonPairs(targets, goalsFor(1, ['put'], [1, 16, 64]), securityCostGoals(['put'], [1, 16, 64]));
  assert.deepEqual(pairs.map((p) => `${p.subject.label}/${p.baseline.label}`), ['keyward-secure/etcd-secure']);
  const cmp = tenantComparisons(targets);
  assert.deepEqual(cmp.map((c) => [c.subject, c.connections, c.throughputRatio, c.meetsGoal]), [
    ['keyward-t1', 1, 0.5, null],
    ['keyward-t1', 16, 0.95, true],
    ['keyward-t1', 64, 0.95, true],
    ['keyward-t10', 1, 0.5, null],
    ['keyward-t10', 16, 0.89, false],
    ['keyward-t10', 64, 0.9, true],
  ]);
  const table = tenantsTable(targets, 1);
  assert.ok(table !== null);
  assert.deepEqual(table.header, ['op', 'conns', 'base req/s', 'base p50/p99', 't1 req/s', 't1 p50/p99', 't1/base', 'goal', 't10 req/s', 't10 p50/p99', 't10/base', 'goal', 't10/t1']);
  assert.deepEqual(table.rows[1], ['put', '16', '1,000', '1.00/2.00', '950', '1.00/2.00', '0.95x', 'met', '890', '1.00/2.00', '0.89x', 'MISSED', '0.94x']);
  assert.equal(tenantsTable([t('keyward-secure', [1, 1, 1])], 1), null);
});

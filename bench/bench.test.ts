// Unit tests of the benchmark's own parsing and statistics (the parts whose bugs would
// silently skew numbers). Not part of `npm test` (which runs test/); run with
//   node --import tsx --test bench/bench.test.ts

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOptions, splitCommand } from './options.js';
import { parseResponse, ProtocolError } from './raw-client.js';
import { compare, goalsFor, memoryTables } from './report.js';
import type { CellResult, TargetResult } from './report.js';
import { LatencySamples } from './samples.js';
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

test('memory ratio compares the largest members', () => {
  const r = (label: string, kind: 'keyward' | 'etcd', rss: number[]) => ({
    label, kind, members: rss.length, keys: 10, valueSize: 256, loadMs: 1, rssKiB: rss, error: null,
  });
  const tables = memoryTables([r('keyward', 'keyward', [100, 90, 80]), r('etcd', 'etcd', [100, 120, 50])]);
  assert.equal(tables.length, 2);
  assert.deepEqual(tables[1]!.rows, [['keyward', '0.83x', '1.00x', 'met']]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTxn, TxnSyntaxError } from '../../src/cli/txn-syntax.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

test("parses etcdctl's txn script: compares, success ops, failure ops", () => {
  const t = parseTxn('mod("key1") > "0"\nvalue("key 2") = "a \\"quoted\\" v"\n\nput key1 "over written"\nget key --prefix\n\ndel key1 key9\n');
  assert.equal(t.compare.length, 2);
  assert.equal(t.compare[0]!.target, 2);
  assert.equal(t.compare[0]!.result, 1);
  assert.deepEqual(t.compare[0]!.operand, { kind: 'modRevision', modRevision: 0 });
  assert.equal(text(t.compare[1]!.key), 'key 2');
  const v = t.compare[1]!.operand;
  assert.ok(v.kind === 'value' && text(v.value) === 'a "quoted" v');
  assert.equal(t.success.length, 2);
  const put = t.success[0]!;
  assert.ok(put.type === 'put' && text(put.put.value) === 'over written');
  const get = t.success[1]!;
  assert.ok(get.type === 'range' && text(get.range.rangeEnd) === 'kez');
  const del = t.failure[0]!;
  assert.ok(del.type === 'deleteRange' && text(del.deleteRange.rangeEnd) === 'key9');
});

test('malformed scripts are syntax errors', () => {
  for (const bad of ['mod(key1) > 0', 'version("k") = "x"', '\nfrob k', '\nput k', 'value("k") = "unterminated']) {
    assert.throws(() => parseTxn(bad), TxnSyntaxError, bad);
  }
});

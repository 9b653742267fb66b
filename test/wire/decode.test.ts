import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompareResult,
  CompareTarget,
  decodeCompactionRequest,
  decodeDeleteRangeRequest,
  decodePutRequest,
  decodeRangeRequest,
  decodeTxnRequest,
  MAX_JSON_DEPTH,
  parseJsonBody,
  SortOrder,
  SortTarget,
  type RangeRequest,
} from '../../src/wire/index.js';
import { assertDecodeError, bytesOf } from './helpers.js';

const range = (body: string): RangeRequest => decodeRangeRequest(parseJsonBody(body));
const put = (body: string) => decodePutRequest(parseJsonBody(body));
const txn = (body: string) => decodeTxnRequest(parseJsonBody(body));

const EMPTY_RANGE: RangeRequest = {
  key: new Uint8Array(0),
  rangeEnd: new Uint8Array(0),
  limit: 0,
  revision: 0,
  sortOrder: 0,
  sortTarget: 0,
  serializable: false,
  keysOnly: false,
  countOnly: false,
  minModRevision: 0,
  maxModRevision: 0,
  minCreateRevision: 0,
  maxCreateRevision: 0,
};

test('every field is present after decoding, holding its default when absent', () => {
  assert.deepEqual(range('{}'), EMPTY_RANGE);
  assert.deepEqual(range(''), EMPTY_RANGE);
  assert.deepEqual(range('null'), EMPTY_RANGE);
  assert.deepEqual(put('{}'), {
    key: new Uint8Array(0),
    value: new Uint8Array(0),
    lease: 0n,
    prevKv: false,
    ignoreValue: false,
    ignoreLease: false,
  });
  assert.deepEqual(decodeDeleteRangeRequest({}), { key: new Uint8Array(0), rangeEnd: new Uint8Array(0), prevKv: false });
  assert.deepEqual(decodeTxnRequest({}), { compare: [], success: [], failure: [] });
  assert.deepEqual(decodeCompactionRequest({}), { revision: 0, physical: false });
});

test('API.md examples decode', () => {
  assert.deepEqual(range('{"key":"YQ==","range_end":"Yw==","limit":2}'), {
    ...EMPTY_RANGE,
    key: bytesOf('a'),
    rangeEnd: bytesOf('c'),
    limit: 2,
  });
  assert.deepEqual(put('{"key":"Zm9v","value":"YmFyMg==","prev_kv":true}'), {
    key: bytesOf('foo'),
    value: bytesOf('bar2'),
    lease: 0n,
    prevKv: true,
    ignoreValue: false,
    ignoreLease: false,
  });
  assert.deepEqual(decodeCompactionRequest(parseJsonBody('{"revision":"5","physical":true}')), {
    revision: 5,
    physical: true,
  });
});

test('proto names and lowerCamelCase names are both accepted', () => {
  const proto = range(
    '{"key":"YQ==","range_end":"Yw==","limit":3,"revision":4,"sort_order":"DESCEND","sort_target":"MOD",' +
      '"serializable":true,"keys_only":true,"count_only":true,"min_mod_revision":5,"max_mod_revision":6,' +
      '"min_create_revision":7,"max_create_revision":8}',
  );
  const camel = range(
    '{"key":"YQ==","rangeEnd":"Yw==","limit":3,"revision":4,"sortOrder":"DESCEND","sortTarget":"MOD",' +
      '"serializable":true,"keysOnly":true,"countOnly":true,"minModRevision":5,"maxModRevision":6,' +
      '"minCreateRevision":7,"maxCreateRevision":8}',
  );
  assert.deepEqual(proto, {
    key: bytesOf('a'),
    rangeEnd: bytesOf('c'),
    limit: 3,
    revision: 4,
    sortOrder: SortOrder.DESCEND,
    sortTarget: SortTarget.MOD,
    serializable: true,
    keysOnly: true,
    countOnly: true,
    minModRevision: 5,
    maxModRevision: 6,
    minCreateRevision: 7,
    maxCreateRevision: 8,
  });
  assert.deepEqual(camel, proto);
  assert.deepEqual(put('{"prevKv":true,"ignoreValue":true,"ignoreLease":true}'), {
    key: new Uint8Array(0),
    value: new Uint8Array(0),
    lease: 0n,
    prevKv: true,
    ignoreValue: true,
    ignoreLease: true,
  });
});

test('when both spellings are given the proto name wins, in either order (jsonpb looks it up first)', () => {
  assert.deepEqual(range('{"range_end":"Yg==","rangeEnd":"Yw=="}').rangeEnd, bytesOf('b'));
  assert.deepEqual(range('{"rangeEnd":"Yw==","range_end":"Yg=="}').rangeEnd, bytesOf('b'));
  // A proto-name null still wins: the field is default, and the alias is not even decoded.
  assert.deepEqual(range('{"rangeEnd":"!!!","range_end":null}').rangeEnd, new Uint8Array(0));
  assert.deepEqual(range('{"range_end":null,"rangeEnd":"!!!"}').rangeEnd, new Uint8Array(0));
});

test('unknown fields are ignored, whatever they hold', () => {
  assert.deepEqual(
    range('{"key":"YQ==","ttl":5,"RangeEnd":"!!!","range-end":1,"foo":{"bar":[1,2,{"x":60.5}]},"big":1e400}'),
    { ...EMPTY_RANGE, key: bytesOf('a') },
  );
  assert.equal(put('{"key":"YQ==","perm_type":"WRITE","lease_id":"x"}').lease, 0n);
});

test('null means the default for every kind of field', () => {
  assert.deepEqual(
    range(
      '{"key":null,"range_end":null,"limit":null,"revision":null,"sort_order":null,"sort_target":null,' +
        '"serializable":null,"keys_only":null,"count_only":null,"min_mod_revision":null}',
    ),
    EMPTY_RANGE,
  );
  assert.deepEqual(txn('{"compare":null,"success":null,"failure":null}'), { compare: [], success: [], failure: [] });
  assert.deepEqual(txn('{"success":[{"request_put":null}]}').success, [{ type: 'none' }]);
  assert.deepEqual(txn('{"compare":[{"key":"YQ==","version":null}]}').compare[0]?.operand, { kind: 'none' });
});

test('int64 fields take a JSON number or a decimal string, negatives included', () => {
  assert.equal(range('{"limit":"2"}').limit, 2);
  assert.equal(range('{"limit":2}').limit, 2);
  assert.equal(range('{"limit":-1}').limit, -1);
  assert.equal(range('{"revision":"-5"}').revision, -5);
  assert.equal(range('{"revision":"0"}').revision, 0);
  assert.ok(Object.is(range('{"revision":"-0"}').revision, 0), '-0 is normalised');
  assert.equal(range('{"revision":123456789012345}').revision, 123456789012345);
  assert.equal(range(`{"revision":${Number.MAX_SAFE_INTEGER}}`).revision, Number.MAX_SAFE_INTEGER);
  assert.equal(range(`{"revision":"${Number.MAX_SAFE_INTEGER}"}`).revision, Number.MAX_SAFE_INTEGER);
  assert.equal(range(`{"revision":${Number.MIN_SAFE_INTEGER}}`).revision, Number.MIN_SAFE_INTEGER);
});

test('floats and exponents are refused for int64 fields, even when integral', () => {
  for (const lit of ['60.5', '6e1', '60.0', '1E2', '-0.5', '"60.5"', '"6e1"', '1.0e400']) {
    const text = lit.replace(/"/g, '');
    assertDecodeError(
      () => range(`{"limit":${lit}}`),
      'TYPE',
      `json: cannot unmarshal number ${text} into Go value of type int64`,
      'limit',
    );
  }
  assertDecodeError(() => put('{"lease":6e1}'), 'TYPE', 'json: cannot unmarshal number 6e1 into Go value of type int64');
});

test('revision, limit and version fields refuse values beyond 2^53-1 instead of rounding (API.md section 14)', () => {
  for (const lit of ['9007199254740992', '9007199254740993', '"9007199254740993"', '-9007199254740992', '9223372036854775807']) {
    assertDecodeError(() => range(`{"revision":${lit}}`), 'RANGE', /beyond 2\^53-1/, 'revision');
  }
  assertDecodeError(() => range('{"limit":12345678901234567}'), 'RANGE', undefined, 'limit');
  assertDecodeError(() => range('{"min_mod_revision":"9007199254740992"}'), 'RANGE', undefined, 'min_mod_revision');
  assertDecodeError(() => txn('{"compare":[{"version":9007199254740993}]}'), 'RANGE', undefined, 'compare[0].version');
  // Beyond int64 itself, the message is Go's.
  assertDecodeError(
    () => range('{"revision":"99999999999999999999"}'),
    'RANGE',
    'json: cannot unmarshal number 99999999999999999999 into Go value of type int64',
  );
});

test('a plain JSON.parse result with a rounded number is refused, not trusted', () => {
  assertDecodeError(() => decodeRangeRequest(JSON.parse('{"revision":9007199254740993}')), 'RANGE');
  assertDecodeError(() => decodePutRequest(JSON.parse('{"lease":7587869402553040003}')), 'RANGE');
  assertDecodeError(() => decodeRangeRequest({ limit: 1.5 }), 'TYPE');
});

test('lease IDs are exact signed 64-bit values, given as numbers or strings', () => {
  assert.equal(put('{"lease":7587869402553040003}').lease, 7587869402553040003n);
  assert.equal(put('{"lease":"7587869402553040003"}').lease, 7587869402553040003n);
  assert.equal(put('{"lease":-5}').lease, -5n);
  assert.equal(put('{"lease":1000}').lease, 1000n);
  assert.equal(put('{"lease":9223372036854775807}').lease, 9223372036854775807n);
  assert.equal(put('{"lease":-9223372036854775808}').lease, -9223372036854775808n);
  assert.equal(put('{"lease":"-9223372036854775808"}').lease, -9223372036854775808n);
  assert.equal(put('{"lease":9007199254740993}').lease, 9007199254740993n);
  for (const lit of ['9223372036854775808', '-9223372036854775809', '"18446744073709551615"', '99999999999999999999999']) {
    assertDecodeError(() => put(`{"lease":${lit}}`), 'RANGE', /cannot unmarshal number -?\d+ into Go value of type int64/, 'lease');
  }
  // Precision survives in nested txn ops and compares too.
  const t = txn('{"compare":[{"key":"YQ==","target":"LEASE","lease":7587869402553040003}],"success":[{"request_put":{"key":"YQ==","lease":7587869402553040005}}]}');
  assert.deepEqual(t.compare[0]?.operand, { kind: 'lease', lease: 7587869402553040003n });
  assert.deepEqual(t.success[0], {
    type: 'put',
    put: { key: bytesOf('a'), value: new Uint8Array(0), lease: 7587869402553040005n, prevKv: false, ignoreValue: false, ignoreLease: false },
  });
});

test('integer strings must be plain decimal', () => {
  for (const s of ['', 'abc', '+5', '05', ' 5', '5 ', '0x10', '1_000', '--1', 'NaN', 'Infinity']) {
    assertDecodeError(() => range(`{"limit":${JSON.stringify(s)}}`), 'TYPE', /json: invalid use of ,string struct tag/, 'limit');
  }
});

test('wrong JSON types are refused with Go type names', () => {
  const cases: [string, string, string][] = [
    ['{"key":5}', 'json: cannot unmarshal number into Go value of type []uint8', 'key'],
    ['{"key":true}', 'json: cannot unmarshal bool into Go value of type []uint8', 'key'],
    ['{"key":["YQ=="]}', 'json: cannot unmarshal array into Go value of type []uint8', 'key'],
    ['{"key":{}}', 'json: cannot unmarshal object into Go value of type []uint8', 'key'],
    ['{"key":12345678901234567890}', 'json: cannot unmarshal number into Go value of type []uint8', 'key'],
    ['{"limit":true}', 'json: cannot unmarshal bool into Go value of type int64', 'limit'],
    ['{"limit":[1]}', 'json: cannot unmarshal array into Go value of type int64', 'limit'],
    ['{"limit":{}}', 'json: cannot unmarshal object into Go value of type int64', 'limit'],
    ['{"serializable":"true"}', 'json: cannot unmarshal string into Go value of type bool', 'serializable'],
    ['{"serializable":1}', 'json: cannot unmarshal number into Go value of type bool', 'serializable'],
    ['{"keys_only":0}', 'json: cannot unmarshal number into Go value of type bool', 'keys_only'],
    ['{"sort_order":true}', 'json: cannot unmarshal bool into Go value of type etcdserverpb.RangeRequest_SortOrder', 'sort_order'],
    ['{"sort_order":1.5}', 'json: cannot unmarshal number 1.5 into Go value of type etcdserverpb.RangeRequest_SortOrder', 'sort_order'],
  ];
  for (const [body, message, field] of cases) assertDecodeError(() => range(body), 'TYPE', message, field);
  assertDecodeError(() => put('{"prev_kv":"true"}'), 'TYPE', 'json: cannot unmarshal string into Go value of type bool', 'prev_kv');
  assertDecodeError(() => txn('{"compare":{}}'), 'TYPE', 'json: cannot unmarshal object into Go value of type []json.RawMessage', 'compare');
  assertDecodeError(() => txn('{"success":"x"}'), 'TYPE', 'json: cannot unmarshal string into Go value of type []json.RawMessage', 'success');
  assertDecodeError(
    () => txn('{"success":[{"request_put":5}]}'),
    'TYPE',
    'json: cannot unmarshal number into Go value of type map[string]json.RawMessage',
    'success[0].request_put',
  );
  assertDecodeError(() => txn('{"success":[5]}'), 'TYPE', /map\[string\]json.RawMessage/, 'success[0]');
});

test('a body that is not an object is refused', () => {
  for (const [body, kind] of [
    ['[]', 'array'],
    ['[{"key":"YQ=="}]', 'array'],
    ['"YQ=="', 'string'],
    ['5', 'number'],
    ['12345678901234567890', 'number'],
    ['true', 'bool'],
  ] as const) {
    for (const decode of [decodeRangeRequest, decodePutRequest, decodeDeleteRangeRequest, decodeTxnRequest, decodeCompactionRequest]) {
      assertDecodeError(
        () => decode(parseJsonBody(body)),
        'TYPE',
        `json: cannot unmarshal ${kind} into Go value of type map[string]json.RawMessage`,
        '',
      );
    }
  }
});

test('bytes must be padded standard base64 (API.md section 2)', () => {
  for (const bad of ['YQ', '-_8=', '!!!']) {
    assertDecodeError(() => range(`{"key":"${bad}"}`), 'BASE64', 'illegal base64 data at input byte 0', 'key');
  }
  assertDecodeError(() => put('{"key":"YQ==","value":"YWJjYQ"}'), 'BASE64', 'illegal base64 data at input byte 4', 'value');
  assert.deepEqual(range('{"key":"AA==","range_end":"AA=="}').rangeEnd, new Uint8Array([0]));
  assert.deepEqual(put('{"key":"YQ==","value":""}').value, new Uint8Array(0));
});

test('enums accept names and numbers; unknown names and numbers are refused (API.md sections 2 and 12)', () => {
  assert.equal(range('{"sort_order":"DESCEND"}').sortOrder, SortOrder.DESCEND);
  assert.equal(range('{"sort_order":2}').sortOrder, SortOrder.DESCEND);
  assert.equal(range('{"sort_order":"NONE"}').sortOrder, SortOrder.NONE);
  assert.equal(range('{"sort_target":"VALUE"}').sortTarget, SortTarget.VALUE);
  assert.equal(range('{"sort_target":4}').sortTarget, SortTarget.VALUE);
  assertDecodeError(() => range('{"sort_order":"FOO"}'), 'ENUM', 'unknown value "FOO" for enum etcdserverpb.RangeRequest_SortOrder', 'sort_order');
  assertDecodeError(() => range('{"sort_order":"descend"}'), 'ENUM', 'unknown value "descend" for enum etcdserverpb.RangeRequest_SortOrder');
  assertDecodeError(() => range('{"sort_order":"2"}'), 'ENUM', 'unknown value "2" for enum etcdserverpb.RangeRequest_SortOrder');
  assertDecodeError(() => range('{"sort_target":"FOO"}'), 'ENUM', 'unknown value "FOO" for enum etcdserverpb.RangeRequest_SortTarget');
  // etcd 3.4 crashes on sort_target 9 and ignores sort_order 7: Keyward refuses both.
  assertDecodeError(() => range('{"sort_target":9}'), 'ENUM', 'unknown value 9 for enum etcdserverpb.RangeRequest_SortTarget', 'sort_target');
  assertDecodeError(() => range('{"sort_order":7}'), 'ENUM', 'unknown value 7 for enum etcdserverpb.RangeRequest_SortOrder', 'sort_order');
  assertDecodeError(() => range('{"sort_order":-1}'), 'ENUM', 'unknown value -1 for enum etcdserverpb.RangeRequest_SortOrder');
  assertDecodeError(() => range('{"sort_order":12345678901234567890}'), 'ENUM', /unknown value 12345678901234567890/);
  assertDecodeError(() => range('{"sort_order":"__proto__"}'), 'ENUM');
  assertDecodeError(() => range('{"sort_order":"toString"}'), 'ENUM');

  const cmp = (body: string) => txn(`{"compare":[${body}]}`).compare[0];
  assert.equal(cmp('{"target":"VALUE","result":"NOT_EQUAL"}')?.target, CompareTarget.VALUE);
  assert.equal(cmp('{"target":4,"result":3}')?.result, CompareResult.NOT_EQUAL);
  assertDecodeError(() => cmp('{"target":"FOO"}'), 'ENUM', 'unknown value "FOO" for enum etcdserverpb.Compare_CompareTarget', 'compare[0].target');
  assertDecodeError(() => cmp('{"result":"FOO"}'), 'ENUM', 'unknown value "FOO" for enum etcdserverpb.Compare_CompareResult', 'compare[0].result');
  assertDecodeError(() => cmp('{"target":5}'), 'ENUM', 'unknown value 5 for enum etcdserverpb.Compare_CompareTarget');
  assertDecodeError(() => cmp('{"result":4}'), 'ENUM', 'unknown value 4 for enum etcdserverpb.Compare_CompareResult');
});

test('the API.md txn example decodes, with the compare operand that was set', () => {
  const t = txn(
    '{"compare":[{"key":"Zm9v","target":"VALUE","result":"EQUAL","value":"YmFyMg=="}],' +
      '"success":[{"request_put":{"key":"Zm9v","value":"YmFyMw==","prev_kv":true}},{"request_range":{"key":"Zm9v"}}],' +
      '"failure":[{"request_delete_range":{"key":"Zm9v"}}]}',
  );
  assert.deepEqual(t, {
    compare: [
      { key: bytesOf('foo'), rangeEnd: new Uint8Array(0), target: CompareTarget.VALUE, result: CompareResult.EQUAL, operand: { kind: 'value', value: bytesOf('bar2') } },
    ],
    success: [
      { type: 'put', put: { key: bytesOf('foo'), value: bytesOf('bar3'), lease: 0n, prevKv: true, ignoreValue: false, ignoreLease: false } },
      { type: 'range', range: { ...EMPTY_RANGE, key: bytesOf('foo') } },
    ],
    failure: [{ type: 'deleteRange', deleteRange: { key: bytesOf('foo'), rangeEnd: new Uint8Array(0), prevKv: false } }],
  });
});

test('compare operands: each member, camelCase too, zero values count as set', () => {
  const operand = (fields: string) => txn(`{"compare":[{"key":"YQ==",${fields}}]}`).compare[0]?.operand;
  assert.deepEqual(operand('"version":"3"'), { kind: 'version', version: 3 });
  assert.deepEqual(operand('"version":0'), { kind: 'version', version: 0 });
  assert.deepEqual(operand('"create_revision":4'), { kind: 'createRevision', createRevision: 4 });
  assert.deepEqual(operand('"createRevision":4'), { kind: 'createRevision', createRevision: 4 });
  assert.deepEqual(operand('"mod_revision":"5"'), { kind: 'modRevision', modRevision: 5 });
  assert.deepEqual(operand('"modRevision":5'), { kind: 'modRevision', modRevision: 5 });
  assert.deepEqual(operand('"value":""'), { kind: 'value', value: new Uint8Array(0) });
  assert.deepEqual(operand('"lease":"0"'), { kind: 'lease', lease: 0n });
  assert.deepEqual(operand('"target":"MOD"'), { kind: 'none' });
  assert.deepEqual(txn('{"compare":[{"key":"YQ==","range_end":"Yg=="}]}').compare[0]?.rangeEnd, bytesOf('b'));
  assert.deepEqual(txn('{"compare":[{"key":"YQ==","rangeEnd":"Yg=="}]}').compare[0]?.rangeEnd, bytesOf('b'));
  assertDecodeError(() => operand('"version":1,"mod_revision":2'), 'ONEOF', /more than one of version, create_revision/, 'compare[0]');
  assertDecodeError(() => operand('"value":"YQ==","lease":0'), 'ONEOF');
});

test('request ops: each member by either name, {} is none, two members are refused', () => {
  const op = (body: string) => txn(`{"success":[${body}]}`).success[0];
  assert.equal(op('{"request_range":{}}')?.type, 'range');
  assert.equal(op('{"requestRange":{}}')?.type, 'range');
  assert.equal(op('{"request_put":{"key":"YQ=="}}')?.type, 'put');
  assert.equal(op('{"requestPut":{"key":"YQ=="}}')?.type, 'put');
  assert.equal(op('{"request_delete_range":{}}')?.type, 'deleteRange');
  assert.equal(op('{"requestDeleteRange":{}}')?.type, 'deleteRange');
  assert.equal(op('{"request_txn":{}}')?.type, 'txn');
  assert.equal(op('{"requestTxn":{}}')?.type, 'txn');
  assert.deepEqual(op('{}'), { type: 'none' });
  assert.deepEqual(op('{"unknown":{}}'), { type: 'none' });
  assert.deepEqual(op('null'), { type: 'none' });
  assertDecodeError(() => op('{"request_range":{},"request_put":{}}'), 'ONEOF', /more than one of request_range, request_put/, 'success[0]');
  assertDecodeError(() => op('{"requestRange":{},"request_txn":{}}'), 'ONEOF');
  // The same member under both names is one member (the proto name wins).
  assert.deepEqual(op('{"request_put":{"key":"YQ=="},"requestPut":{"key":"Yg=="}}'), {
    type: 'put',
    put: { key: bytesOf('a'), value: new Uint8Array(0), lease: 0n, prevKv: false, ignoreValue: false, ignoreLease: false },
  });
});

test('nested txns decode recursively and errors name the full path', () => {
  const t = txn('{"success":[{"request_txn":{"compare":[{"key":"YQ=="}],"failure":[{"request_txn":{"success":[{"request_put":{"key":"Yg=="}}]}}]}}]}');
  const inner = t.success[0];
  assert.equal(inner?.type, 'txn');
  if (inner?.type !== 'txn') return;
  const deeper = inner.txn.failure[0];
  assert.equal(deeper?.type, 'txn');
  if (deeper?.type !== 'txn') return;
  assert.deepEqual(deeper.txn.success[0]?.type, 'put');
  assertDecodeError(
    () => txn('{"success":[{"request_txn":{"failure":[{},{"request_put":{"key":"YQ"}}]}}]}'),
    'BASE64',
    'illegal base64 data at input byte 0',
    'success[0].request_txn.failure[1].request_put.key',
  );
});

function nestedTxn(levels: number): string {
  let body = '{}';
  for (let i = 0; i < levels; i++) body = `{"success":[{"request_txn":${body}}]}`;
  return body;
}

test('nesting depth is bounded for parsed and for hand-built input', () => {
  // Each txn level is three JSON levels: the TxnRequest, the list, the RequestOp.
  const ok = Math.floor((MAX_JSON_DEPTH - 1) / 3);
  assert.ok(txn(nestedTxn(ok)));
  assertDecodeError(() => txn(nestedTxn(ok + 1)), 'DEPTH');
  // Built without parseJsonBody (e.g. by a caller that used JSON.parse): no stack overflow either.
  let deep: unknown = {};
  for (let i = 0; i < 50_000; i++) deep = { success: [{ request_txn: deep }] };
  assertDecodeError(() => decodeTxnRequest(deep), 'DEPTH');
});

test('D2 __proto__ keys and a polluted Object.prototype do not reach decoded fields', () => {
  const p = put('{"__proto__":{"key":"YQ==","prev_kv":true},"value":"Yg=="}');
  assert.deepEqual(p.key, new Uint8Array(0));
  assert.equal(p.prevKv, false);
  assert.deepEqual(p.value, bytesOf('b'));
  assert.equal(({} as { key?: unknown }).key, undefined);
  const proto = Object.prototype as Record<string, unknown>;
  proto['key'] = 'YQ==';
  proto['prev_kv'] = true;
  try {
    const q = put('{"value":"Yg=="}');
    assert.deepEqual(q.key, new Uint8Array(0));
    assert.equal(q.prevKv, false);
  } finally {
    delete proto['key'];
    delete proto['prev_kv'];
  }
  assert.deepEqual(range('{"constructor":"YQ==","toString":1,"hasOwnProperty":"x"}'), EMPTY_RANGE);
});

test('D2 duplicate JSON keys: the last one wins, as in Go', () => {
  assert.deepEqual(put('{"key":"YQ==","key":"Yg=="}').key, bytesOf('b'));
  assert.equal(put('{"lease":1,"lease":1234567890123456789}').lease, 1234567890123456789n);
  assert.equal(put('{"lease":1234567890123456789,"lease":2}').lease, 2n);
  // An earlier bad value is overwritten before anything decodes it.
  assert.deepEqual(put('{"key":"!!!","key":"Yg=="}').key, bytesOf('b'));
});

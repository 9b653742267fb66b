import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CompareResult,
  CompareTarget,
  decodeCompactionResponse,
  decodeDeleteRangeResponse,
  decodeErrorBody,
  decodeKeyValue,
  decodePutResponse,
  decodeRangeResponse,
  decodeResponseHeader,
  decodeStatusResponse,
  decodeTxnResponse,
  DecodeError,
  encodeCompactionRequest,
  encodeCompactionResponse,
  encodeCompactionResponseText,
  encodeDeleteRangeRequest,
  encodeDeleteRangeResponse,
  encodeDeleteRangeResponseText,
  encodeKeyValue,
  encodeKeyValueText,
  encodePutRequest,
  encodePutResponse,
  encodePutResponseText,
  encodeRangeRequest,
  encodeRangeResponse,
  encodeRangeResponseText,
  encodeResponseHeader,
  encodeResponseHeaderText,
  encodeStatusResponse,
  encodeStatusResponseText,
  encodeTxnRequest,
  encodeTxnResponse,
  encodeTxnResponseText,
  errorBody,
  EtcdError,
  parseJsonBody,
  SortOrder,
  SortTarget,
  type KeyValue,
  type ResponseHeader,
} from '../../src/wire/index.js';
import { assertDecodeError, bytesOf } from './helpers.js';

const CLUSTER = 15118495548433857066n;
const MEMBER = 13668033151171901709n;
const header = (revision: number): ResponseHeader => ({ clusterId: CLUSTER, memberId: MEMBER, revision, raftTerm: 2 });
const H = (revision: number) =>
  `{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","revision":"${revision}","raft_term":"2"}`;
const sub = (revision: number): ResponseHeader => ({ clusterId: 0n, memberId: 0n, revision, raftTerm: 0 });
const NONE = new Uint8Array(0);
const kv = (key: string, create: number, mod: number, version: number, value: string, lease = 0n): KeyValue => ({
  key: bytesOf(key),
  createRevision: create,
  modRevision: mod,
  version,
  value: bytesOf(value),
  lease,
});

/**
 * One response as etcd 3.4 emits it: the object encoder, the text encoder and the client decoder
 * must all agree with the text.
 */
function golden<T>(
  value: T,
  text: string,
  encode: (v: T) => unknown,
  encodeText: (v: T) => string,
  decode: (json: unknown) => T,
): void {
  assert.equal(JSON.stringify(encode(value)), text);
  assert.equal(encodeText(value), text);
  assert.deepEqual(decode(parseJsonBody(text)), value);
}

test('range response: API.md section 5, byte for byte', () => {
  golden(
    {
      header: header(9),
      kvs: [kv('a', 4, 4, 1, 'v-a'), kv('a/1', 5, 5, 1, 'v-a/1')],
      more: true,
      count: 5,
    },
    `{"header":${H(9)},"kvs":[{"key":"YQ==","create_revision":"4","mod_revision":"4","version":"1","value":"di1h"},` +
      `{"key":"YS8x","create_revision":"5","mod_revision":"5","version":"1","value":"di1hLzE="}],"more":true,"count":"5"}`,
    encodeRangeResponse,
    encodeRangeResponseText,
    decodeRangeResponse,
  );
  // Empty range: no kvs, no count, no more.
  golden({ header: header(3), kvs: [], more: false, count: 0 }, `{"header":${H(3)}}`, encodeRangeResponse, encodeRangeResponseText, decodeRangeResponse);
});

test('put response: API.md section 5; prev_kv only when the key existed', () => {
  golden(
    { header: header(3), prevKv: kv('foo', 2, 2, 1, 'bar') },
    `{"header":${H(3)},"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}`,
    encodePutResponse,
    encodePutResponseText,
    decodePutResponse,
  );
  golden({ header: header(4), prevKv: undefined }, `{"header":${H(4)}}`, encodePutResponse, encodePutResponseText, decodePutResponse);
});

test('deleterange response: API.md section 5', () => {
  golden(
    { header: header(11), deleted: 1, prevKvs: [kv('a/1', 5, 5, 1, 'v-a/1')] },
    `{"header":${H(11)},"deleted":"1","prev_kvs":[{"key":"YS8x","create_revision":"5","mod_revision":"5","version":"1","value":"di1hLzE="}]}`,
    encodeDeleteRangeResponse,
    encodeDeleteRangeResponseText,
    decodeDeleteRangeResponse,
  );
  golden({ header: header(11), deleted: 0, prevKvs: [] }, `{"header":${H(11)}}`, encodeDeleteRangeResponse, encodeDeleteRangeResponseText, decodeDeleteRangeResponse);
});

test('txn response: API.md section 5; sub-responses carry only the revision in their header', () => {
  golden(
    {
      header: header(18),
      succeeded: true,
      responses: [
        { type: 'put', put: { header: sub(18), prevKv: kv('foo', 2, 17, 2, 'bar2') } },
        { type: 'range', range: { header: sub(18), kvs: [kv('foo', 2, 18, 3, 'bar3')], more: false, count: 1 } },
      ],
    },
    `{"header":${H(18)},"succeeded":true,"responses":[` +
      `{"response_put":{"header":{"revision":"18"},"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"17","version":"2","value":"YmFyMg=="}}},` +
      `{"response_range":{"header":{"revision":"18"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"18","version":"3","value":"YmFyMw=="}],"count":"1"}}]}`,
    encodeTxnResponse,
    encodeTxnResponseText,
    decodeTxnResponse,
  );
});

test('nested txn response: the inner header is present and empty', () => {
  golden(
    {
      header: header(21),
      succeeded: true,
      responses: [
        {
          type: 'txn',
          txn: { header: sub(0), succeeded: true, responses: [{ type: 'put', put: { header: sub(21), prevKv: undefined } }] },
        },
        { type: 'deleteRange', deleteRange: { header: sub(21), deleted: 0, prevKvs: [] } },
      ],
    },
    `{"header":${H(21)},"succeeded":true,"responses":[{"response_txn":{"header":{},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"21"}}}]}},` +
      `{"response_delete_range":{"header":{"revision":"21"}}}]}`,
    encodeTxnResponse,
    encodeTxnResponseText,
    decodeTxnResponse,
  );
  // A failed txn: no succeeded, no responses.
  golden({ header: header(5), succeeded: false, responses: [] }, `{"header":${H(5)}}`, encodeTxnResponse, encodeTxnResponseText, decodeTxnResponse);
});

test('compaction response is the header alone', () => {
  golden({ header: header(7) }, `{"header":${H(7)}}`, encodeCompactionResponse, encodeCompactionResponseText, decodeCompactionResponse);
});

test('status response: camelCase proto names in field-number order', () => {
  golden(
    {
      header: header(40),
      version: '3.4.23',
      dbSize: 20480,
      leader: MEMBER,
      raftIndex: 41,
      raftTerm: 2,
      raftAppliedIndex: 41,
      errors: ['memberID:13668033151171901709 alarm:NOSPACE '],
      dbSizeInUse: 16384,
      isLearner: true,
    },
    `{"header":${H(40)},"version":"3.4.23","dbSize":"20480","leader":"13668033151171901709","raftIndex":"41","raftTerm":"2",` +
      `"raftAppliedIndex":"41","errors":["memberID:13668033151171901709 alarm:NOSPACE "],"dbSizeInUse":"16384","isLearner":true}`,
    encodeStatusResponse,
    encodeStatusResponseText,
    decodeStatusResponse,
  );
  // Strings that need escaping are escaped the way JSON.stringify does.
  const odd = { header: header(1), version: 'a"b\\c\n\u0001é', dbSize: 0, leader: 0n, raftIndex: 0, raftTerm: 0, raftAppliedIndex: 0, errors: [], dbSizeInUse: 0, isLearner: false };
  golden(odd, `{"header":${H(1)},"version":${JSON.stringify(odd.version)}}`, encodeStatusResponse, encodeStatusResponseText, decodeStatusResponse);
});

test('response headers: zero fields omitted, 64-bit IDs exact', () => {
  // The watch "compacted" cancel carries a header without revision (API.md section 6).
  const h = { clusterId: CLUSTER, memberId: MEMBER, revision: 0, raftTerm: 2 };
  const text = '{"cluster_id":"15118495548433857066","member_id":"13668033151171901709","raft_term":"2"}';
  assert.equal(JSON.stringify(encodeResponseHeader(h)), text);
  assert.equal(encodeResponseHeaderText(h), text);
  assert.deepEqual(decodeResponseHeader(parseJsonBody(text)), h);
  assert.equal(encodeResponseHeaderText(sub(0)), '{}');
  const max = { clusterId: 2n ** 64n - 1n, memberId: 1n, revision: Number.MAX_SAFE_INTEGER, raftTerm: 1 };
  assert.deepEqual(decodeResponseHeader(parseJsonBody(encodeResponseHeaderText(max))), max);
});

test('key-values: empty value, no lease and zero counters are omitted; a lease is an exact string', () => {
  const del = { key: bytesOf('w/a'), createRevision: 0, modRevision: 35, version: 0, value: NONE, lease: 0n };
  assert.equal(encodeKeyValueText(del), '{"key":"dy9h","mod_revision":"35"}');
  assert.equal(JSON.stringify(encodeKeyValue(del)), '{"key":"dy9h","mod_revision":"35"}');
  const leased = kv('foo', 2, 2, 1, '', 7587869402553040003n);
  assert.equal(encodeKeyValueText(leased), '{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","lease":"7587869402553040003"}');
  assert.deepEqual(decodeKeyValue(parseJsonBody(encodeKeyValueText(leased))), leased);
  assert.equal(encodeKeyValueText(kv('', 0, 0, 0, '', -1n)), '{"lease":"-1"}');
});

test('request encoders (client side) write proto names, enum names and int64 strings, defaults omitted', () => {
  assert.deepEqual(
    encodeRangeRequest({
      key: bytesOf('a'),
      rangeEnd: bytesOf('c'),
      limit: 2,
      revision: 0,
      sortOrder: SortOrder.DESCEND,
      sortTarget: SortTarget.CREATE,
      serializable: true,
      keysOnly: false,
      countOnly: false,
      minModRevision: 0,
      maxModRevision: -1,
      minCreateRevision: 0,
      maxCreateRevision: 0,
    }),
    { key: 'YQ==', range_end: 'Yw==', limit: '2', sort_order: 'DESCEND', sort_target: 'CREATE', serializable: true, max_mod_revision: '-1' },
  );
  assert.deepEqual(
    encodePutRequest({ key: bytesOf('foo'), value: NONE, lease: 7587869402553040003n, prevKv: true, ignoreValue: false, ignoreLease: false }),
    { key: 'Zm9v', lease: '7587869402553040003', prev_kv: true },
  );
  assert.deepEqual(encodeDeleteRangeRequest({ key: bytesOf('a'), rangeEnd: new Uint8Array([0]), prevKv: false }), { key: 'YQ==', range_end: 'AA==' });
  assert.deepEqual(encodeCompactionRequest({ revision: 5, physical: true }), { revision: '5', physical: true });
  assert.deepEqual(encodeCompactionRequest({ revision: 0, physical: false }), {});
});

test('txn request encoding: compare operand written even when zero, in proto field order', () => {
  const json = encodeTxnRequest({
    compare: [
      { key: bytesOf('foo'), rangeEnd: bytesOf('g'), target: CompareTarget.MOD, result: CompareResult.GREATER, operand: { kind: 'modRevision', modRevision: 0 } },
      { key: bytesOf('foo'), rangeEnd: NONE, target: CompareTarget.VERSION, result: CompareResult.EQUAL, operand: { kind: 'none' } },
      { key: bytesOf('foo'), rangeEnd: NONE, target: CompareTarget.VALUE, result: CompareResult.EQUAL, operand: { kind: 'value', value: NONE } },
    ],
    success: [{ type: 'none' }, { type: 'range', range: encodeRangeDefaults() }],
    failure: [{ type: 'txn', txn: { compare: [], success: [], failure: [] } }],
  });
  assert.equal(
    JSON.stringify(json),
    '{"compare":[{"result":"GREATER","target":"MOD","key":"Zm9v","mod_revision":"0","range_end":"Zw=="},{"key":"Zm9v"},' +
      '{"target":"VALUE","key":"Zm9v","value":""}],"success":[{},{"request_range":{}}],"failure":[{"request_txn":{}}]}',
  );
});

function encodeRangeDefaults() {
  return {
    key: NONE,
    rangeEnd: NONE,
    limit: 0,
    revision: 0,
    sortOrder: SortOrder.NONE,
    sortTarget: SortTarget.KEY,
    serializable: false,
    keysOnly: false,
    countOnly: false,
    minModRevision: 0,
    maxModRevision: 0,
    minCreateRevision: 0,
    maxCreateRevision: 0,
  };
}

test('a response op must set exactly one member', () => {
  assertDecodeError(() => decodeTxnResponse(parseJsonBody('{"responses":[{}]}')), 'ONEOF', /sets none of/, 'responses[0]');
  assertDecodeError(
    () => decodeTxnResponse(parseJsonBody('{"responses":[{"response_put":{},"response_range":{}}]}')),
    'ONEOF',
    /more than one of/,
    'responses[0]',
  );
});

test('error envelope decoding (client side)', () => {
  const body = errorBody(EtcdError.KEY_NOT_PROVIDED.code, EtcdError.KEY_NOT_PROVIDED.message);
  assert.deepEqual(decodeErrorBody(parseJsonBody(JSON.stringify(body))), body);
  assert.deepEqual(decodeErrorBody(parseJsonBody('{"error":"etcdserver: permission denied","code":7}')), {
    error: 'etcdserver: permission denied',
    message: 'etcdserver: permission denied',
    code: 7,
  });
  assert.deepEqual(decodeErrorBody(parseJsonBody('{"message":"m","code":2,"details":[]}')), { error: 'm', message: 'm', code: 2 });
  for (const bad of ['[]', '{}', '{"error":"x"}', '{"code":"3","error":"x"}', '{"code":3}', '{"code":3.5,"message":"x"}', '{"__proto__":{"code":3,"message":"x"}}']) {
    assert.throws(() => decodeErrorBody(parseJsonBody(bad)), (e: unknown) => e instanceof DecodeError && e.code === 'SHAPE', bad);
  }
});

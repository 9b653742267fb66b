// Per-request codec cost on the KV hot path. Not a test (the runner only picks *.test.ts):
//   npx tsx test/wire/codec-bench.ts
// Prints the best mean of five rounds after a warm-up. Under tsx the numbers are higher (its
// module wrappers add a getter call per cross-module binding); build with tsc for real ones.

import * as w from '../../src/wire/index.js';

// The best of several rounds: on a shared machine the minimum is the stable number.
function bench(name: string, iterations: number, f: () => unknown): void {
  for (let i = 0; i < iterations / 5; i++) f();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations / 5; i++) f();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / (iterations / 5));
  }
  console.log(`${name.padEnd(56)} ${(best / 1000).toFixed(2).padStart(6)} µs`);
}

const b = w.bytesFromString;
const header: w.ResponseHeader = { clusterId: 15118495548433857066n, memberId: 13668033151171901709n, revision: 31, raftTerm: 2 };
const kv = (key: string): w.KeyValue => ({
  key: b(key),
  createRevision: 4,
  modRevision: 4,
  version: 1,
  value: b('some value of a config entry'),
  lease: 0n,
});

const putBody = '{"key":"Zm9vL2Jhci9iYXo=","value":"c29tZSB2YWx1ZSBvZiBhIGNvbmZpZyBlbnRyeQ=="}';
const putLeaseBody = '{"key":"Zm9vL2Jhci9iYXo=","value":"c29tZSB2YWx1ZSBvZiBhIGNvbmZpZyBlbnRyeQ==","lease":7587869402553040003}';
const rangeBody = '{"key":"YQ==","range_end":"Yw==","limit":2}';
const txnBody = JSON.stringify({
  compare: [{ key: 'Zm9v', target: 'VALUE', result: 'EQUAL', value: 'YmFyMg==' }],
  success: [{ request_put: { key: 'Zm9v', value: 'YmFyMw==', prev_kv: true } }, { request_range: { key: 'Zm9v' } }],
});
const putRes: w.PutResponse = { header, prevKv: undefined };
const range1: w.RangeResponse = { header, kvs: [kv('foo/bar/baz')], more: false, count: 1 };
const range10: w.RangeResponse = { header, kvs: Array.from({ length: 10 }, (_, i) => kv(`foo/bar/${i}`)), more: true, count: 100 };
const sub = { clusterId: 0n, memberId: 0n, revision: 31, raftTerm: 0 };
const txnRes: w.TxnResponse = {
  header,
  succeeded: true,
  responses: [
    { type: 'put', put: { header: sub, prevKv: kv('foo') } },
    { type: 'range', range: { header: sub, kvs: [kv('foo')], more: false, count: 1 } },
  ],
};

const N = 500_000;
bench('put request: parse + decode', N, () => w.decodePutRequest(w.parseJsonBody(putBody)));
bench('put request with a 19-digit numeric lease', N, () => w.decodePutRequest(w.parseJsonBody(putLeaseBody)));
bench('range request: parse + decode', N, () => w.decodeRangeRequest(w.parseJsonBody(rangeBody)));
bench('txn request (1 compare, 2 ops): parse + decode', N, () => w.decodeTxnRequest(w.parseJsonBody(txnBody)));
bench('put response: encodePutResponseText', N, () => w.encodePutResponseText(putRes));
bench('put response: JSON.stringify(encodePutResponse)', N, () => JSON.stringify(w.encodePutResponse(putRes)));
bench('range response, 1 kv: encodeRangeResponseText', N, () => w.encodeRangeResponseText(range1));
bench('range response, 1 kv: JSON.stringify(encodeRangeResponse)', N, () => JSON.stringify(w.encodeRangeResponse(range1)));
bench('range response, 10 kvs: encodeRangeResponseText', N / 5, () => w.encodeRangeResponseText(range10));
bench('range response, 10 kvs: JSON.stringify(encode…)', N / 5, () => JSON.stringify(w.encodeRangeResponse(range10)));
bench('txn response (put + range): encodeTxnResponseText', N, () => w.encodeTxnResponseText(txnRes));
bench('put round (decode request + encode response text)', N, () => {
  w.decodePutRequest(w.parseJsonBody(putBody));
  return w.encodePutResponseText(putRes);
});
bench('range round, 1 kv (decode + encode text)', N, () => {
  w.decodeRangeRequest(w.parseJsonBody(rangeBody));
  return w.encodeRangeResponseText(range1);
});

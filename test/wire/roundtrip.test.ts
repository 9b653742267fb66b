import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as wire from '../../src/wire/index.js';
import { parseJsonBody } from '../../src/wire/index.js';
import * as gen from './helpers.js';
import { Rng } from './helpers.js';

// decode(encode(x)) == x for randomized messages, both through plain objects and through the JSON
// text a peer would send; and the text writers always equal JSON.stringify of the object encoders.

const ROUNDS = 300;

function roundTrip<T>(
  name: string,
  seed: number,
  make: (rng: Rng) => T,
  encode: (v: T) => unknown,
  decode: (json: unknown) => T,
  encodeText?: (v: T) => string,
): void {
  test(`${name}: decode(encode(x)) == x`, () => {
    const rng = new Rng(seed);
    for (let i = 0; i < ROUNDS; i++) {
      const x = make(rng);
      const json = encode(x);
      const text = JSON.stringify(json);
      assert.deepEqual(decode(json), x, text);
      assert.deepEqual(decode(parseJsonBody(text)), x, text);
      if (encodeText) assert.equal(encodeText(x), text);
    }
  });
}

roundTrip('RangeRequest', 10, gen.randomRangeRequest, wire.encodeRangeRequest, wire.decodeRangeRequest);
roundTrip('PutRequest', 11, gen.randomPutRequest, wire.encodePutRequest, wire.decodePutRequest);
roundTrip('DeleteRangeRequest', 12, gen.randomDeleteRangeRequest, wire.encodeDeleteRangeRequest, wire.decodeDeleteRangeRequest);
roundTrip('TxnRequest', 13, (rng) => gen.randomTxnRequest(rng, 3), wire.encodeTxnRequest, wire.decodeTxnRequest);
roundTrip(
  'CompactionRequest',
  14,
  (rng) => ({ revision: gen.randomInt(rng, true), physical: rng.bool() }),
  wire.encodeCompactionRequest,
  wire.decodeCompactionRequest,
);
roundTrip('RangeResponse', 20, gen.randomRangeResponse, wire.encodeRangeResponse, wire.decodeRangeResponse, wire.encodeRangeResponseText);
roundTrip('PutResponse', 21, gen.randomPutResponse, wire.encodePutResponse, wire.decodePutResponse, wire.encodePutResponseText);
roundTrip(
  'DeleteRangeResponse',
  22,
  gen.randomDeleteRangeResponse,
  wire.encodeDeleteRangeResponse,
  wire.decodeDeleteRangeResponse,
  wire.encodeDeleteRangeResponseText,
);
roundTrip('TxnResponse', 23, (rng) => gen.randomTxnResponse(rng, 3), wire.encodeTxnResponse, wire.decodeTxnResponse, wire.encodeTxnResponseText);
roundTrip(
  'CompactionResponse',
  24,
  (rng) => ({ header: gen.randomHeader(rng) }),
  wire.encodeCompactionResponse,
  wire.decodeCompactionResponse,
  wire.encodeCompactionResponseText,
);
roundTrip('StatusResponse', 25, gen.randomStatusResponse, wire.encodeStatusResponse, wire.decodeStatusResponse, wire.encodeStatusResponseText);
roundTrip('KeyValue', 26, gen.randomKeyValue, wire.encodeKeyValue, wire.decodeKeyValue, wire.encodeKeyValueText);

test('lease IDs sent as JSON numbers keep full precision through the body parser', () => {
  const rng = new Rng(30);
  for (let i = 0; i < ROUNDS; i++) {
    const lease = gen.randomInt64Big(rng);
    assert.equal(wire.decodePutRequest(parseJsonBody(`{"key":"YQ==","lease":${lease}}`)).lease, lease);
  }
});

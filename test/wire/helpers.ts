// Shared helpers for the wire tests: a seeded PRNG (tests never use Math.random, so a failure can
// be replayed from its seed), random message generators, and an assertion for DecodeError.

import assert from 'node:assert/strict';
import {
  CompareResult,
  CompareTarget,
  DecodeError,
  SortOrder,
  SortTarget,
  type Bytes,
  type Compare,
  type DecodeErrorCode,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type KeyValue,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type RequestOp,
  type ResponseHeader,
  type ResponseOp,
  type StatusResponse,
  type TxnRequest,
  type TxnResponse,
} from '../../src/wire/index.js';

/** xorshift128+ on bigints kept in 64 bits: small, deterministic, good enough for test data. */
export class Rng {
  private s0: bigint;
  private s1: bigint;
  constructor(seed: number) {
    this.s0 = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n;
    this.s1 = (BigInt(seed) ^ 0xdeadbeefn) * 0xbf58476d1ce4e5b9n + 7n;
    for (let i = 0; i < 8; i++) this.next64();
  }
  next64(): bigint {
    const mask = (1n << 64n) - 1n;
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x = (x ^ (x << 23n)) & mask;
    this.s1 = x ^ y ^ (x >> 17n) ^ (y >> 26n);
    return (this.s1 + y) & mask;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Number(this.next64() % BigInt(n));
  }
  bool(): boolean {
    return this.int(2) === 1;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
}

export function bytesOf(text: string): Bytes {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

export function randomBytes(rng: Rng, maxLen = 40): Bytes {
  const len = rng.int(4) === 0 ? 0 : rng.int(maxLen + 1);
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = rng.int(256);
  return out;
}

/** A safe integer, biased towards 0, small values and the edges of the safe range. */
export function randomInt(rng: Rng, signed: boolean): number {
  const v = rng.pick([
    0,
    0,
    1,
    rng.int(1000),
    rng.int(2 ** 31),
    Number(rng.next64() & ((1n << 53n) - 1n)),
    Number.MAX_SAFE_INTEGER,
  ]);
  return signed && rng.bool() ? -v || 0 : v;
}

export function randomInt64Big(rng: Rng): bigint {
  const v = BigInt.asIntN(64, rng.next64());
  return rng.pick([0n, 0n, 1n, -5n, v, 2n ** 63n - 1n, -(2n ** 63n)]);
}

export function randomUint64Big(rng: Rng): bigint {
  return rng.pick([0n, 1n, rng.next64(), 2n ** 64n - 1n]);
}

export function randomHeader(rng: Rng): ResponseHeader {
  return {
    clusterId: randomUint64Big(rng),
    memberId: randomUint64Big(rng),
    revision: randomInt(rng, true),
    raftTerm: randomInt(rng, false),
  };
}

export function randomKeyValue(rng: Rng): KeyValue {
  return {
    key: randomBytes(rng),
    createRevision: randomInt(rng, true),
    modRevision: randomInt(rng, true),
    version: randomInt(rng, true),
    value: randomBytes(rng, 200),
    lease: randomInt64Big(rng),
  };
}

const enumValues = <T>(e: Record<string, T>): T[] => Object.values(e);

export function randomRangeRequest(rng: Rng): RangeRequest {
  return {
    key: randomBytes(rng),
    rangeEnd: randomBytes(rng),
    limit: randomInt(rng, true),
    revision: randomInt(rng, true),
    sortOrder: rng.pick(enumValues(SortOrder)),
    sortTarget: rng.pick(enumValues(SortTarget)),
    serializable: rng.bool(),
    keysOnly: rng.bool(),
    countOnly: rng.bool(),
    minModRevision: randomInt(rng, true),
    maxModRevision: randomInt(rng, true),
    minCreateRevision: randomInt(rng, true),
    maxCreateRevision: randomInt(rng, true),
  };
}

export function randomPutRequest(rng: Rng): PutRequest {
  return {
    key: randomBytes(rng),
    value: randomBytes(rng, 200),
    lease: randomInt64Big(rng),
    prevKv: rng.bool(),
    ignoreValue: rng.bool(),
    ignoreLease: rng.bool(),
  };
}

export function randomDeleteRangeRequest(rng: Rng): DeleteRangeRequest {
  return { key: randomBytes(rng), rangeEnd: randomBytes(rng), prevKv: rng.bool() };
}

export function randomCompare(rng: Rng): Compare {
  const operands: Compare['operand'][] = [
    { kind: 'none' },
    { kind: 'version', version: randomInt(rng, true) },
    { kind: 'createRevision', createRevision: randomInt(rng, true) },
    { kind: 'modRevision', modRevision: randomInt(rng, true) },
    { kind: 'value', value: randomBytes(rng) },
    { kind: 'lease', lease: randomInt64Big(rng) },
  ];
  return {
    key: randomBytes(rng),
    rangeEnd: randomBytes(rng),
    target: rng.pick(enumValues(CompareTarget)),
    result: rng.pick(enumValues(CompareResult)),
    operand: rng.pick(operands),
  };
}

export function randomRequestOp(rng: Rng, depth: number): RequestOp {
  switch (rng.int(depth > 0 ? 5 : 4)) {
    case 0:
      return { type: 'range', range: randomRangeRequest(rng) };
    case 1:
      return { type: 'put', put: randomPutRequest(rng) };
    case 2:
      return { type: 'deleteRange', deleteRange: randomDeleteRangeRequest(rng) };
    case 3:
      return { type: 'none' };
    default:
      return { type: 'txn', txn: randomTxnRequest(rng, depth - 1) };
  }
}

export function randomTxnRequest(rng: Rng, depth = 2): TxnRequest {
  const list = <T>(f: () => T): T[] => Array.from({ length: rng.int(4) }, f);
  return {
    compare: list(() => randomCompare(rng)),
    success: list(() => randomRequestOp(rng, depth)),
    failure: list(() => randomRequestOp(rng, depth)),
  };
}

export function randomRangeResponse(rng: Rng): RangeResponse {
  return {
    header: randomHeader(rng),
    kvs: Array.from({ length: rng.int(4) }, () => randomKeyValue(rng)),
    more: rng.bool(),
    count: randomInt(rng, true),
  };
}

export function randomPutResponse(rng: Rng): PutResponse {
  return { header: randomHeader(rng), prevKv: rng.bool() ? randomKeyValue(rng) : undefined };
}

export function randomDeleteRangeResponse(rng: Rng): DeleteRangeResponse {
  return {
    header: randomHeader(rng),
    deleted: randomInt(rng, true),
    prevKvs: Array.from({ length: rng.int(3) }, () => randomKeyValue(rng)),
  };
}

export function randomResponseOp(rng: Rng, depth: number): ResponseOp {
  switch (rng.int(depth > 0 ? 4 : 3)) {
    case 0:
      return { type: 'range', range: randomRangeResponse(rng) };
    case 1:
      return { type: 'put', put: randomPutResponse(rng) };
    case 2:
      return { type: 'deleteRange', deleteRange: randomDeleteRangeResponse(rng) };
    default:
      return { type: 'txn', txn: randomTxnResponse(rng, depth - 1) };
  }
}

export function randomTxnResponse(rng: Rng, depth = 2): TxnResponse {
  return {
    header: randomHeader(rng),
    succeeded: rng.bool(),
    responses: Array.from({ length: rng.int(4) }, () => randomResponseOp(rng, depth)),
  };
}

export function randomStatusResponse(rng: Rng): StatusResponse {
  return {
    header: randomHeader(rng),
    version: rng.pick(['', '3.4.23', 'keyward "0.1" \u00e9\n']),
    dbSize: randomInt(rng, true),
    leader: randomUint64Big(rng),
    raftIndex: randomInt(rng, false),
    raftTerm: randomInt(rng, false),
    raftAppliedIndex: randomInt(rng, false),
    errors: rng.bool() ? [] : ['memberID:13668033151171901709 alarm:NOSPACE ', 'x'],
    dbSizeInUse: randomInt(rng, true),
    isLearner: rng.bool(),
  };
}

/** Asserts that `fn` throws a DecodeError with this code (and message / field when given). */
export function assertDecodeError(
  fn: () => unknown,
  code: DecodeErrorCode,
  message?: string | RegExp,
  field?: string,
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
    assert.equal(err.code, code, `code of "${err.message}"`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message !== undefined) assert.match(err.message, message);
    if (field !== undefined) assert.equal(err.field, field);
    return true;
  });
}

// Field-descriptor tables for proto3 JSON, as grpc-gateway v1 (golang/protobuf jsonpb) reads and
// writes it. A message is declared once as a table `prop -> [proto name, codec]` in proto field
// number order; decoding and encoding both walk that table.
//
// Decoding (untrusted input, see API.md section 2):
// - a field is found under its proto name or its lowerCamelCase name; when both are present the
//   proto name wins, as jsonpb looks it up first;
// - unknown fields are ignored, `null` means the default, only own properties are read;
// - scalar rules live in the codecs below; every failure is a DecodeError naming the field.
// Encoding: proto names, default values omitted, int64 as decimal strings, enums by name.

import { base64Decode, base64Encode, EMPTY_BYTES } from './bytes.js';
import { DecodeError } from './decode-error.js';
import { isJsonObject, jsonKind, JsonNumber, MAX_JSON_DEPTH, type JsonObject, type JsonValue } from './json.js';
import type { Bytes } from './messages.js';

export interface Codec<V> {
  /** A fresh default value (fresh because lists are mutable). */
  zero(): V;
  /** True when the value is the proto default and so is left out of the JSON. */
  isZero(value: V): boolean;
  /**
   * Reads a JSON value that is neither null nor undefined. `depth` is the nesting level the value
   * sits at, counted as parseJsonBody counts it (the body object is 1); containers check it so that
   * input built without parseJsonBody cannot recurse without bound either.
   */
  decode(json: unknown, depth: number): V;
  encode(value: V): JsonValue;
  /** The JSON text of `encode(value)`, built directly: the fast path for responses. */
  write(value: V): string;
}

function typeError(json: unknown, goType: string): DecodeError {
  return new DecodeError('TYPE', `json: cannot unmarshal ${jsonKind(json)} into Go value of type ${goType}`);
}

// ---------------------------------------------------------------------------------------------
// Scalars

export const bytes: Codec<Bytes> = {
  zero: () => EMPTY_BYTES,
  isZero: (v) => v.length === 0,
  decode(json) {
    if (typeof json !== 'string') throw typeError(json, '[]uint8');
    return base64Decode(json);
  },
  encode: base64Encode,
  // Base64 and decimal digits never need escaping, so most writers only add quotes.
  write: (v) => `"${base64Encode(v)}"`,
};

export const bool: Codec<boolean> = {
  zero: () => false,
  isZero: (v) => !v,
  decode(json) {
    if (typeof json !== 'boolean') throw typeError(json, 'bool');
    return json;
  },
  encode: (v) => v,
  write: (v) => (v ? 'true' : 'false'),
};

export const string: Codec<string> = {
  zero: () => '',
  isZero: (v) => v === '',
  decode(json) {
    if (typeof json !== 'string') throw typeError(json, 'string');
    return json;
  },
  encode: (v) => v,
  write: (v) => JSON.stringify(v),
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const INTEGER_TEXT = /^-?(?:0|[1-9]\d*)$/;
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type IntType = 'int64' | 'uint64';

/**
 * Reads an int64/uint64 field: a JSON number or a decimal string (jsonpb accepts both), exact.
 * Returns a JS number when the value is a safe integer, else a bigint; the codecs decide what they
 * allow. Floats and exponents are rejected even when integral (`60.0`, `6e1`), as Go does.
 */
function readInteger(json: unknown, goType: IntType): number | bigint {
  let text: string;
  if (typeof json === 'number') {
    // From parseJsonBody every number is a plain integer literal of at most 15 digits. Other
    // sources (a plain JSON.parse) may hand over anything, and then an unsafe value may already
    // be rounded, so it is refused rather than trusted.
    if (Number.isSafeInteger(json)) return json === 0 ? 0 : json;
    if (Number.isInteger(json)) {
      throw new DecodeError('RANGE', `json: number ${json} may have lost precision; send it as a string`);
    }
    throw new DecodeError('TYPE', `json: cannot unmarshal number ${json} into Go value of type ${goType}`);
  } else if (json instanceof JsonNumber) {
    text = json.text;
  } else if (typeof json === 'string') {
    text = json;
    if (!NUMBER_TEXT.test(text)) {
      throw new DecodeError('TYPE', `json: invalid use of ,string struct tag, trying to unmarshal ${JSON.stringify(text)} into ${goType}`);
    }
  } else {
    throw typeError(json, goType);
  }
  if (!INTEGER_TEXT.test(text)) {
    throw new DecodeError('TYPE', `json: cannot unmarshal number ${text} into Go value of type ${goType}`);
  }
  const digits = text.charCodeAt(0) === 45 /* - */ ? text.length - 1 : text.length;
  if (digits <= 15) {
    // Any 15-digit integer is exact as a double.
    const n = Number(text);
    return n === 0 ? 0 : n;
  }
  const big = BigInt(text);
  if (big < (goType === 'int64' ? INT64_MIN : 0n) || big > (goType === 'int64' ? INT64_MAX : UINT64_MAX)) {
    throw new DecodeError('RANGE', `json: cannot unmarshal number ${text} into Go value of type ${goType}`);
  }
  // A double converts a bigint exactly whenever the result is a safe integer.
  const asNumber = Number(big);
  return Number.isSafeInteger(asNumber) ? asNumber : big;
}

function uintCheck(n: number | bigint): void {
  if (n < 0) throw new DecodeError('RANGE', `json: cannot unmarshal number ${n} into Go value of type uint64`);
}

/**
 * An int64/uint64 held as a JS number (revisions, counts, versions, limits). Values beyond
 * 2^53-1 are refused rather than rounded (API.md section 14).
 */
function safeInteger(goType: IntType): Codec<number> {
  return {
    zero: () => 0,
    isZero: (v) => v === 0,
    decode(json) {
      const n = readInteger(json, goType);
      if (typeof n === 'bigint') {
        throw new DecodeError('RANGE', `keyward: ${goType} value ${n} is beyond 2^53-1, the largest this field takes`);
      }
      if (goType === 'uint64') uintCheck(n);
      return n;
    },
    encode: (v) => String(v),
    write: (v) => `"${v}"`,
  };
}

/** A full 64-bit value held as a bigint (lease, cluster and member IDs): exact over the whole range. */
function bigInteger(goType: IntType): Codec<bigint> {
  return {
    zero: () => 0n,
    isZero: (v) => v === 0n,
    decode(json) {
      const n = readInteger(json, goType);
      if (goType === 'uint64') uintCheck(n);
      return typeof n === 'bigint' ? n : BigInt(n);
    },
    encode: (v) => v.toString(),
    write: (v) => `"${v}"`,
  };
}

export const int64 = safeInteger('int64');
export const uint64 = safeInteger('uint64');
export const int64Big = bigInteger('int64');
export const uint64Big = bigInteger('uint64');

/**
 * A proto enum: read by name or number, written by name. `values` maps names to numbers as the
 * messages.ts constants do; `goName` is the Go type etcd names in its errors
 * (`etcdserverpb.RangeRequest_SortOrder`). Unlike etcd, numbers the enum does not define are refused:
 * etcd accepts them and then crashes or ignores them (API.md section 12).
 */
export function enumeration<E extends number>(goName: string, values: Readonly<Record<string, E>>): Codec<E> {
  const byName = new Map<string, E>(Object.entries(values));
  const names: string[] = [];
  for (const [name, n] of byName) names[n] = name;
  const nameOf = (v: E): string => {
    const name = names[v];
    if (name === undefined) throw new TypeError(`no name for value ${v} of enum ${goName}`);
    return name;
  };
  return {
    zero: () => 0 as E,
    isZero: (v) => v === 0,
    decode(json) {
      if (typeof json === 'string') {
        const n = byName.get(json);
        if (n === undefined) throw new DecodeError('ENUM', `unknown value ${JSON.stringify(json)} for enum ${goName}`);
        return n;
      }
      if (typeof json === 'number' || json instanceof JsonNumber) {
        const text = typeof json === 'number' ? String(json) : json.text;
        if (!INTEGER_TEXT.test(text)) {
          throw new DecodeError('TYPE', `json: cannot unmarshal number ${text} into Go value of type ${goName}`);
        }
        const n = Number(text);
        if (names[n] === undefined) throw new DecodeError('ENUM', `unknown value ${text} for enum ${goName}`);
        return (n === 0 ? 0 : n) as E;
      }
      throw typeError(json, goName);
    },
    encode: nameOf,
    write: (v) => `"${nameOf(v)}"`,
  };
}

// ---------------------------------------------------------------------------------------------
// Containers

function checkDepth(depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new DecodeError('DEPTH', `json: exceeded max depth of ${MAX_JSON_DEPTH}`);
}

export function repeated<V>(item: Codec<V>): Codec<V[]> {
  return {
    zero: () => [],
    isZero: (v) => v.length === 0,
    decode(json, depth) {
      if (!Array.isArray(json)) throw typeError(json, '[]json.RawMessage');
      checkDepth(depth);
      const out: V[] = new Array<V>(json.length);
      for (let i = 0; i < json.length; i++) {
        const x: unknown = json[i];
        try {
          // jsonpb leaves a null element at its zero value.
          out[i] = x === null ? item.zero() : item.decode(x, depth + 1);
        } catch (err) {
          if (err instanceof DecodeError) err.within(`[${i}]`);
          throw err;
        }
      }
      return out;
    },
    encode: (v) => v.map((x) => item.encode(x)),
    write(v) {
      let s = '[';
      for (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ',') + item.write(v[i] as V);
      return s + ']';
    },
  };
}

/**
 * A sub-message that may be absent (`undefined`). A present value is always written, even when all
 * its fields are defaults, as jsonpb does for a set pointer.
 */
export function optional<V>(inner: Codec<V>): Codec<V | undefined> {
  return {
    zero: () => undefined,
    isZero: (v) => v === undefined,
    decode: (json, depth) => inner.decode(json, depth),
    encode: (v) => inner.encode(v as V),
    write: (v) => inner.write(v as V),
  };
}

/** Defers to a codec declared later, for recursive messages (a txn inside a txn). */
export function lazy<V>(get: () => Codec<V>): Codec<V> {
  return {
    zero: () => get().zero(),
    isZero: (v) => get().isZero(v),
    decode: (json, depth) => get().decode(json, depth),
    encode: (v) => get().encode(v),
    write: (v) => get().write(v),
  };
}

/**
 * A codec for `T` built on one for a wire-shaped `W`: used for proto oneofs, which messages.ts models
 * as discriminated unions while the JSON has one optional field per member.
 */
export function transform<T, W>(wire: Codec<W>, fromWire: (w: W) => T, toWire: (t: T) => W): Codec<T> {
  return {
    zero: () => fromWire(wire.zero()),
    isZero: (v) => wire.isZero(toWire(v)),
    decode: (json, depth) => fromWire(wire.decode(json, depth)),
    encode: (v) => wire.encode(toWire(v)),
    write: (v) => wire.write(toWire(v)),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages

/** One row of a message table: the proto field name and the codec of its value. */
export type FieldSpec<V> = readonly [protoName: string, codec: Codec<V>];

export type MessageFields<T> = { readonly [K in keyof T]-?: FieldSpec<T[K]> };

interface Field {
  readonly prop: string;
  readonly name: string;
  readonly codec: Codec<unknown>;
  /** `"name":`, the key as written in JSON text. */
  readonly key: string;
}

export interface MessageCodec<T> extends Codec<T> {
  /** The Go type, for messages: `etcdserverpb.RangeRequest`. */
  readonly goName: string;
  /** Decodes a message body; `null` (and a body of `null`) is the empty message. */
  decode(json: unknown, depth?: number): T;
  encode(value: T): JsonObject;
}

/** protoc's json_name: `range_end` -> `rangeEnd`, `ID` stays `ID`. */
function lowerCamel(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Declares a message. The table must list fields in proto field-number order: encoding emits them
 * in that order, as jsonpb does, and tests compare output text against etcd's byte for byte.
 * A message field (not wrapped in `optional`) is always written, even when empty: that is how a
 * response `header` behaves.
 */
export function message<T extends object>(goName: string, table: MessageFields<T>): MessageCodec<T> {
  const fields: Field[] = Object.entries(table as Record<string, FieldSpec<unknown>>).map(([prop, [name, codec]]) => ({
    prop,
    name,
    codec,
    key: `${JSON.stringify(name)}:`,
  }));
  // A 32-bit mask records which fields were given under their proto name.
  if (fields.length > 31) throw new TypeError(`${goName}: too many fields for one table`);
  // Slot = field index * 2 + (1 if the camel alias). A Map, so keys like `__proto__` are plain keys.
  const slots = new Map<string, number>();
  fields.forEach((f, i) => {
    slots.set(lowerCamel(f.name), i * 2 + 1);
    slots.set(f.name, i * 2);
  });
  const n = fields.length;

  const zero = (): T => {
    const out: Record<string, unknown> = {};
    for (const f of fields) out[f.prop] = f.codec.zero();
    return out as T;
  };

  return {
    goName,
    zero,
    isZero: () => false,
    decode(json: unknown, depth = 1): T {
      if (json === null || json === undefined) return zero();
      if (!isJsonObject(json)) throw typeError(json, 'map[string]json.RawMessage');
      checkDepth(depth);
      const raw = new Array<unknown>(n);
      let byProtoName = 0;
      for (const key in json) {
        const slot = slots.get(key);
        if (slot === undefined || !Object.hasOwn(json, key)) continue;
        const i = slot >> 1;
        if ((slot & 1) === 0) {
          raw[i] = json[key];
          byProtoName |= 1 << i;
        } else if ((byProtoName & (1 << i)) === 0) {
          raw[i] = json[key];
        }
      }
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const f = fields[i] as Field;
        const v = raw[i];
        if (v === undefined || v === null) {
          out[f.prop] = f.codec.zero();
          continue;
        }
        try {
          out[f.prop] = f.codec.decode(v, depth + 1);
        } catch (err) {
          if (err instanceof DecodeError) err.within(f.name);
          throw err;
        }
      }
      return out as T;
    },
    encode(value: T): JsonObject {
      const out: JsonObject = {};
      const v = value as Record<string, unknown>;
      for (let i = 0; i < n; i++) {
        const f = fields[i] as Field;
        const x = v[f.prop];
        if (!f.codec.isZero(x)) out[f.name] = f.codec.encode(x);
      }
      return out;
    },
    write(value: T): string {
      const v = value as Record<string, unknown>;
      let s = '';
      for (let i = 0; i < n; i++) {
        const f = fields[i] as Field;
        const x = v[f.prop];
        if (!f.codec.isZero(x)) s += (s === '' ? f.key : `,${f.key}`) + f.codec.write(x);
      }
      return `{${s}}`;
    },
  };
}

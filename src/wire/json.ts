// Reading a request body the way etcd's gateway does (Go's json.Decoder feeding jsonpb):
// - an empty or whitespace-only body is the empty message;
// - only the first JSON value is read, whatever follows it is ignored;
// - numbers keep their exact text where a JS number could not hold them.
//
// Numbers are the subtle part. JSON.parse turns 7587869402553040003 into 7587869402553040000 and
// 6e1 into 60, but a lease ID must stay exact and an int64 field must reject 6e1 and 60.0 as Go
// does. So every number literal that is not a plain integer of at most 15 digits (always exact in a
// double) is handed to the decoders as a JsonNumber holding its text. Such literals are rare, so a
// regex looks for them first: when there is none (the common case) the body costs one JSON.parse.
// Otherwise, or when JSON.parse fails (trailing data, or a real syntax error that needs Go's
// message), a small parser reads the first value.

import { DecodeError } from './decode-error.js';

/** Deepest nesting of objects and arrays accepted in a body (protobuf's default recursion limit). */
export const MAX_JSON_DEPTH = 100;

/**
 * A number literal kept as text: an integer of 16 or more digits, or one written with a fraction or
 * an exponent. Decoders parse `text` exactly or reject it; JSON itself never yields this class, so
 * it cannot be forged by a request.
 */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

// In valid JSON a number literal stands after `[`, `:` or `,` (or at the very start), separated only
// by JSON whitespace. This may also match inside a string (`"a:1.5"`), which merely takes the exact
// path for nothing; it never misses a literal outside one. Written digit-first and without a `^`
// alternative because that form scans about three times faster (2.6 µs vs 7.6 µs on a 7 KB txn).
const INEXACT_NUMBER = /[[:,][ \t\r\n]*-?\d(?:\d{15}|\d*[.eE])/;
// A top-level number is never a valid body; sending every one down the exact path keeps the
// regex above simple.
const LEADING_NUMBER = /^[ \t\r\n]*-?\d/;
const JSON_WHITESPACE_ONLY = /^[ \t\r\n]*$/;

/**
 * Parses a request body. Returns `{}` for an empty body and the first JSON value otherwise, with
 * inexact numbers as JsonNumber. Throws DecodeError('SYNTAX' | 'DEPTH').
 *
 * Objects come from JSON.parse or are built the same way, so a `__proto__` key is an ordinary own
 * property and never a prototype; decoders read only the own fields they know.
 */
export function parseJsonBody(text: string): unknown {
  if (JSON_WHITESPACE_ONLY.test(text)) return {};
  if (!INEXACT_NUMBER.test(text) && !LEADING_NUMBER.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Trailing data after the first value, or a syntax error: the exact parser tells which.
      return new FirstValueParser(text).parse();
    }
    // Depth d needs d opening and d closing brackets, so short bodies need no walk.
    if (text.length > 2 * MAX_JSON_DEPTH && exceedsDepth(value, MAX_JSON_DEPTH)) throw depthError();
    return value;
  }
  return new FirstValueParser(text).parse();
}

function depthError(): DecodeError {
  return new DecodeError('DEPTH', `json: exceeded max depth of ${MAX_JSON_DEPTH}`);
}

/** True when `value` nests more than `budget` objects/arrays. Recursion is bounded by the budget. */
function exceedsDepth(value: unknown, budget: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (budget === 0) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (exceedsDepth(item, budget - 1)) return true;
    return false;
  }
  const obj = value as Record<string, unknown>;
  // for-in is about twice as fast as Object.keys here. It would also visit enumerable properties
  // of a polluted Object.prototype, which only makes this bound stricter.
  for (const key in obj) if (exceedsDepth(obj[key], budget - 1)) return true;
  return false;
}

/** Go's quoting of an offending character in its syntax errors: `'h'`, `'\n'`, `'"'`. */
function quoteChar(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '"') return `'"'`;
  return `'${JSON.stringify(ch).slice(1, -1)}'`;
}

const MAX_EXACT_DIGITS = 15;

/**
 * Reads one JSON value from the start of a text, ignoring what follows it. Accepts exactly what
 * JSON.parse accepts; error messages follow Go's encoding/json scanner.
 */
class FirstValueParser {
  private pos = 0;

  constructor(private readonly text: string) {}

  parse(): unknown {
    this.skipWhitespace();
    return this.value(0);
  }

  private fail(context: string): never {
    if (this.pos >= this.text.length) throw new DecodeError('SYNTAX', 'unexpected EOF');
    const ch = String.fromCodePoint(this.text.codePointAt(this.pos) as number);
    throw new DecodeError('SYNTAX', `invalid character ${quoteChar(ch)} ${context}`);
  }

  private skipWhitespace(): void {
    const t = this.text;
    let p = this.pos;
    for (;;) {
      const c = t.charCodeAt(p);
      if (c === 32 || c === 10 || c === 13 || c === 9) p++;
      else break;
    }
    this.pos = p;
  }

  private value(depth: number): unknown {
    switch (this.text.charCodeAt(this.pos)) {
      case 123 /* { */:
        return this.object(depth + 1);
      case 91 /* [ */:
        return this.array(depth + 1);
      case 34 /* " */:
        return this.string();
      case 116 /* t */:
        return this.literal('true', true);
      case 102 /* f */:
        return this.literal('false', false);
      case 110 /* n */:
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_JSON_DEPTH) throw depthError();
    this.pos++;
    const out: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 125 /* } */) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 34) this.fail('looking for beginning of object key string');
      const key = this.string();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 58 /* : */) this.fail('after object key');
      this.pos++;
      this.skipWhitespace();
      const item = this.value(depth);
      // As JSON.parse does: an own data property, so `__proto__` cannot reach the prototype.
      if (key === '__proto__') {
        Object.defineProperty(out, key, { value: item, writable: true, enumerable: true, configurable: true });
      } else {
        out[key] = item;
      }
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44 /* , */) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 125 /* } */) {
        this.pos++;
        return out;
      } else {
        this.fail('after object key:value pair');
      }
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_JSON_DEPTH) throw depthError();
    this.pos++;
    const out: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 93 /* ] */) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos);
      if (c === 44 /* , */) {
        this.pos++;
        this.skipWhitespace();
      } else if (c === 93 /* ] */) {
        this.pos++;
        return out;
      } else {
        this.fail('after array element');
      }
    }
  }

  private string(): string {
    const t = this.text;
    const start = this.pos;
    let p = start + 1;
    let escaped = false;
    for (;;) {
      if (p >= t.length) {
        this.pos = p;
        this.fail('');
      }
      const c = t.charCodeAt(p);
      if (c === 34 /* " */) break;
      if (c < 0x20) {
        this.pos = p;
        this.fail('in string literal');
      }
      if (c === 92 /* \ */) {
        escaped = true;
        p++;
        const e = t.charCodeAt(p);
        if (e === 117 /* u */) {
          for (let k = 1; k <= 4; k++) {
            if (!isHexDigit(t.charCodeAt(p + k))) {
              this.pos = p + k;
              this.fail('in \\u hexadecimal character escape');
            }
          }
          p += 4;
        } else if (!isSimpleEscape(e)) {
          this.pos = p;
          this.fail('in string escape code');
        }
      }
      p++;
    }
    this.pos = p + 1;
    // The token is valid JSON by now; JSON.parse decodes escapes (lone surrogates included) exactly
    // as it would have for the whole body.
    return escaped ? (JSON.parse(t.slice(start, p + 1)) as string) : t.slice(start + 1, p);
  }

  private literal<T>(word: string, result: T): T {
    for (let k = 0; k < word.length; k++) {
      if (this.text.charCodeAt(this.pos) !== word.charCodeAt(k)) {
        this.fail(k === 0 ? 'looking for beginning of value' : `in literal ${word} (expecting '${word[k]}')`);
      }
      this.pos++;
    }
    return result;
  }

  private number(): number | JsonNumber {
    const t = this.text;
    const start = this.pos;
    let p = start;
    if (t.charCodeAt(p) === 45 /* - */) {
      p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail('in numeric literal');
      }
    } else if (!isDigit(t.charCodeAt(p))) {
      this.fail('looking for beginning of value');
    }
    const digitsStart = p;
    // A leading 0 stands alone; the digit after it is then "after" the value, as in Go.
    if (t.charCodeAt(p) === 48) p++;
    else while (isDigit(t.charCodeAt(p))) p++;
    let exact = p - digitsStart <= MAX_EXACT_DIGITS;
    if (t.charCodeAt(p) === 46 /* . */) {
      exact = false;
      p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail('after decimal point in numeric literal');
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    const e = t.charCodeAt(p);
    if (e === 101 /* e */ || e === 69 /* E */) {
      exact = false;
      p++;
      const s = t.charCodeAt(p);
      if (s === 43 /* + */ || s === 45 /* - */) p++;
      if (!isDigit(t.charCodeAt(p))) {
        this.pos = p;
        this.fail('in exponent of numeric literal');
      }
      while (isDigit(t.charCodeAt(p))) p++;
    }
    this.pos = p;
    const literal = t.slice(start, p);
    return exact ? Number(literal) : new JsonNumber(literal);
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isSimpleEscape(c: number): boolean {
  // " \ / b f n r t
  return c === 34 || c === 92 || c === 47 || c === 98 || c === 102 || c === 110 || c === 114 || c === 116;
}

/** The JSON kind of a parsed value, as Go names it in "cannot unmarshal X into ...". */
export function jsonKind(value: unknown): 'string' | 'number' | 'bool' | 'array' | 'object' | 'null' {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return 'number';
    case 'boolean':
      return 'bool';
    default:
      if (value instanceof JsonNumber) return 'number';
      return Array.isArray(value) ? 'array' : 'object';
  }
}

/** A parsed JSON object (not an array, not a JsonNumber). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof JsonNumber);
}

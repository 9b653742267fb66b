import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonNumber, MAX_JSON_DEPTH, parseJsonBody } from '../../src/wire/index.js';
import { assertDecodeError, Rng } from './helpers.js';

test('an empty or whitespace-only body is the empty message (API.md section 1)', () => {
  for (const body of ['', ' ', '\n', ' \t\r\n ']) assert.deepEqual(parseJsonBody(body), {});
});

test('only the first JSON value of a body is read (API.md section 1)', () => {
  assert.deepEqual(parseJsonBody('{"key":"Zm9v"}{"key":"YQ=="}'), { key: 'Zm9v' });
  assert.deepEqual(parseJsonBody('{"key":"Zm9v"} garbage'), { key: 'Zm9v' });
  assert.deepEqual(parseJsonBody('  {"key":"Zm9v"}\n{"ID":5}\n'), { key: 'Zm9v' });
  // The same with a number that takes the exact path.
  assert.deepEqual(parseJsonBody('{"ID":7587869402553040003} trailing'), { ID: new JsonNumber('7587869402553040003') });
});

test('integers longer than 15 digits keep their exact text', () => {
  const v = parseJsonBody('{"ID":7587869402553040003,"neg":-9223372036854775808,"small":123456789012345}');
  assert.deepEqual(v, {
    ID: new JsonNumber('7587869402553040003'),
    neg: new JsonNumber('-9223372036854775808'),
    small: 123456789012345,
  });
  // In arrays and nested objects too, and at any whitespace.
  assert.deepEqual(parseJsonBody('{"a":[ 1234567890123456 ,{"b":\n-12345678901234567}]}'), {
    a: [new JsonNumber('1234567890123456'), { b: new JsonNumber('-12345678901234567') }],
  });
});

test('floats and exponents keep their text so int64 fields can refuse them', () => {
  assert.deepEqual(parseJsonBody('{"a":60.5,"b":6e1,"c":60.0,"d":1E+2,"e":-0.5e-3}'), {
    a: new JsonNumber('60.5'),
    b: new JsonNumber('6e1'),
    c: new JsonNumber('60.0'),
    d: new JsonNumber('1E+2'),
    e: new JsonNumber('-0.5e-3'),
  });
});

test('number-like text inside strings is left alone', () => {
  assert.deepEqual(parseJsonBody('{"a":"x:1.5","b":"[12345678901234567890"}'), {
    a: 'x:1.5',
    b: '[12345678901234567890',
  });
  assert.deepEqual(parseJsonBody('{"a":"\\":6e1","b":6}'), { a: '":6e1', b: 6 });
});

test('syntax errors carry Go decoder text', () => {
  const cases: [string, string][] = [
    ['{"key":', 'unexpected EOF'],
    ['{', 'unexpected EOF'],
    ['{"key":"Zm9v', 'unexpected EOF'],
    ['hello', "invalid character 'h' looking for beginning of value"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['{"a":1,}', "invalid character '}' looking for beginning of object key string"],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['[1,]', "invalid character ']' looking for beginning of value"],
    ['[1 2]', "invalid character '2' after array element"],
    ['{"a":01}', "invalid character '1' after object key:value pair"],
    ['{"a":1.}', "invalid character '}' after decimal point in numeric literal"],
    ['{"a":-}', "invalid character '}' in numeric literal"],
    ['{"a":1e}', "invalid character '}' in exponent of numeric literal"],
    ['{"a":tru}', "invalid character '}' in literal true (expecting 'e')"],
    ['{"a":nul}', "invalid character '}' in literal null (expecting 'l')"],
    ['{"a":"\n"}', "invalid character '\\n' in string literal"],
    ['{"a":"\\x"}', "invalid character 'x' in string escape code"],
    ['{"a":"\\u12g4"}', "invalid character 'g' in \\u hexadecimal character escape"],
    ["{'a':1}", "invalid character '\\'' looking for beginning of object key string"],
    ['\ufeff{}', "invalid character '\ufeff' looking for beginning of value"],
  ];
  for (const [body, message] of cases) assertDecodeError(() => parseJsonBody(body), 'SYNTAX', message);
});

function nested(depth: number, inner = '1'): string {
  return '{"a":'.repeat(depth - 1) + `{"a":${inner}}` + '}'.repeat(depth - 1);
}

test(`nesting is bounded at ${MAX_JSON_DEPTH} on every path`, () => {
  assert.ok(parseJsonBody(nested(MAX_JSON_DEPTH)));
  assertDecodeError(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1)), 'DEPTH');
  // The exact-number path and the trailing-data path count the same way.
  assert.ok(parseJsonBody(nested(MAX_JSON_DEPTH, '12345678901234567890')));
  assertDecodeError(() => parseJsonBody(nested(MAX_JSON_DEPTH + 1, '12345678901234567890')), 'DEPTH');
  assertDecodeError(() => parseJsonBody(`${nested(MAX_JSON_DEPTH + 1)} x`), 'DEPTH');
  // Arrays count as levels too, and a huge nesting fails fast instead of overflowing the stack.
  assertDecodeError(() => parseJsonBody('['.repeat(100_000) + ']'.repeat(100_000)), 'DEPTH');
  assertDecodeError(() => parseJsonBody('['.repeat(100_000)), 'DEPTH');
});

test('D2 __proto__ keys are plain own properties on every path', () => {
  for (const body of [
    '{"__proto__":{"polluted":true},"key":"YQ=="}',
    '{"__proto__":{"polluted":true},"key":"YQ=="} trailing',
    '{"__proto__":{"polluted":true},"ID":12345678901234567890}',
  ]) {
    const v = parseJsonBody(body) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype, body);
    assert.ok(Object.hasOwn(v, '__proto__'), body);
    assert.equal((v as { polluted?: unknown }).polluted, undefined, body);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, body);
  }
});

test('D2 duplicate keys: the last one wins, as in Go', () => {
  assert.deepEqual(parseJsonBody('{"key":"YQ==","key":"Yg=="}'), { key: 'Yg==' });
  assert.deepEqual(parseJsonBody('{"key":"YQ==","ID":12345678901234567890,"key":"Yg=="}'), {
    key: 'Yg==',
    ID: new JsonNumber('12345678901234567890'),
  });
  assert.deepEqual(parseJsonBody('{"key":"YQ==","key":"Yg=="} x'), { key: 'Yg==' });
});

// A random JSON document generator, to hold the first-value parser to JSON.parse's results.
function randomJson(rng: Rng, depth: number): unknown {
  const strings = ['', 'a', 'Zm9v', 'é€😀', '\u0000\u001f"\\/\b\f\n\r\t', '\ud800', 'key', '__proto__', '1.5'];
  switch (rng.int(depth > 0 ? 8 : 6)) {
    case 0:
      return rng.pick(strings);
    case 1:
      return rng.int(1_000_000) - 500_000;
    case 2:
      return rng.bool();
    case 3:
      return null;
    case 4:
      return Number.MAX_SAFE_INTEGER % 1e15;
    case 5:
      return rng.pick(strings) + String(rng.int(100));
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) {
        Object.defineProperty(o, rng.pick(strings) + rng.pick(['', 'x']), {
          value: randomJson(rng, depth - 1),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return o;
    }
  }
}

test('the first-value parser reads exactly what JSON.parse reads', () => {
  const rng = new Rng(1);
  for (let i = 0; i < 2000; i++) {
    const doc = JSON.stringify({ v: randomJson(rng, 4) }, null, rng.pick([0, 1, '\t']));
    const expected: unknown = JSON.parse(doc);
    assert.deepEqual(parseJsonBody(doc), expected, doc);
    // Trailing data forces the hand-written parser.
    assert.deepEqual(parseJsonBody(`${doc} {"more":1}`), expected, doc);
  }
});

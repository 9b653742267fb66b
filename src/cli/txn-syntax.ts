import { bytesFromString, prefixEnd, type Compare, type CompareOperand, type RequestOp } from '../wire/index.js';
import { deleteRangeRequest, putRequest, rangeRequest } from '../client/index.js';

// etcdctl's txn language, read from stdin: compares, a blank line, success ops, a blank line,
// failure ops. Compare: `mod("k") > "0"`, `value("k") = "v"`, `version("k") != "2"`, `create(...)`,
// `lease(...)`. Ops: `put k v`, `get k [end] [--prefix]`, `del k [end] [--prefix]`.

export class TxnSyntaxError extends Error {
  override readonly name = 'TxnSyntaxError';
}

/** Splits a line into words; double-quoted words may contain spaces and \" \\ escapes. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    if (/\s/.test(line[i]!)) {
      i++;
      continue;
    }
    let word = '';
    if (line[i] === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\' && i + 1 < line.length) i++;
        word += line[i++];
      }
      if (line[i] !== '"') throw new TxnSyntaxError(`unterminated quote in ${JSON.stringify(line)}`);
      i++;
    } else {
      while (i < line.length && !/\s/.test(line[i]!)) word += line[i++];
    }
    words.push(word);
  }
  return words;
}

const TARGETS = { version: 0, create: 1, mod: 2, value: 3, lease: 4 } as const;
const RESULTS = { '=': 0, '>': 1, '<': 2, '!=': 3 } as const;

export function parseCompare(line: string): Compare {
  const m = /^\s*(version|create|mod|value|lease)\("((?:[^"\\]|\\.)*)"\)\s*(=|!=|<|>)\s*"((?:[^"\\]|\\.)*)"\s*$/.exec(line);
  if (m === null) throw new TxnSyntaxError(`malformed comparison: ${JSON.stringify(line)}`);
  const [, target, rawKey, op, rawValue] = m as unknown as [string, keyof typeof TARGETS, string, keyof typeof RESULTS, string];
  const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');
  const value = unescape(rawValue);
  let operand: CompareOperand;
  const int = (): number => {
    if (!/^-?[0-9]+$/.test(value)) throw new TxnSyntaxError(`expected an integer in ${JSON.stringify(line)}`);
    return Number(value);
  };
  switch (target) {
    case 'version': operand = { kind: 'version', version: int() }; break;
    case 'create': operand = { kind: 'createRevision', createRevision: int() }; break;
    case 'mod': operand = { kind: 'modRevision', modRevision: int() }; break;
    case 'value': operand = { kind: 'value', value: bytesFromString(value) }; break;
    case 'lease': operand = { kind: 'lease', lease: BigInt(int()) }; break;
  }
  return {
    key: bytesFromString(unescape(rawKey)),
    rangeEnd: new Uint8Array(0),
    target: TARGETS[target],
    result: RESULTS[op],
    operand,
  };
}

export function parseOp(line: string): RequestOp {
  const words = splitWords(line);
  const prefix = words.includes('--prefix');
  const args = words.filter((w) => w !== '--prefix');
  const [verb, key, second] = args;
  if (key === undefined) throw new TxnSyntaxError(`missing key in ${JSON.stringify(line)}`);
  const keyBytes = bytesFromString(key);
  const end = prefix ? prefixEnd(keyBytes) : second !== undefined ? bytesFromString(second) : new Uint8Array(0);
  switch (verb) {
    case 'put':
      if (second === undefined || args.length !== 3) throw new TxnSyntaxError(`put needs a key and a value: ${JSON.stringify(line)}`);
      return { type: 'put', put: putRequest({ key: keyBytes, value: bytesFromString(second) }) };
    case 'get':
      return { type: 'range', range: rangeRequest({ key: keyBytes, rangeEnd: end }) };
    case 'del':
      return { type: 'deleteRange', deleteRange: deleteRangeRequest({ key: keyBytes, rangeEnd: end }) };
    default:
      throw new TxnSyntaxError(`unknown operation ${JSON.stringify(verb)} (expected put, get or del)`);
  }
}

/** Parses the whole stdin text of `keyward txn`. */
export function parseTxn(text: string): { compare: Compare[]; success: RequestOp[]; failure: RequestOp[] } {
  const sections: string[][] = [[]];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') {
      if (sections.length < 3) sections.push([]);
      continue;
    }
    sections[sections.length - 1]!.push(line);
  }
  const [cmps = [], succ = [], fail = []] = sections;
  return { compare: cmps.map(parseCompare), success: succ.map(parseOp), failure: fail.map(parseOp) };
}

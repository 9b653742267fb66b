// Workload definition shared by the orchestrator and the load generator:
// key names, deterministic values, and the etcd v3 JSON request bodies (keys and
// values standard-base64, as grpc-gateway expects; see shared/API.md §2 and §5).

/** `range` is a default (linearizable) read; `range-s` the same read with `"serializable": true`. */
export type Op = 'put' | 'range' | 'range-s';

/** Every op the bench knows. */
export const ALL_OPS: readonly Op[] = ['put', 'range', 'range-s'];
/** Default ops of a single-member run. */
export const OPS: readonly Op[] = ['put', 'range'];
/** Default ops of a cluster run (--members > 1): serializable reads are served locally there. */
export const CLUSTER_OPS: readonly Op[] = ['put', 'range', 'range-s'];

export const OP_PATH: Readonly<Record<Op, string>> = {
  put: '/v3/kv/put',
  range: '/v3/kv/range',
  'range-s': '/v3/kv/range',
};

/** Key `i` of the key space: `bench/key-<i>`. */
export function keyName(i: number): string {
  return `bench/key-${i}`;
}

/**
 * The value written to key `i`: `size` pseudo-random bytes, deterministic in (i, size) so
 * a reader can verify what a preload wrote without sharing state.
 */
export function valueBytes(i: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let s = (Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995) >>> 0;
  for (let j = 0; j < size; j++) {
    // xorshift32
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[j] = s & 0xff;
  }
  return out;
}

function b64(s: string | Buffer): string {
  return (typeof s === 'string' ? Buffer.from(s, 'utf8') : s).toString('base64');
}

/** JSON body of the request `op` on key `i`. */
export function requestBody(op: Op, i: number, valueSize: number): string {
  switch (op) {
    case 'put':
      return `{"key":"${b64(keyName(i))}","value":"${b64(valueBytes(i, valueSize))}"}`;
    case 'range':
      return `{"key":"${b64(keyName(i))}"}`;
    case 'range-s':
      return `{"key":"${b64(keyName(i))}","serializable":true}`;
    default:
      return assertNever(op);
  }
}

/**
 * A complete HTTP/1.1 request (head and body) ready to write to a keep-alive socket;
 * `authorization` (an auth token) becomes the Authorization header.
 */
export function rawRequest(path: string, hostHeader: string, body: string, authorization?: string): Buffer {
  const bodyBuf = Buffer.from(body, 'utf8');
  if (authorization !== undefined && /[\r\n]/.test(authorization)) throw new TypeError('authorization must be one header line');
  const head =
    `POST ${path} HTTP/1.1\r\n` +
    `Host: ${hostHeader}\r\n` +
    (authorization === undefined ? '' : `Authorization: ${authorization}\r\n`) +
    `Content-Type: application/json\r\n` +
    `Content-Length: ${bodyBuf.length}\r\n` +
    `\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), bodyBuf]);
}

/**
 * A cheap per-response sanity check used during measurement (a full JSON parse of every
 * response would cost the generator more than some servers spend per request). A 200 whose
 * body lacks the marker counts as an error.
 */
export const BODY_MARKER: Readonly<Record<Op, Buffer>> = {
  put: Buffer.from('"header"'),
  range: Buffer.from('"kvs"'),
  'range-s': Buffer.from('"kvs"'),
};

export function assertNever(x: never): never {
  throw new TypeError(`unexpected value: ${String(x)}`);
}

// A versioned JSON payload: one version byte, then UTF-8 JSON of an object. The rarer replicated
// ops (auth, tenants) are stored this way: readable, and easy to extend behind a new version.

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

export function encodeJsonPayload(version: number, o: object): Uint8Array {
  const json = te.encode(JSON.stringify(o));
  const out = new Uint8Array(1 + json.byteLength);
  out[0] = version;
  out.set(json, 1);
  return out;
}

/** The payload's object, or undefined when it is not one of `version` (the caller's corruption). */
export function decodeJsonPayload(data: Uint8Array, version: number): Record<string, unknown> | undefined {
  if (data.byteLength < 2 || data[0] !== version) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(td.decode(data.subarray(1)));
  } catch {
    return undefined;
  }
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

// The tenant changes that go through Raft, their log-entry payloads, and how each is applied to the
// tenant table inside an apply batch (the server wraps applyTenantOp in an mvcc ExternalChange,
// as it does applyAuthOp).
//
// Rules, checked before the first write so a refusal leaves no trace:
//   create     id not [a-z0-9][a-z0-9-]{0,62} INVALID_TENANT_ID; a quota that is not a non-negative
//              safe integer INVALID_QUOTA; exists TENANT_EXISTS. Status active.
//   suspend    unknown TENANT_NOT_FOUND; already suspended: no-op
//   resume     unknown TENANT_NOT_FOUND; already active: no-op
//   setQuotas  unknown TENANT_NOT_FOUND; invalid INVALID_QUOTA; the same quotas: no-op. Lowering a
//              quota below the current usage is allowed (usage may then only shrink).
//   delete     unknown TENANT_NOT_FOUND; removes the record only. The server, in the SAME batch,
//              deletes the keys of tenantKeyRange(id) at one revision and revokes leasesOf(id);
//              usage and lease rows follow those deletions (they are accounted by key location
//              and lease ownership, not by the record), so the order of the three does not matter.
//   (An invalid id in suspend/resume/setQuotas/delete is INVALID_TENANT_ID.)
// Every change that applied is +1 tenant revision; refusals and no-ops are not.
import { decodeJsonPayload, encodeJsonPayload } from '../adt/index.js';
import type { WriteTxn } from '../storage/index.js';
import { TenantError } from './errors.js';
import { validTenantId } from './prefix.js';
import { QUOTA_FIELDS, copyQuotas, validateQuotas, type TenantQuotas } from './quota.js';
import type { TenantRecord, TenantTable } from './table.js';

export type TenantOp =
  | { type: 'create'; id: string; quotas: TenantQuotas }
  | { type: 'suspend'; id: string }
  | { type: 'resume'; id: string }
  | { type: 'delete'; id: string }
  | { type: 'setQuotas'; id: string; quotas: TenantQuotas };

export type TenantOpType = TenantOp['type'];

/**
 * `changed`: whether the op changed anything; `revision`: the tenant revision after it; `record`:
 * the record after the op (for delete: the record that was removed).
 */
export type TenantOpOutcome = { ok: true; changed: boolean; revision: number; record: TenantRecord } | { ok: false; error: TenantError };

// ---- payload: [0] = format version 1, then the op as JSON ----------------------------------------
// JSON for auth's reasons (auth/ops.ts): rare, small, extensible.

const PAYLOAD_VERSION = 1;


export function encodeTenantOp(op: TenantOp): Uint8Array {
  const o: Record<string, unknown> = { type: op.type, id: op.id };
  if (op.type === 'create' || op.type === 'setQuotas') o['quotas'] = copyQuotas(op.quotas);
  return encodeJsonPayload(PAYLOAD_VERSION, o);
}

/**
 * Decodes a committed payload. Malformed bytes are corruption, not input: a plain Error. The
 * values (id syntax, quota ranges) are checked by applyTenantOp, so a refusal is an outcome.
 */
export function decodeTenantOp(data: Uint8Array): TenantOp {
  const bad = (): never => {
    throw new Error('tenants: malformed tenant entry');
  };
  const o = decodeJsonPayload(data, PAYLOAD_VERSION) ?? bad();
  const id = o['id'];
  if (typeof id !== 'string') return bad();
  const only = (...keys: string[]): void => {
    for (const k of Object.keys(o)) if (k !== 'type' && k !== 'id' && !keys.includes(k)) bad();
  };
  const quotas = (): TenantQuotas => {
    const q = o['quotas'];
    if (typeof q !== 'object' || q === null || Array.isArray(q)) return bad();
    const r = q as Record<string, unknown>;
    if (Object.keys(r).length !== QUOTA_FIELDS.length) bad();
    const out = {} as TenantQuotas;
    for (const f of QUOTA_FIELDS) {
      const n = r[f];
      if (typeof n !== 'number') bad();
      out[f] = n as number;
    }
    return out;
  };
  switch (o['type']) {
    case 'create':
      only('quotas');
      return { type: 'create', id, quotas: quotas() };
    case 'setQuotas':
      only('quotas');
      return { type: 'setQuotas', id, quotas: quotas() };
    case 'suspend':
    case 'resume':
    case 'delete':
      only();
      return { type: o['type'], id };
    default:
      return bad();
  }
}

// ---- apply ---------------------------------------------------------------------------------------

const refuse = (e: TenantError): TenantOpOutcome => ({ ok: false, error: e });

function sameQuotas(a: TenantQuotas, b: TenantQuotas): boolean {
  return QUOTA_FIELDS.every((f) => a[f] === b[f]);
}

/**
 * Applies one op inside the batch transaction (mvcc's ExternalChange: wrap the outcome as
 * `{ ok: true, value }`). Never throws for any decoded op: every refusal is an outcome.
 */
export function applyTenantOp(table: TenantTable, txn: WriteTxn, op: TenantOp): TenantOpOutcome {
  if (!validTenantId(op.id)) return refuse(new TenantError('INVALID_TENANT_ID'));
  const revision = table.revision();
  const next = revision + 1;
  const current = table.get(op.id);
  const commit = (record: TenantRecord, remove = false): TenantOpOutcome => {
    if (remove) table.removeRecord(txn, record.id);
    else table.putRecord(txn, record);
    table.putRevision(txn, next);
    return { ok: true, changed: true, revision: next, record };
  };

  if (op.type === 'create') {
    const invalid = validateQuotas(op.quotas);
    if (invalid !== undefined) return refuse(invalid);
    if (current !== undefined) return refuse(new TenantError('TENANT_EXISTS'));
    return commit({ id: op.id, status: 'active', quotas: copyQuotas(op.quotas), createdRevision: next, revision: next });
  }
  if (current === undefined) return refuse(new TenantError('TENANT_NOT_FOUND'));
  const unchanged: TenantOpOutcome = { ok: true, changed: false, revision, record: current };
  switch (op.type) {
    case 'suspend':
      if (current.status === 'suspended') return unchanged;
      return commit({ ...current, status: 'suspended', revision: next });
    case 'resume':
      if (current.status === 'active') return unchanged;
      return commit({ ...current, status: 'active', revision: next });
    case 'setQuotas': {
      const invalid = validateQuotas(op.quotas);
      if (invalid !== undefined) return refuse(invalid);
      if (sameQuotas(current.quotas, op.quotas)) return unchanged;
      return commit({ ...current, quotas: copyQuotas(op.quotas), revision: next });
    }
    case 'delete':
      return commit(current, true);
    default: {
      const never: never = op;
      throw new TypeError(`tenants: unknown op ${JSON.stringify((never as { type: unknown }).type)}`);
    }
  }
}

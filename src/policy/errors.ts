// The policy module's one error family.
//
// A policy is operator input: everything wrong with it (a file, a password source, a tenant the
// cluster cannot manage yet) is a PolicyError with a stable `code`; callers branch on the code.
// Messages name files, lines, paths, users and password *sources*, never a password.

export type PolicyErrorCode =
  /** One or more files do not parse or do not fit the schema; `issues` lists every one. */
  | 'INVALID_POLICY'
  /** A password file or environment variable needed by this apply is missing, unreadable or unfit. */
  | 'SECRET_UNAVAILABLE'
  /** The policy declares tenants but the cluster client has no tenant API (see TenantApi). */
  | 'TENANTS_UNAVAILABLE'
  /** An operation of the plan was refused by the cluster; the operations before it were applied. */
  | 'APPLY_FAILED'
  /** Live state that the policy format cannot express (a binary key, a name outside the name rule). */
  | 'NOT_EXPORTABLE'
  /** Export target holds policy files already and replacing them was not asked for. */
  | 'EXPORT_TARGET_NOT_EMPTY';

/** One problem in one file, at a 1-based line and column. */
export interface PolicyIssue {
  file: string;
  line: number;
  col: number;
  /** Where in the document, e.g. `permissions[0].permType`; '' for the document itself. */
  path: string;
  message: string;
}

export function formatIssue(i: PolicyIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.path === '' ? '' : `${i.path}: `}${i.message}`;
}

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    readonly issues: readonly PolicyIssue[] = [],
  ) {
    super(message);
  }
}

export function invalidPolicy(issues: readonly PolicyIssue[]): PolicyError {
  const n = issues.length;
  return new PolicyError('INVALID_POLICY', `${n} problem${n === 1 ? '' : 's'} in the policy; nothing was applied\n${issues.map(formatIssue).join('\n')}`, issues);
}

export function isPolicyError(e: unknown, code?: PolicyErrorCode): e is PolicyError {
  return e instanceof PolicyError && (code === undefined || e.code === code);
}

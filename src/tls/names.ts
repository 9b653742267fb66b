// What may be written into a certificate we issue, and what a certificate we are shown may name.
//
// Two rules, deliberately different:
//  * Names we ISSUE (user, tenant, member) follow a narrow ASCII rule. They become file names in
//    the certificate store and must never be able to climb out of it ("../ca/client-ca"), look
//    like another name, or carry anything a shell or log would interpret.
//  * A CN we READ from a verified certificate (possibly issued by an operator's own tooling) may
//    be any well-formed Unicode user name, but never one that can be confused with another:
//    no NUL or other control characters, no format characters (bidi overrides, zero-width
//    joiners), no private-use or unassigned code points, no line/paragraph separators, no
//    leading or trailing white space, and only in Unicode NFC form (so "é" as one code point and
//    as "e" + combining accent cannot be two different users that print the same).

import { isIP } from 'node:net';
import { TlsError, quote } from './errors.js';

/** RFC 5280 ub-common-name: a CN holds at most 64 characters. */
export const MAX_CN_LENGTH = 64;

// Starts and ends with a letter or digit; dots, dashes, underscores and '@' inside (so e-mail-like
// and dotted service names work). No '/', '\', '..' runs, spaces or colons.
const ISSUED_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_@-]|\.(?!\.))*$/;
const ISSUED_NAME_END = /[A-Za-z0-9]$/;

// Tenant IDs are DNS-label shaped: lower case, digits and inner dashes, at most 63 characters.
const TENANT_ID = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A user or member name we put in a certificate we issue (and in a file name). */
export function checkIssuedName(kind: 'user' | 'member', name: string): string {
  if (typeof name !== 'string') throw new TypeError(`${kind} name must be a string`);
  if (name.length === 0 || name.length > MAX_CN_LENGTH || !ISSUED_NAME.test(name) || !ISSUED_NAME_END.test(name)) {
    throw new TlsError(
      'InvalidName',
      `${kind} name ${quote(name)} is not accepted: 1-${MAX_CN_LENGTH} characters of A-Z a-z 0-9 . _ - @, starting and ending with a letter or digit`,
    );
  }
  return name;
}

export function checkTenantId(tenant: string): string {
  if (typeof tenant !== 'string') throw new TypeError('tenant must be a string');
  if (!TENANT_ID.test(tenant)) {
    throw new TlsError('InvalidName', `tenant ${quote(tenant)} is not accepted: 1-63 characters of a-z 0-9 and inner '-'`);
  }
  return tenant;
}

/** True when `s` is acceptable as a tenant ID read from a certificate (same rule as issuance). */
export function isTenantId(s: string): boolean {
  return TENANT_ID.test(s);
}

// \p{C}: controls (NUL included), format characters, surrogates, private use, unassigned.
// \p{Zl}\p{Zp}: line and paragraph separators.
const FORBIDDEN_IN_CN = /[\p{C}\p{Zl}\p{Zp}]/u;

/** True when a CN read from a verified certificate is a single well-formed principal name. */
export function isWellFormedCn(cn: string): boolean {
  if (cn.length === 0 || [...cn].length > MAX_CN_LENGTH) return false;
  if (FORBIDDEN_IN_CN.test(cn)) return false;
  // A lone surrogate (a CN that was not valid UTF-8 to begin with) is \p{Cs}, caught above.
  if (cn.trim() !== cn) return false;
  return cn.normalize('NFC') === cn;
}

export type HostName = { readonly kind: 'dns'; readonly value: string } | { readonly kind: 'ip'; readonly value: string };

/**
 * Classifies a subjectAltName entry given for issuance: an IPv4/IPv6 literal or a DNS name
 * (no wildcards: a member certificate names that member only).
 */
export function parseHost(host: string): HostName {
  if (typeof host !== 'string') throw new TypeError('host must be a string');
  if (isIP(host) !== 0) return { kind: 'ip', value: host };
  const labels = host.split('.');
  if (host.length > 253 || !labels.every((l) => DNS_LABEL.test(l))) {
    throw new TlsError('InvalidName', `host ${quote(host)} is neither an IP address nor a DNS name`);
  }
  return { kind: 'dns', value: host.toLowerCase() };
}

// Password policy, checked at the edge before hashing (GUARANTEES A15; etcd 3.4 accepts any
// password, even an empty one: CVE-2020-15115).
//
// Lengths count Unicode code points, what a person calls characters ("pässwörd" is 8). The
// maximum bounds the hashing input: argon2 reads the whole password, and an edge that hashed
// megabyte passwords would hand an attacker a cheap CPU lever. 1024 code points (at most 4 KiB of
// UTF-8) is far beyond any passphrase; a longer one is etcd's 400/3 "request is too large".
import { AuthError } from './errors.js';

export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_CHARS = 1024;

/** Throws AuthError PASSWORD_TOO_SHORT (below 8) or REQUEST_TOO_LARGE (above 1024). */
export function checkPasswordPolicy(password: string): void {
  // A cheap bound first: every code point is 1 or 2 UTF-16 units.
  if (password.length > 2 * MAX_PASSWORD_CHARS) throw new AuthError('REQUEST_TOO_LARGE');
  let chars = 0;
  for (const _ of password) chars++;
  if (chars < MIN_PASSWORD_CHARS) throw new AuthError('PASSWORD_TOO_SHORT');
  if (chars > MAX_PASSWORD_CHARS) throw new AuthError('REQUEST_TOO_LARGE');
}

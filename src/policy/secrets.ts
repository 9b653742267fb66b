// Passwords for the users an apply creates (or re-passwords with rotatePasswords): read from the
// file or environment variable the policy names, at apply time, never printed.
//
// Every source the plan needs is read before the first change is made, so a missing one refuses
// the whole apply. Messages name the user and the source ("environment variable ACME_ALICE_PW is
// not set"), never the value.
import { readFileSync } from 'node:fs';
import { PolicyError } from './errors.js';
import type { AuthSource } from './model.js';

/** A password in memory. Prints as `[password]` in every form, so no log or diff line can carry it. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[password]';
  }
  toJSON(): string {
    return '[password]';
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return '[password]';
  }
}

// Keyward's password policy (src/auth/policy.ts, GUARANTEES A15): checked here too so that a
// short password refuses the apply before anything changed instead of failing halfway.
const MIN_PASSWORD_CHARS = 8;

export function describeSource(s: AuthSource): string {
  switch (s.kind) {
    case 'certificate':
      return 'certificate';
    case 'existing':
      return 'existing credentials';
    case 'passwordFile':
      return `password from file ${s.path}`;
    case 'passwordEnv':
      return `password from environment variable ${s.name}`;
  }
}

/** The password of a password source, or a one-line reason it cannot be had (no secret in it). */
export function readSecret(s: AuthSource & { kind: 'passwordFile' | 'passwordEnv' }, env: NodeJS.ProcessEnv): Secret | string {
  let raw: string;
  let where: string;
  if (s.kind === 'passwordEnv') {
    where = `environment variable ${s.name}`;
    const v = env[s.name];
    if (v === undefined) return `${where} is not set`;
    raw = v;
  } else {
    where = `password file ${s.path}`;
    try {
      raw = readFileSync(s.path, 'utf8');
    } catch (e) {
      return `${where} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    // One trailing line break is the file's, not the password's (`echo pw > file`).
    raw = raw.replace(/\r?\n$/, '');
  }
  if (raw === '') return `${where} is empty`;
  if ([...raw].length < MIN_PASSWORD_CHARS) return `${where} holds a password shorter than ${MIN_PASSWORD_CHARS} characters`;
  return new Secret(raw);
}

export function secretsUnavailable(problems: string[]): PolicyError {
  return new PolicyError('SECRET_UNAVAILABLE', `passwords needed by this apply are not available; nothing was applied\n${problems.join('\n')}`);
}

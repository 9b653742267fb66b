// Helpers for the policy tests: policy directories in temp dirs, and a printable snapshot of a
// real member's users and roles to compare before and after.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuthClient } from '../../src/client/index.js';
import { ClientBackend, readLive, type AuthApi, type TenantApi } from '../../src/policy/index.js';
import { makeTmpDir, type TmpDir } from '../harness/tmpdir.js';

/** A temp directory holding the given policy files (relative path -> text). */
export function policyDir(files: Record<string, string>): TmpDir {
  const dir = makeTmpDir('keyward-policy-');
  writeFiles(dir.path, files);
  return dir;
}

export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
}

/** Every user with its roles and every role with its permissions, as text, read through the API. */
export async function snapshot(auth: AuthApi, tenants?: TenantApi): Promise<string> {
  const live = await readLive(new ClientBackend(auth, tenants), 'all');
  const scopes = [...live.scopes].map(([scope, s]) => ({
    scope,
    roles: [...s.roles].map(([r, perms]) => [r, perms.map((p) => `${p.permType} ${Buffer.from(p.key).toString('hex')}..${Buffer.from(p.rangeEnd).toString('hex')}`)]),
    users: [...s.users].map(([u, v]) => [u, v.roles]),
  }));
  return JSON.stringify({ tenants: live.tenants === undefined ? null : [...live.tenants], scopes });
}

/** Deletes every user and role of a member (auth disabled), so each test starts from nothing. */
export async function wipe(auth: AuthClient): Promise<void> {
  for (const u of (await auth.userList()).users) await auth.userDelete(u);
  for (const r of (await auth.roleList()).roles) await auth.roleDelete(r);
}

export async function authRevision(auth: AuthClient): Promise<number> {
  return (await auth.status()).authRevision;
}

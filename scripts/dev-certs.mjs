#!/usr/bin/env node
// One certs dir for a whole development cluster, made once before any member starts (as an
// operator would with `keyward certs init`): both CAs, each member's server and peer certificates
// (SANs: its name, localhost, 127.0.0.1, ::1), the admin (root) client certificate. Members started
// on a shared dir that does not exist yet would each try to create it; this avoids the race.
//
//   node scripts/dev-certs.mjs <certs-dir> <member> [<member> ...]
//
// Leaves an existing store alone. Needs the build (dist/).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '::1'];

/** Creates the store in `dir` for `members` unless it exists; returns the admin files, and whether it was created. */
export async function ensureDevCerts(dir, members) {
  const tls = await import(pathToFileURL(resolve('dist/src/tls/index.js')).href);
  const layout = tls.certLayout(resolve(dir));
  const admin = { ca: layout.clientCa.cert, cert: layout.client('root').cert, key: layout.client('root').key };
  if (existsSync(layout.clientCa.cert)) return { admin, created: false };
  new tls.CertStore(resolve(dir)).init(
    members.map((name) => ({ name, hosts: [name] })),
    LOOPBACK_HOSTS,
  );
  return { admin, created: true };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [dir, ...members] = process.argv.slice(2);
  if (dir === undefined || members.length === 0) {
    console.error('usage: node scripts/dev-certs.mjs <certs-dir> <member> [<member> ...]');
    process.exit(2);
  }
  const { admin, created } = await ensureDevCerts(dir, members);
  console.log(`${created ? 'created' : 'kept the existing'} certs dir ${dir}; admin: --cacert ${admin.ca} --cert ${admin.cert} --key ${admin.key}`);
}

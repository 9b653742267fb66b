import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';

// ARCHITECTURE.md: imports point down the module table, and a module is entered only through its
// index.ts. This test reads every import in src/ and holds the code to that table.

const ALLOWED: Record<string, string[]> = {
  adt: [],
  raft: [],
  wire: [],
  storage: ['raft'],
  mvcc: ['storage', 'adt', 'wire'],
  watch: ['mvcc', 'adt', 'wire'],
  lease: ['storage', 'adt', 'wire'],
  auth: ['storage', 'adt', 'wire', 'tenants'],
  tls: [],
  tenants: ['adt', 'storage', 'wire'],
  transport: ['raft', 'tls'],
  cluster: ['raft', 'storage', 'transport'],
  server: ['adt', 'raft', 'storage', 'mvcc', 'watch', 'lease', 'auth', 'tls', 'tenants', 'transport', 'cluster', 'wire'],
  flags: ['server', 'wire'],
  connections: ['server', 'wire'],
  api: ['server', 'flags', 'connections', 'wire', 'tls'],
  client: ['wire'],
  policy: ['client', 'wire'],
  cli: ['server', 'client', 'policy', 'wire', 'api', 'tls'],
};
// Packages only one module may import.
const PACKAGE_OWNERS: Record<string, string[]> = { lmdb: ['storage'], 'node-forge': ['tls'], express: ['api'] };

const SRC = resolve('src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
  const out: string[] = [];
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push((m[1] ?? m[2])!);
  return out;
}

const moduleOf = (file: string): string => relative(SRC, file).split(sep)[0]!;

test('every src/ module is in the architecture table', () => {
  for (const f of files(SRC)) {
    const mod = moduleOf(f);
    if (f === join(SRC, mod)) continue;
    assert.ok(mod in ALLOWED, `${relative(SRC, f)} is in module "${mod}", which ARCHITECTURE.md does not list`);
  }
});

test('imports point down the module table and enter modules through index.ts', () => {
  const violations: string[] = [];
  for (const f of files(SRC)) {
    const mod = moduleOf(f);
    for (const spec of imports(f)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(f), spec);
        const targetMod = relative(SRC, target).split(sep)[0]!;
        if (targetMod === mod) continue;
        if (!ALLOWED[mod]?.includes(targetMod)) violations.push(`${relative(SRC, f)} imports ${targetMod} (${spec})`);
        const inside = relative(join(SRC, targetMod), target);
        if (inside !== 'index.js') violations.push(`${relative(SRC, f)} reaches into ${targetMod}/${inside}; import ${targetMod}/index.js`);
      } else {
        if (mod === 'raft') violations.push(`${relative(SRC, f)}: raft imports nothing, not even ${spec}`);
        const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        const owners = PACKAGE_OWNERS[pkg];
        if (owners !== undefined && !owners.includes(mod)) violations.push(`${relative(SRC, f)} imports ${pkg}, owned by ${owners.join(', ')}`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

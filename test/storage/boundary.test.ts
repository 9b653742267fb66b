// Module boundaries of ARCHITECTURE.md, checked mechanically: `lmdb` is imported only by
// src/storage, and mvcc reaches other modules only through storage (and wire's types).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = new URL('../../src/', import.meta.url).pathname;

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...tsFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Module specifiers of import/export-from statements and dynamic imports. */
function imports(file: string): { spec: string; typeOnly: boolean }[] {
  const text = readFileSync(file, 'utf8');
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]/gm)) {
    out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  }
  for (const m of text.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

test('only src/storage imports lmdb', () => {
  const offenders = tsFiles(SRC)
    .filter((f) => !relative(SRC, f).startsWith('storage/'))
    .filter((f) => imports(f).some((i) => i.spec === 'lmdb' || i.spec.startsWith('lmdb/')))
    .map((f) => relative(SRC, f));
  assert.deepEqual(offenders, []);
});

test('src/mvcc imports only storage, adt, wire types and node builtins', () => {
  const bad: string[] = [];
  for (const f of tsFiles(join(SRC, 'mvcc'))) {
    for (const i of imports(f)) {
      const ok =
        i.spec.startsWith('./') ||
        i.spec.startsWith('node:') ||
        i.spec === '../storage/index.js' ||
        i.spec === '../adt/index.js' ||
        (i.spec === '../wire/index.js' && i.typeOnly);
      if (!ok) bad.push(`${relative(SRC, f)} -> ${i.spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

// storage implements raft's Storage interface, so besides raft's types it uses raft's error class
// (raft tells 'Compacted' from other failures by instanceof) and its entry-size rule. raft is pure
// (no I/O, imports nothing), so this adds no dependency beyond raft itself.
test('src/storage imports nothing of the project but raft', () => {
  const bad: string[] = [];
  for (const f of tsFiles(join(SRC, 'storage'))) {
    for (const i of imports(f)) {
      const ok = i.spec.startsWith('./') || i.spec.startsWith('node:') || i.spec === 'lmdb' || i.spec === '../raft/index.js';
      if (!ok) bad.push(`${relative(SRC, f)} -> ${i.spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

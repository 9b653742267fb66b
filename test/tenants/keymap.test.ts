import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyMapper, TenantError, isTenantError, tenantKeyRange, tenantOfKey, tenantPrefix, validTenantId } from '../../src/tenants/index.js';
import { prefixEnd } from '../../src/adt/index.js';
import { mulberry32, type Rand } from '../mvcc/gen.js';
import { b, matches, s } from './helpers.js';

// The key translation of one tenant (src/tenants/keymap.ts): the prefix scheme, the range rules
// with etcd's "\0" and prefix ends, fail-closed refusals, and seeded property tests against a
// brute-force model of etcd's range matching (GUARANTEES A1: a tenant's range never reaches
// another tenant's keys, "acme" vs "acme2" included).

test('tenant ids: [a-z0-9][a-z0-9-]{0,62}', () => {
  for (const id of ['a', '0', 'acme', 'acme-2', 'a-', 'x'.repeat(63), '9lives']) assert.ok(validTenantId(id), id);
  for (const id of ['', '-a', 'A', 'acme/', 'a b', 'a_b', 'é', 'x'.repeat(64), 'a.b', 'a\0', '/']) assert.ok(!validTenantId(id), JSON.stringify(id));
  assert.ok(!validTenantId(undefined));
  assert.ok(!validTenantId(7));
});

test('tenantPrefix is "/t/<id>/"; an invalid id is INVALID_TENANT_ID', () => {
  assert.equal(s(tenantPrefix('acme')), '/t/acme/');
  assert.throws(() => tenantPrefix('Acme'), (e: unknown) => isTenantError(e, 'INVALID_TENANT_ID'));
  assert.throws(() => new KeyMapper('a/b'), (e: unknown) => isTenantError(e, 'INVALID_TENANT_ID'));
  const r = tenantKeyRange('acme');
  assert.deepEqual([s(r.key), s(r.rangeEnd)], ['/t/acme/', '/t/acme0']);
});

test('A1: prefixes of acme and acme2 are disjoint and neither contains the other', () => {
  const acme = new KeyMapper('acme');
  const acme2 = new KeyMapper('acme2');
  assert.ok(!acme.contains(acme2.toInternal(b('x'))));
  assert.ok(!acme2.contains(acme.toInternal(b('x'))));
  assert.ok(!acme.contains(b('/t/acme')), 'the prefix without its slash is not the tenant');
  // acme's whole range stops before every acme2 key.
  const all = acme.rangeToInternal(b('\0'), b('\0'));
  assert.ok(!matches(acme2.toInternal(new Uint8Array(0)), all.key, all.rangeEnd));
  assert.ok(!matches(acme2.toInternal(b('\xff\xff')), all.key, all.rangeEnd));
});

test('tenantOfKey names the tenant a key lives under, or none', () => {
  assert.equal(tenantOfKey(b('/t/acme/x')), 'acme');
  assert.equal(tenantOfKey(b('/t/acme/')), 'acme');
  assert.equal(tenantOfKey(b('/t/acme2/x/y')), 'acme2');
  assert.equal(tenantOfKey(b('/t/acme')), undefined);
  assert.equal(tenantOfKey(b('/t//x')), undefined);
  assert.equal(tenantOfKey(b('/t/ACME/x')), undefined);
  assert.equal(tenantOfKey(b('/t/-a/x')), undefined);
  assert.equal(tenantOfKey(b('/x/acme/x')), undefined);
  assert.equal(tenantOfKey(b(`/t/${'a'.repeat(63)}/k`)), 'a'.repeat(63));
  assert.equal(tenantOfKey(b(`/t/${'a'.repeat(64)}/k`)), undefined);
});

test('tenantOfKey reads ids by the same rule as validTenantId (it checks byte by byte, not with the regex), for every byte first and later', () => {
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    for (const id of [ch, `a${ch}`, `a${ch}b`, `${'a'.repeat(62)}${ch}`]) {
      if (ch === '/') continue; // the separator itself, covered above
      const key = new Uint8Array([...b('/t/'), ...[...id].map((x) => x.charCodeAt(0)), ...b('/k')]);
      assert.equal(tenantOfKey(key), validTenantId(id) ? id : undefined, `id ${JSON.stringify(id)}`);
    }
  }
});

test('toInternal / toExternal: prefix added and removed; keys exactly the prefix, empty, 0x00 and 0xff', () => {
  const m = new KeyMapper('acme');
  for (const k of ['', 'a', '\0', '\xff', '\xff\xff', '/t/acme2/', 'a\0b']) {
    const i = m.toInternal(b(k));
    assert.equal(s(i), `/t/acme/${k}`);
    assert.equal(s(m.toExternal(i)), k);
  }
  assert.equal(s(m.toExternal(b('/t/acme/'))), '', 'the key that is exactly the prefix is the virtual empty key');
});

test('toExternal of a key outside the tenant throws OUTSIDE_TENANT, and the message names no key (A21)', () => {
  const m = new KeyMapper('acme');
  for (const k of ['/t/acme2/secret', '/t/acme', '/t/acm/', 'secret', '', '/t/acme0']) {
    assert.throws(
      () => m.toExternal(b(k)),
      (e: unknown) => e instanceof TenantError && e.code === 'OUTSIDE_TENANT' && !e.message.includes('secret') && !e.message.includes('acme2'),
      k,
    );
  }
});

test('rangeToInternal: single keys, ranges, "\\0" from-key, client prefix ends', () => {
  const m = new KeyMapper('acme');
  const r = (k: string, e: string): [string, string] => {
    const x = m.rangeToInternal(b(k), b(e));
    return [s(x.key), s(x.rangeEnd)];
  };
  assert.deepEqual(r('a', ''), ['/t/acme/a', '']);
  assert.deepEqual(r('a', 'b'), ['/t/acme/a', '/t/acme/b']);
  assert.deepEqual(r('a', '\0'), ['/t/acme/a', '/t/acme0'], 'from-key stops at the tenant edge');
  assert.deepEqual(r('\0', '\0'), ['/t/acme/\0', '/t/acme0'], 'the whole tenant');
  assert.deepEqual(r('', '\0'), ['/t/acme/', '/t/acme0'], 'the whole tenant, the prefix key included');
  assert.deepEqual(r('a/', s(prefixEnd(b('a/')))), ['/t/acme/a/', '/t/acme/a0'], 'a client prefix end');
  assert.deepEqual(r('a\xff', s(prefixEnd(b('a\xff')))), ['/t/acme/a\xff', '/t/acme/b']);
  assert.deepEqual(r('\xff', s(prefixEnd(b('\xff')))), ['/t/acme/\xff', '/t/acme0'], 'prefix of 0xff: the end is "\\0", i.e. the tenant end');
  assert.deepEqual(r('\xff\xff', '\0'), ['/t/acme/\xff\xff', '/t/acme0']);
  assert.deepEqual(r('b', 'a'), ['/t/acme/b', '/t/acme/a'], 'an empty range stays empty, inside');
  assert.deepEqual(r('a', '\0\0'), ['/t/acme/a', '/t/acme/\0\0'], '"\\0\\0" is an ordinary end, not from-key');
});

test('containsRange: what the auth layer can hold a tenant principal to', () => {
  const m = new KeyMapper('acme');
  assert.ok(m.containsRange(b('/t/acme/a'), b('')));
  assert.ok(m.containsRange(b('/t/acme/'), b('/t/acme0')));
  assert.ok(m.containsRange(b('/t/acme/a'), b('/t/acme/b')));
  assert.ok(!m.containsRange(b('/t/acme/a'), b('\0')), 'an open end always escapes');
  assert.ok(!m.containsRange(b('/t/acme/a'), b('/t/acme0\0')));
  assert.ok(!m.containsRange(b('/t/acme/a'), b('/t/acme2/')));
  assert.ok(!m.containsRange(b('/t/acme'), b('/t/acme/a')));
  assert.ok(!m.containsRange(b('/t/'), b('/t/acme/')));
  assert.ok(!m.containsRange(b(''), b('')));
});

// ---- properties -----------------------------------------------------------------------------------

const ALPHABET = ['\0', '\x01', '/', 'a', '\xfe', '\xff'];

function allKeys(maxLen: number): string[] {
  const out = [''];
  let layer = [''];
  for (let n = 1; n <= maxLen; n++) {
    layer = layer.flatMap((p) => ALPHABET.map((c) => p + c));
    out.push(...layer);
  }
  return out;
}

function randKey(rand: Rand, maxLen: number): string {
  const n = Math.floor(rand() * (maxLen + 1));
  let k = '';
  for (let i = 0; i < n; i++) k += ALPHABET[Math.floor(rand() * ALPHABET.length)]!;
  return k;
}

function randEnd(rand: Rand, key: string): string {
  const x = rand();
  if (x < 0.2) return '';
  if (x < 0.35) return '\0';
  if (x < 0.6) return s(prefixEnd(b(key))); // what clients send for a prefix (all 0xff → "\0")
  if (x < 0.7) return s(prefixEnd(b(randKey(rand, 2))));
  return randKey(rand, 4);
}

test('property (seeded): translated ranges match exactly P + the virtual matches, never another tenant, over 0x00/0xff keys', () => {
  const virtualKeys = allKeys(3); // 259 keys, the empty key included
  const mapper = new KeyMapper('acme');
  const neighbours = ['acme2', 'acm', 'acme-', 'b', '0'].map((id) => new KeyMapper(id));
  // The internal universe: this tenant's keys, its neighbours' (same virtual keys), and noise
  // around the edges of the prefix that no tenant owns.
  const universe: Uint8Array[] = [
    ...virtualKeys.map((k) => mapper.toInternal(b(k))),
    ...neighbours.flatMap((n) => virtualKeys.slice(0, 60).map((k) => n.toInternal(b(k)))),
    ...['/t/acme', '/t/acme0', '/t/acme.', '/t/', '/t', '', '\0', '\xff', '\xff\xff\xff', '/t/acme0\0', '/s/acme/a', '/u'].map(b),
  ];
  for (const seed of [1, 2, 3, 42, 2026]) {
    const rand = mulberry32(seed);
    for (let i = 0; i < 400; i++) {
      const key = randKey(rand, 4);
      const end = randEnd(rand, key);
      const t = mapper.rangeToInternal(b(key), b(end));
      assert.ok(mapper.containsRange(t.key, t.rangeEnd), `seed ${seed}: ${JSON.stringify([key, end])} escaped`);
      const got = universe.filter((u) => matches(u, t.key, t.rangeEnd)).map(s).sort();
      const want = virtualKeys
        .filter((v) => matches(b(v), b(key), b(end)))
        .map((v) => s(mapper.toInternal(b(v))))
        .sort();
      assert.deepEqual(got, want, `seed ${seed}: range ${JSON.stringify([key, end])}`);
    }
  }
});

test('property (seeded): toExternal(toInternal(k)) == k and toInternal is order-preserving', () => {
  const m = new KeyMapper('t0-x');
  const rand = mulberry32(7);
  for (let i = 0; i < 2000; i++) {
    const k1 = randKey(rand, 6);
    const k2 = randKey(rand, 6);
    assert.equal(s(m.toExternal(m.toInternal(b(k1)))), k1);
    assert.equal(Math.sign(Buffer.compare(m.toInternal(b(k1)), m.toInternal(b(k2)))), Math.sign(Buffer.compare(b(k1), b(k2))));
  }
});

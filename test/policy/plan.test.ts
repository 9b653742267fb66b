import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { computePlan, isPolicyError, parsePolicy, renderPlan, Secret, withSecrets, type LiveSnapshot } from '../../src/policy/index.js';

// Planning and rendering as pure functions of two states (no cluster needed: the plan is data;
// apply.test.ts runs plans against a real member).

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function live(over: Partial<LiveSnapshot> = {}): LiveSnapshot {
  return { tenants: new Map(), scopes: new Map([['', { roles: new Map(), users: new Map() }]]), ...over };
}

const POLICY = parsePolicy([
  {
    file: 'p.yaml',
    text: `kind: Tenant
id: acme
quotas: {maxKeys: 2000}
---
kind: Role
name: readers
tenant: acme
permissions: [{permType: READ, key: a, rangeEnd: c}]
---
kind: User
name: alice
tenant: acme
auth: {passwordEnv: ALICE_PW}
roles: [readers]
`,
  },
]);

test('rendering: + adds, ~ changes, - removes, in dependency order, deletions last (users, roles, tenants)', () => {
  const current = live({
    tenants: new Map([
      ['acme', { status: 'active', quotas: { maxKeys: 1000, maxBytes: 5 } }],
      ['old', { status: 'active', quotas: {} }],
    ]),
    scopes: new Map([
      ['', { roles: new Map([['root', []], ['stale', []]]), users: new Map([['root', { roles: ['root'] }], ['bob', { roles: [] }]]) }],
      [
        'acme',
        {
          roles: new Map([
            ['readers', [{ permType: 'WRITE', key: new Uint8Array([0xff, 0xfe]), rangeEnd: new Uint8Array(0) }]],
            ['gone', []],
          ]),
          users: new Map([['alice', { roles: ['gone'] }]]),
        },
      ],
    ]),
  });
  const ops = computePlan(POLICY, current, { prune: true });
  assert.equal(
    renderPlan(ops),
    [
      '~ tenant acme quotas.maxKeys 1000 -> 2000',
      '+ role acme/readers READ range ["a", "c")',
      // A binary key cannot be written in a file; the diff shows it in hex.
      '- role acme/readers WRITE key 0xfffe',
      '+ user acme/alice role readers',
      '- user acme/alice role gone',
      '- user bob',
      '- role stale',
      '- role acme/gone',
      '- tenant old',
    ].join('\n'),
  );
  // Without prune the same states plan no deletion of whole objects; bindings are still made exact.
  assert.ok(!renderPlan(computePlan(POLICY, current)).split('\n').some((l) => /^- (user|role|tenant) \S+$/.test(l)));
  assert.equal(renderPlan([]), 'no changes');
});

test('a user declared existing: true that does not exist is refused with its location; tenants without a tenant API are refused', () => {
  const p = parsePolicy([{ file: 'u.yaml', text: 'kind: User\nname: carol\nauth: {existing: true}\n' }]);
  assert.throws(() => computePlan(p, live()), (e: unknown) => isPolicyError(e, 'INVALID_POLICY') && e.message.endsWith('u.yaml:2:7: auth.existing: user carol does not exist, so it needs credentials: certificate: true, passwordFile or passwordEnv'));
  assert.throws(() => computePlan(POLICY, live({ tenants: undefined })), (e: unknown) => isPolicyError(e, 'TENANTS_UNAVAILABLE'));
});

test('passwords: read only for users being created (or with rotatePasswords), carried as a Secret that never prints', () => {
  const ops = withSecrets(computePlan(POLICY, live()), { ALICE_PW: 'correct horse battery' });
  const add = ops.find((o) => o.op === 'userAdd');
  assert.ok(add !== undefined && add.op === 'userAdd' && add.password instanceof Secret);
  assert.equal(add.password.reveal(), 'correct horse battery');
  for (const shown of [JSON.stringify(ops), inspect(ops, { depth: 10 }), String(add.password), `${add.password}`, renderPlan(ops)]) assert.ok(!shown.includes('horse'), shown);
  // The user exists: nothing to read, so a missing variable is no problem ...
  const existing = live({
    tenants: new Map([['acme', { status: 'active', quotas: { maxKeys: 2000 } }]]),
    scopes: new Map([['', { roles: new Map(), users: new Map() }], ['acme', { roles: new Map([['readers', [{ permType: 'READ', key: enc('a'), rangeEnd: enc('c') }]]]), users: new Map([['alice', { roles: ['readers'] }]]) }]]),
  });
  assert.deepEqual(withSecrets(computePlan(POLICY, existing), {}), []);
  // ... unless passwords are rotated.
  const rotate = computePlan(POLICY, existing, { rotatePasswords: true });
  assert.equal(renderPlan(rotate), '~ user acme/alice password (password from environment variable ALICE_PW)');
  assert.throws(() => withSecrets(rotate, {}), (e: unknown) => isPolicyError(e, 'SECRET_UNAVAILABLE') && e.message.endsWith('user acme/alice: environment variable ALICE_PW is not set'));
});

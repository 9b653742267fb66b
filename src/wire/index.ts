export * from './messages.js';
export * from './errors.js';
export * from './decode-error.js';
export * from './bytes.js';
export * from './json.js';
export * from './codec.js';
export * from './cluster.js';
export * from './watch.js';
export * from './lease.js';
export * from './auth.js';
export * from './tenants.js';
// The table machinery, for modules that declare further messages (lease, auth, watch) with the
// same rules. Namespaced because its codec names (`bytes`, `string`, `bool`) are too generic to
// export flat.
export * as schema from './schema.js';

// Public surface of the tls module: certificate authority and issuance (node-forge encodes,
// OpenSSL signs), the certs/ directory, hardened TLS options, hot reload, revocation, and
// identity from a verified peer certificate. See README.md in this directory.

export { TlsError, isTlsError } from './errors.js';
export type { TlsErrorCode } from './errors.js';

export { KEY_ALGORITHMS, DEFAULT_KEY_ALGORITHM, generatePrivateKey } from './keys.js';
export type { KeyAlgorithm } from './keys.js';

export { MAX_CN_LENGTH, checkIssuedName, checkTenantId, isTenantId, isWellFormedCn, parseHost } from './names.js';
export type { HostName } from './names.js';

export {
  createCa,
  createCrl,
  issueServerCertificate,
  issuePeerCertificate,
  issueClientCertificate,
  normalizeSerial,
  randomSerial,
} from './x509.js';
export type { CertifiedKey, Issuer, IssueOptions, CrlOptions, ExtendedKeyUsage } from './x509.js';

export { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensurePrivateDir, writeFileAtomic, readPrivateFile } from './files.js';
export type { WriteOptions } from './files.js';

export { CertStore, certLayout } from './store.js';
export type { CertLayout, CertKeyPaths, MemberSpec, IssuedFiles, MemberFiles, InitResult, RotateResult, CertStoreOptions } from './store.js';

export {
  TLS_CIPHERS,
  ECDH_CURVES,
  SECURE_OPTIONS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  secureContextOptions,
  serverTlsOptions,
  clientTlsOptions,
} from './options.js';
export type { TlsMaterial, HardeningOptions, MinTlsVersion, ServerTlsOptions, ClientTlsOptions } from './options.js';

export { hardenServer } from './server.js';
export type { HandshakeFailure } from './server.js';

export { parseCertificates, parsePrivateKey, loadTlsFiles, checkMaterial } from './material.js';
export type { TlsFiles, LoadedMaterial, LoadOptions, MaterialTexts } from './material.js';

export { RevocationList, guardServer } from './revocation.js';
export type { GuardEvent, ServerGuard } from './revocation.js';

export { TlsReloader, SILENT_TLS_LOGGER } from './reload.js';
export type { ReloaderOptions, ReloadOutcome, TlsLogger, AttachHooks } from './reload.js';

export { identityFromSocket, EKU_CLIENT_AUTH, EKU_SERVER_AUTH } from './identity.js';
export type { Identity, IdentityPolicy } from './identity.js';

export { NODE_TIMERS } from './timers.js';
export type { Timers } from './timers.js';

export { createApi, type Api, type ApiOptions, type ApiLogger } from './app.js';
export { HttpListener, ListenError, requestIdentity, requestPrincipal, type ListenOptions, type ListenTls } from './http-server.js';
export { toWireFailure, httpStatusFor } from './errors.js';

export { createApi, type Api, type ApiOptions, type ApiLogger } from './app.js';
export { HttpListener, ListenError, type ListenOptions } from './http-server.js';
export { toWireFailure, httpStatusFor } from './errors.js';

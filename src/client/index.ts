export { KeywardError, type ClientOptions } from './http.js';
export { KvClient } from './kv-client.js';
export { ClusterClient } from './cluster-client.js';
export { rangeRequest, putRequest, deleteRangeRequest, txnRequest, type Partial1 } from './requests.js';

export { KvClient, KeywardError, type ClientOptions } from './kv-client.js';
export { rangeRequest, putRequest, deleteRangeRequest, txnRequest, type Partial1 } from './requests.js';

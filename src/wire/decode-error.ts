// The wire module's one error family: everything that can go wrong turning untrusted JSON into a
// message. The api layer maps every DecodeError to HTTP 400 / gRPC code 3 (2 on streams, as etcd
// does), so the code only has to say what kind of mistake it was, for tests and logs.

/**
 * - `SYNTAX`: not JSON (or not the first JSON value of the body).
 * - `TYPE`: a JSON value of the wrong kind for the field, including floats for integer fields.
 * - `BASE64`: a bytes field that is not padded standard base64.
 * - `ENUM`: an enum name or number the enum does not define.
 * - `RANGE`: an integer outside the field's type, or beyond 2^53-1 where Keyward keeps a JS number.
 * - `DEPTH`: nesting deeper than MAX_JSON_DEPTH.
 * - `ONEOF`: more than one member of a proto oneof set, or none where one is required.
 * - `SHAPE`: a well-typed body that is not the expected envelope (e.g. an error body without code).
 */
export type DecodeErrorCode = 'SYNTAX' | 'TYPE' | 'BASE64' | 'ENUM' | 'RANGE' | 'DEPTH' | 'ONEOF' | 'SHAPE';

export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  readonly code: DecodeErrorCode;
  /**
   * Where in the message the problem is, as a path of proto field names and list indexes
   * (`success[0].request_put.key`). Empty for the body itself. Not part of `message`, because etcd's
   * text does not carry it and clients match on that text.
   */
  field: string;

  constructor(code: DecodeErrorCode, message: string, field = '') {
    super(message);
    this.code = code;
    this.field = field;
  }

  /** Records the enclosing field while the error unwinds through nested decoders. */
  within(segment: string): this {
    if (this.field === '') this.field = segment;
    else this.field = this.field.startsWith('[') ? segment + this.field : `${segment}.${this.field}`;
    return this;
  }
}

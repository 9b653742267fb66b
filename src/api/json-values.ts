// Finds where each JSON value ends in a stream of text, as Go's json.Decoder reads etcd's watch
// request body: values may be separated by newlines (the usual form), by any whitespace, or by
// nothing at all (`{…}{…}`, which is what `curl -d @file` makes of a file of lines), and one value
// may span many lines or many chunks. The splitter only tracks structure (nesting, strings,
// escapes) and rejects a value as soon as its structure is broken, so a client that sends garbage
// gets its answer at once instead of a stream waiting for a closing brace that never comes. The
// exact validation (numbers, literals, escapes) and the error text are left to wire's
// parseJsonBody, which each complete value goes through.

/** The value's structure is broken; `text` is what was read of it, for the exact error message. */
export class JsonSplitError extends Error {
  override readonly name = 'JsonSplitError';
  constructor(readonly text: string) {
    super('malformed JSON value');
  }
}

/** A value grew beyond the limit before it ended. */
export class JsonValueTooLargeError extends Error {
  override readonly name = 'JsonValueTooLargeError';
  constructor(readonly received: number) {
    super(`JSON value of at least ${received} characters exceeds the limit`);
  }
}

// What the scanner expects next, outside strings and scalars.
const enum Expect {
  /** A value (top level, after `:` or `,` in an array, or first in an array). */
  Value,
  /** The first key of an object, or its end. */
  KeyOrEnd,
  /** A key (after `,` in an object). */
  Key,
  Colon,
  /** `,` or the end of the enclosing container. */
  CommaOrEnd,
  /** The first element of an array, or its end. */
  ValueOrEnd,
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
/** Characters of number and literal tokens (true, false, null); their exact form is checked later. */
const isScalar = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x2d || c === 0x2b || c === 0x2e;

export class JsonValueSplitter {
  private buf = '';
  /** Where scanning resumes in buf, and where the current value starts. */
  private pos = 0;
  private start = -1;
  /** Open containers: true for an object, false for an array. */
  private readonly stack: boolean[] = [];
  private expect = Expect.Value;
  private inString = false;
  private escaped = false;
  private inScalar = false;

  constructor(private readonly maxValueChars: number) {}

  /** Characters held for a value that has not ended yet. */
  get pending(): number {
    return this.start < 0 ? 0 : this.buf.length - this.start;
  }

  /**
   * Why the splitter stopped: JsonSplitError at the first broken value, JsonValueTooLargeError when
   * a value outgrew the limit. Values completed before it were returned; nothing after it is read.
   */
  failure: JsonSplitError | JsonValueTooLargeError | undefined;

  /** Adds text; returns the values it completed, in order (then check `failure`). */
  push(text: string): string[] {
    const out: string[] = [];
    if (this.failure !== undefined) return out;
    try {
      this.scan(text, out);
    } catch (err) {
      if (!(err instanceof JsonSplitError) && !(err instanceof JsonValueTooLargeError)) throw err;
      this.failure = err;
      this.buf = '';
      this.start = -1;
    }
    return out;
  }

  private scan(text: string, out: string[]): void {
    this.buf = this.buf.length === 0 ? text : this.buf + text;
    const buf = this.buf;
    let i = this.pos;
    for (; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) {
          this.inString = false;
          if (this.stack.length === 0) out.push(this.finish(i + 1));
        }
        continue;
      }
      if (this.inScalar) {
        if (isScalar(c)) continue;
        this.inScalar = false;
        if (this.stack.length === 0) out.push(this.finish(i));
      }
      if (isSpace(c)) continue;
      if (this.start < 0) this.start = i;
      this.step(c, i);
      // A container just closed at the top level (a string or scalar ends above, when it ends).
      if (this.stack.length === 0 && this.expect === Expect.CommaOrEnd && !this.inString && !this.inScalar) {
        out.push(this.finish(i + 1));
      }
    }
    this.pos = i;
    // Drop what was consumed, so the buffer holds at most one unfinished value.
    const keep = this.start < 0 ? buf.length : this.start;
    if (keep > 0) {
      this.buf = buf.slice(keep);
      this.pos -= keep;
      if (this.start >= 0) this.start -= keep;
    }
    if (this.pending > this.maxValueChars) throw new JsonValueTooLargeError(this.pending);
  }

  /**
   * The end of the stream: a value still open is returned as it is (a scalar ends here; anything
   * else is incomplete and fails in the parser with the right message), or undefined.
   */
  end(): string | undefined {
    if (this.start < 0 || this.failure !== undefined) return undefined;
    const text = this.buf.slice(this.start);
    this.buf = '';
    this.start = -1;
    this.pos = 0;
    return text;
  }

  private finish(end: number): string {
    const v = this.buf.slice(this.start, end);
    this.start = -1;
    this.expect = Expect.Value;
    return v;
  }

  private fail(i: number): never {
    throw new JsonSplitError(this.buf.slice(this.start < 0 ? i : this.start, i + 1));
  }

  /** One structural character (not whitespace, not inside a string or scalar). */
  private step(c: number, i: number): void {
    switch (this.expect) {
      case Expect.KeyOrEnd:
      case Expect.Key:
        if (c === 0x22) {
          this.inString = true;
          this.expect = Expect.Colon;
        } else if (c === 0x7d && this.expect === Expect.KeyOrEnd) this.close(true, i);
        else this.fail(i);
        return;
      case Expect.Colon:
        if (c !== 0x3a) this.fail(i);
        this.expect = Expect.Value;
        return;
      case Expect.CommaOrEnd: {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) this.fail(i);
        if (c === 0x2c) this.expect = top ? Expect.Key : Expect.Value;
        else if (c === 0x7d || c === 0x5d) this.close(c === 0x7d, i);
        else this.fail(i);
        return;
      }
      case Expect.ValueOrEnd:
        if (c === 0x5d) {
          this.close(false, i);
          return;
        }
        this.value(c, i);
        return;
      case Expect.Value:
        this.value(c, i);
        return;
    }
  }

  private value(c: number, i: number): void {
    if (c === 0x7b) {
      this.stack.push(true);
      this.expect = Expect.KeyOrEnd;
    } else if (c === 0x5b) {
      this.stack.push(false);
      this.expect = Expect.ValueOrEnd;
    } else if (c === 0x22) {
      this.inString = true;
      this.expect = Expect.CommaOrEnd;
    } else if (isScalar(c)) {
      this.inScalar = true;
      this.expect = Expect.CommaOrEnd;
    } else {
      this.fail(i);
    }
    if (this.stack.length > 100) this.fail(i); // deeper than any request; parseJsonBody's limit
  }

  private close(object: boolean, i: number): void {
    if (this.stack.pop() !== object) this.fail(i);
    this.expect = Expect.CommaOrEnd;
  }
}

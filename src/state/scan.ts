// A JSON document read chunk by chunk, for documents too large to hold as text or objects (state
// files of hundreds of megabytes). The scanner checks the whole syntax (RFC 8259, as strict as
// JSON.parse) and the UTF-8 encoding as the bytes go by, and keeps only what its user asks for:
// the parsed values of chosen top-level members, and each element of one top-level array, handed
// over as raw bytes one at a time. Everything else is checked and forgotten.
import buffer from 'node:buffer';
import { InvalidError } from '../errors.js';

export interface ScanOptions {
  /** Top-level members whose values are parsed and kept in `values`. */
  keep?: ReadonlySet<string>;
  /** The top-level member whose array elements go to `onElement`, each as its raw JSON text. */
  elementsOf?: string;
  onElement?: (raw: Buffer, index: number) => void;
  /**
   * Instead of onElement: each element's raw bytes handed over piece by piece as they go by, so
   * that no element, however large, is held whole.
   */
  streamElements?: { begin(index: number): void; data(piece: Buffer): void; end(index: number): void };
  /**
   * The top-level member whose object members go to `onMember`, each value as its raw JSON text,
   * or null when it is longer than `maxMemberBytes` (then it is checked but never held). Kept
   * members longer than `maxMemberBytes` are let go too, and read as absent.
   */
  membersOf?: string;
  onMember?: (name: string, raw: Buffer | null, size: number) => void;
  maxMemberBytes?: number;
  /** JSON pointer for errors about a document that came inside a request document. */
  pointer?: string;
}

/** Where a top-level member's value lies in the document, as byte offsets (end exclusive). */
export interface MemberSpan {
  start: number;
  end: number;
  /** The value's first byte: `{`, `[`, `"`, `n` (null), ... */
  first: number;
}

const MAX_DEPTH = 1000;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const LITERALS: Record<number, string> = { 0x74: 'true', 0x66: 'false', 0x6e: 'null' };

const enum Mode {
  /** A value is due (after ":" or "," in an array, or at the start). */
  Value,
  /** Just after "[": a value or "]". */
  FirstValue,
  /** After "," in an object: a member name. */
  Key,
  /** Just after "{": a member name or "}". */
  FirstKey,
  Colon,
  /** After a value: ",", a closing bracket, or the end of the document. */
  After,
  String,
  Number,
  Literal,
  /** The root value is complete: only whitespace may follow. */
  Done,
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Checks UTF-8 chunk by chunk; a character split between chunks is checked once whole. */
class Utf8Check {
  /** The start of a character whose remaining bytes are in the next chunk. */
  private carried: Buffer = Buffer.alloc(0);

  /** Whether the bytes so far are valid (a character may still be incomplete). */
  write(chunk: Buffer): boolean {
    let rest = chunk;
    if (this.carried.length > 0) {
      const joined = Buffer.concat([this.carried, chunk.subarray(0, 3)]);
      const length = sequenceLength(joined[0]);
      if (joined.length < length) {
        this.carried = joined;
        return true;
      }
      if (!buffer.isUtf8(joined.subarray(0, length))) return false;
      rest = chunk.subarray(length - this.carried.length);
      this.carried = Buffer.alloc(0);
    }
    const cut = incompleteTail(rest);
    this.carried = Buffer.from(rest.subarray(cut));
    return buffer.isUtf8(rest.subarray(0, cut));
  }

  /** Whether the text ended without half a character. */
  end(): boolean {
    return this.carried.length === 0;
  }
}

function sequenceLength(lead: number): number {
  return lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
}

/** Where an incomplete multi-byte character at the end of the bytes starts (their length if none). */
function incompleteTail(bytes: Buffer): number {
  for (let i = bytes.length - 1; i >= Math.max(0, bytes.length - 3); i--) {
    const c = bytes[i];
    if (c < 0x80) return bytes.length;
    if (c >= 0xc0) return bytes.length - i < sequenceLength(c) ? i : bytes.length;
  }
  return bytes.length;
}

/** Raw bytes of one value (or member name) being collected, possibly over several chunks. */
interface Capture {
  kind: 'name' | 'member' | 'element' | 'submember' | 'stream';
  /** Where it starts in the current chunk. */
  start: number;
  /** Its bytes in earlier chunks. */
  parts: Buffer[];
  /** Bytes in parts, and whether they were let go because there were too many. */
  size: number;
  dropped: boolean;
}

export class JsonScan {
  /** Parsed values of the kept top-level members. */
  readonly values = new Map<string, unknown>();
  /** Where every top-level member's value lies. */
  readonly members = new Map<string, MemberSpan>();

  /** How many elements the `elementsOf` array has had so far. */
  get elementCount(): number {
    return this.elementIndex;
  }

  private mode = Mode.Value;
  /** The open containers: `{` or `[` (as byte values). */
  private readonly stack: number[] = [];
  private rootIsObject = false;
  /** The top-level member being read. */
  private member: string | null = null;
  private memberStart = 0;
  private memberFirst = 0;
  /** Whether the elements of the open array go to onElement. */
  private inElements = false;
  private elementIndex = 0;
  /** Whether the members of the open object go to onMember, and the name of the one being read. */
  private inMembers = false;
  private subMember: string | null = null;
  private capture: Capture | null = null;
  private stringIsName = false;
  private escaped = false;
  private hexLeft = 0;
  private number = '';
  private literal = '';
  private literalMatched = 0;
  /** Offset of the current chunk in the document. */
  private offset = 0;
  private readonly utf8 = new Utf8Check();

  constructor(
    private readonly what: string,
    private readonly options: ScanOptions = {},
  ) {}

  write(chunk: Buffer): void {
    if (!this.utf8.write(chunk)) throw this.invalid(`${this.what} is not valid UTF-8 text`);
    let i = 0;
    while (i < chunk.length) {
      if (this.mode === Mode.String) i = this.string(chunk, i);
      else if (this.mode === Mode.Number) i = this.numberBytes(chunk, i);
      else if (this.mode === Mode.Literal) i = this.literalBytes(chunk, i);
      else i = this.structure(chunk, i);
    }
    if (this.capture) {
      const piece = chunk.subarray(this.capture.start);
      this.capture.size += piece.length;
      this.capture.start = 0;
      const bounded = this.capture.kind === 'submember' || this.capture.kind === 'member';
      if (bounded && this.capture.size > (this.options.maxMemberBytes ?? Infinity)) {
        this.capture.dropped = true;
        this.capture.parts = [];
      }
      if (this.capture.kind === 'stream') this.options.streamElements!.data(piece);
      else if (!this.capture.dropped) this.capture.parts.push(piece);
    }
    this.offset += chunk.length;
  }

  /** Checks that the document is complete and is one JSON object. */
  end(): void {
    if (!this.utf8.end()) throw this.invalid(`${this.what} is not valid UTF-8 text`);
    if (this.mode === Mode.Number && this.stack.length === 0) this.endNumber(Buffer.alloc(0), 0);
    if (this.mode !== Mode.Done) {
      throw this.invalid(`${this.what} is not valid JSON: ${this.offset === 0 ? 'it is empty' : `it ends unexpectedly after ${this.offset} bytes`}`);
    }
    if (!this.rootIsObject) throw this.invalid(`${this.what} must be a JSON object`);
  }

  private invalid(detail: string): InvalidError {
    return new InvalidError(detail, { pointer: this.options.pointer });
  }

  private syntax(expected: string, chunk: Buffer, i: number): InvalidError {
    const c = chunk[i];
    const seen = c >= 0x20 && c < 0x7f ? `"${String.fromCharCode(c)}"` : `byte 0x${c.toString(16).padStart(2, '0')}`;
    return this.invalid(`${this.what} is not valid JSON: expected ${expected} at byte ${this.offset + i}, found ${seen}`);
  }

  /** One structural byte (or whitespace); returns where to go on. */
  private structure(chunk: Buffer, i: number): number {
    const c = chunk[i];
    if (isWhitespace(c)) return i + 1;
    switch (this.mode) {
      case Mode.FirstValue:
        if (c === 0x5d) return this.close(chunk, i);
        return this.beginValue(chunk, i);
      case Mode.Value:
        return this.beginValue(chunk, i);
      case Mode.FirstKey:
        if (c === 0x7d) return this.close(chunk, i);
        return this.beginName(chunk, i);
      case Mode.Key:
        return this.beginName(chunk, i);
      case Mode.Colon:
        if (c !== 0x3a) throw this.syntax('":"', chunk, i);
        this.mode = Mode.Value;
        return i + 1;
      case Mode.After: {
        const open = this.stack[this.stack.length - 1];
        if (c === 0x2c) {
          this.mode = open === 0x7b ? Mode.Key : Mode.Value;
          return i + 1;
        }
        if ((c === 0x7d && open === 0x7b) || (c === 0x5d && open === 0x5b)) return this.close(chunk, i);
        throw this.syntax(open === 0x7b ? '"," or "}"' : '"," or "]"', chunk, i);
      }
      default:
        throw this.syntax('the end of the document', chunk, i);
    }
  }

  private beginName(chunk: Buffer, i: number): number {
    if (chunk[i] !== QUOTE) throw this.syntax('a member name in double quotes', chunk, i);
    this.stringIsName = true;
    if (this.stack.length === 1 || (this.stack.length === 2 && this.inMembers)) this.capture = { kind: 'name', start: i, parts: [], size: 0, dropped: false };
    this.mode = Mode.String;
    return i + 1;
  }

  private beginValue(chunk: Buffer, i: number): number {
    const c = chunk[i];
    const depth = this.stack.length;
    if (depth === 0) this.rootIsObject = c === 0x7b;
    else if (depth === 1 && this.rootIsObject) {
      this.memberStart = this.offset + i;
      this.memberFirst = c;
      if (this.member !== null && this.options.keep?.has(this.member)) this.capture = { kind: 'member', start: i, parts: [], size: 0, dropped: false };
    } else if (depth === 2 && this.inElements && this.options.streamElements) {
      this.capture = { kind: 'stream', start: i, parts: [], size: 0, dropped: false };
      this.options.streamElements.begin(this.elementIndex);
    } else if (depth === 2 && this.inElements && this.options.onElement) {
      this.capture = { kind: 'element', start: i, parts: [], size: 0, dropped: false };
    } else if (depth === 2 && this.inMembers) {
      this.capture = { kind: 'submember', start: i, parts: [], size: 0, dropped: false };
    }
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) throw this.invalid(`${this.what} is nested more than ${MAX_DEPTH} levels deep`);
      if (depth === 1 && c === 0x5b && this.rootIsObject && this.member !== null && this.member === this.options.elementsOf) {
        this.inElements = true;
      }
      if (depth === 1 && c === 0x7b && this.rootIsObject && this.member !== null && this.member === this.options.membersOf) {
        this.inMembers = true;
      }
      this.stack.push(c);
      this.mode = c === 0x7b ? Mode.FirstKey : Mode.FirstValue;
      return i + 1;
    }
    if (c === QUOTE) {
      this.stringIsName = false;
      this.mode = Mode.String;
      return i + 1;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number = '';
      this.mode = Mode.Number;
      return i;
    }
    const literal = LITERALS[c];
    if (literal === undefined) throw this.syntax('a value', chunk, i);
    this.literal = literal;
    this.literalMatched = 0;
    this.mode = Mode.Literal;
    return i;
  }

  /** Bytes inside a string, up to and including its closing quote. */
  private string(chunk: Buffer, i: number): number {
    for (; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.hexLeft > 0) {
        if (!isHexDigit(c)) throw this.syntax('a hexadecimal digit of a \\u escape', chunk, i);
        this.hexLeft--;
      } else if (this.escaped) {
        this.escaped = false;
        if (c === 0x75) this.hexLeft = 4;
        else if (!(c === QUOTE || c === BACKSLASH || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74)) {
          throw this.syntax('an escape character (one of " \\ / b f n r t u)', chunk, i);
        }
      } else if (c === BACKSLASH) this.escaped = true;
      else if (c === QUOTE) {
        if (this.stringIsName) this.endName(chunk, i + 1);
        else this.endValue(chunk, i + 1);
        return i + 1;
      } else if (c < 0x20) throw this.syntax('an escaped control character in a string', chunk, i);
    }
    return i;
  }

  private endName(chunk: Buffer, end: number): void {
    this.mode = Mode.Colon;
    if (this.capture?.kind !== 'name') return;
    const name = JSON.parse(this.captured(chunk, end)!.toString('utf8')) as string;
    if (this.stack.length === 1) this.member = name;
    else this.subMember = name;
  }

  private numberBytes(chunk: Buffer, i: number): number {
    const from = i;
    while (i < chunk.length && isNumberByte(chunk[i])) i++;
    this.number += chunk.toString('latin1', from, i);
    if (i < chunk.length) this.endNumber(chunk, i);
    return i;
  }

  private endNumber(chunk: Buffer, end: number): void {
    if (!NUMBER.test(this.number)) {
      throw this.invalid(`${this.what} is not valid JSON: "${this.number.slice(0, 40)}" at byte ${this.offset + end - this.number.length} is not a number`);
    }
    this.endValue(chunk, end);
  }

  private literalBytes(chunk: Buffer, i: number): number {
    for (; i < chunk.length && this.literalMatched < this.literal.length; i++, this.literalMatched++) {
      if (chunk[i] !== this.literal.charCodeAt(this.literalMatched)) throw this.syntax(`"${this.literal}"`, chunk, i);
    }
    if (this.literalMatched === this.literal.length) this.endValue(chunk, i);
    return i;
  }

  private close(chunk: Buffer, i: number): number {
    this.stack.pop();
    this.endValue(chunk, i + 1);
    return i + 1;
  }

  /** A value ended just before chunk[end]. */
  private endValue(chunk: Buffer, end: number): void {
    const depth = this.stack.length;
    this.mode = depth === 0 ? Mode.Done : Mode.After;
    if (depth === 1 && this.rootIsObject && this.member !== null) {
      this.members.set(this.member, { start: this.memberStart, end: this.offset + end, first: this.memberFirst });
      if (this.capture?.kind === 'member') {
        // a kept member longer than maxMemberBytes was let go: it reads as absent
        const raw = this.captured(chunk, end);
        if (raw !== null && raw.length <= (this.options.maxMemberBytes ?? Infinity)) this.values.set(this.member, JSON.parse(raw.toString('utf8')));
      }
      this.inElements = false;
      this.inMembers = false;
    } else if (depth === 2 && this.capture?.kind === 'element') {
      this.options.onElement?.(this.captured(chunk, end)!, this.elementIndex++);
    } else if (depth === 2 && this.capture?.kind === 'stream') {
      const start = this.capture.start;
      this.capture = null;
      this.options.streamElements!.data(chunk.subarray(start, end));
      this.options.streamElements!.end(this.elementIndex++);
    } else if (depth === 2 && this.inElements) {
      this.elementIndex++;
    } else if (depth === 2 && this.capture?.kind === 'submember' && this.subMember !== null) {
      const size = this.capture.size + (end - this.capture.start);
      const raw = this.captured(chunk, end);
      this.options.onMember?.(this.subMember, raw !== null && raw.length <= (this.options.maxMemberBytes ?? Infinity) ? raw : null, size);
    }
  }

  /** The bytes of the capture that ends just before chunk[end] (null if let go); the capture is over. */
  private captured(chunk: Buffer, end: number): Buffer | null {
    const capture = this.capture!;
    this.capture = null;
    if (capture.dropped) return null;
    const last = chunk.subarray(capture.start, end);
    return capture.parts.length === 0 ? last : Buffer.concat([...capture.parts, last]);
  }
}

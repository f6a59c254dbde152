import { isUtf8 } from "node:buffer";
import type { FieldWireTypes } from "./field-wire-types.js";
import { ProtoDecodeError } from "./decode-error.js";

/** Protobuf wire types. */
export const WireType = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;

const TWO_POW_32 = 4_294_967_296;

/** The last string {@link ProtoReader.repeatedString} decoded for one field, and where from. */
export interface StringMemo {
  /** Buffer the string was read from. */
  buf: Uint8Array | undefined;
  /** Start of its bytes. */
  start: number;
  /** End of its bytes. */
  end: number;
  /** The string. */
  value: string;
}

/** A memo that has seen nothing yet. */
export function emptyStringMemo(): StringMemo {
  return { buf: undefined, start: 0, end: 0, value: "" };
}

/**
 * The protobuf binary reader of every hand-written decoder: the server's submit and stream
 * requests, the worker SDK's assignments and acks, the TypeScript client's submit results. It reads one buffer front to back; strings are decoded as UTF-8 and bytes
 * fields are views of the buffer (not copies). Malformed input throws, and so does a string
 * that is not valid UTF-8 (as protobuf requires of string fields; replacing the bad bytes
 * would make different strings equal).
 */
export class ProtoReader {
  /** Read position. */
  pos: number;
  /** End of the readable range (exclusive). */
  readonly end: number;
  private readonly buf: Buffer;
  private view: DataView | undefined;

  /** Reads `bytes` from `start` to `end` (default: all of it). */
  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
    this.end = end;
  }

  /** True while bytes are left. */
  get more(): boolean {
    return this.pos < this.end;
  }

  /** Reads a field tag; returns `fieldNumber << 3 | wireType` as one number. Field number 0 is refused. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) throw new ProtoDecodeError(`protobuf: illegal tag ${tag} (field number 0)`);
    return tag;
  }

  /** Reads a varint as an unsigned 32-bit number (higher bits are dropped, as for int32). */
  uint32(): number {
    const buf = this.buf;
    let pos = this.pos;
    let byte = buf[pos++];
    let value = byte & 0x7f;
    if (byte >= 0x80) {
      byte = buf[pos++];
      value |= (byte & 0x7f) << 7;
      if (byte >= 0x80) {
        byte = buf[pos++];
        value |= (byte & 0x7f) << 14;
        if (byte >= 0x80) {
          byte = buf[pos++];
          value |= (byte & 0x7f) << 21;
          if (byte >= 0x80) {
            byte = buf[pos++];
            value |= byte << 28;
            // Bytes 6-10 of a 64-bit varint only carry bits above 32; an 11th is malformed.
            const limit = this.pos + 10;
            while (byte >= 0x80) {
              if (pos >= limit) throw new ProtoDecodeError("protobuf: malformed varint");
              byte = buf[pos++];
            }
          }
        }
      }
    }
    if (pos > this.end) throw new ProtoDecodeError("protobuf: varint runs past the end");
    this.pos = pos;
    return value >>> 0;
  }

  /** Reads an int32 or enum varint (negative values are 10-byte varints). */
  int32(): number {
    return this.uint32() | 0;
  }

  /** Reads an int64 varint as a number (exact within ±2^53). */
  int64(): number {
    const buf = this.buf;
    let low = 0;
    let high = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = buf[this.pos++];
      if (shift < 28) low |= (byte & 0x7f) << shift;
      else if (shift === 28) {
        low |= (byte & 0x0f) << 28;
        high |= (byte & 0x7f) >> 4;
      } else high |= (byte & 0x7f) << (shift - 32);
      shift += 7;
    } while (byte >= 0x80 && shift < 70);
    if (this.pos > this.end || byte >= 0x80) throw new ProtoDecodeError("protobuf: malformed varint");
    return (high | 0) * TWO_POW_32 + (low >>> 0);
  }

  /** Reads an int64 varint exactly, as a bigint. */
  int64Big(): bigint {
    const start = this.pos;
    this.int64();
    let value = 0n;
    for (let i = this.pos - 1; i >= start; i--) value = (value << 7n) | BigInt(this.buf[i]! & 0x7f);
    return BigInt.asIntN(64, value);
  }

  /** Reads a bool varint. */
  bool(): boolean {
    return this.uint32() !== 0;
  }

  /** Reads a little-endian double. */
  double(): number {
    this.need(8);
    this.view ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    const value = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return value;
  }

  /** Reads a length prefix and returns the end position of the value it announces. */
  delimitedEnd(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.end) throw new ProtoDecodeError("protobuf: length runs past the end");
    return end;
  }

  /** Reads a length-delimited UTF-8 string. */
  string(): string {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    return start === end ? "" : this.utf8(start, end);
  }

  /**
   * Reads a length-delimited UTF-8 string that often repeats the one `memo` last saw in this
   * buffer (a queue or type name of consecutive tasks): equal bytes reuse the string.
   */
  repeatedString(memo: StringMemo): string {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    const length = end - start;
    if (memo.end - memo.start === length && memo.buf === this.buf) {
      const buf = this.buf;
      let at = 0;
      while (at < length && buf[start + at] === buf[memo.start + at]) at++;
      if (at === length) return memo.value;
    }
    const value = length === 0 ? "" : this.utf8(start, end);
    memo.buf = this.buf;
    memo.start = start;
    memo.end = end;
    memo.value = value;
    return value;
  }

  /** Reads a length-delimited bytes field as a (plain Uint8Array) view of the buffer. */
  bytes(): Uint8Array {
    const end = this.delimitedEnd();
    const start = this.pos;
    this.pos = end;
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start);
  }

  /**
   * Skips a field the decoder does not read, given its whole `tag`. A field that `fields`
   * (see `fieldWireTypes`) names with other wire types is refused rather than skipped.
   */
  skipField(tag: number, fields: FieldWireTypes): void {
    const allowed = fields.get(tag >>> 3);
    if (allowed !== undefined && (allowed & (1 << (tag & 7))) === 0) {
      throw new ProtoDecodeError(`protobuf: field ${tag >>> 3} arrived with wire type ${tag & 7}, not its own`);
    }
    this.skip(tag & 7);
  }

  /** Skips the value of a field of wire type `wireType`. */
  skip(wireType: number): void {
    switch (wireType) {
      case WireType.varint:
        while (this.buf[this.pos++] >= 0x80) {
          if (this.pos >= this.end) throw new ProtoDecodeError("protobuf: varint runs past the end");
        }
        break;
      case WireType.fixed64:
        this.need(8);
        this.pos += 8;
        break;
      case WireType.lengthDelimited:
        this.pos = this.delimitedEnd();
        break;
      case WireType.fixed32:
        this.need(4);
        this.pos += 4;
        break;
      case WireType.startGroup:
        // proto2 groups: none in this API, and protobuf-es reads them by its own rules.
        throw new ProtoDecodeError("protobuf: groups are not supported");
      default:
        throw new ProtoDecodeError(`protobuf: unknown wire type ${wireType}`);
    }
    if (this.pos > this.end) throw new ProtoDecodeError("protobuf: field runs past the end");
  }

  /** The UTF-8 text of bytes `start` to `end`; throws when they are not valid UTF-8. */
  private utf8(start: number, end: number): string {
    const value = this.buf.toString("utf8", start, end);
    // Invalid bytes decode to U+FFFD: only then is the (rarer) validation needed.
    if (value.includes("\uFFFD") && !isUtf8(this.buf.subarray(start, end))) {
      throw new ProtoDecodeError("protobuf: a string field is not valid UTF-8");
    }
    return value;
  }

  private need(bytes: number): void {
    if (this.pos + bytes > this.end) throw new ProtoDecodeError("protobuf: field runs past the end");
  }
}

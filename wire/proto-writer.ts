import { WireType } from "./proto-reader.js";

const FLOAT_BYTES = Buffer.alloc(4);

/**
 * The protobuf binary writer of every hand-written encoder: the server's hot responses, the
 * worker SDK's requests and the TypeScript client's batch submits. Writes go into one growing
 * buffer; a nested message reserves a single length byte and its body is moved when it turns
 * out to be 128 bytes or longer.
 *
 * Three kinds of methods: values (`varint`, `string`, ...) written after a {@link tag};
 * `…Field` methods that write tag and value even when the value is its default (a oneof
 * member, or where the caller has decided); and `…IfSet` methods that skip proto3 default
 * values as the reflective encoder does, so both produce the same bytes.
 */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  /** Creates a writer with room for `initialBytes`. */
  constructor(initialBytes = 128) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** The bytes written, copied into a buffer of their own. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.pos);
    out.set(this.buf.subarray(0, this.pos));
    return out;
  }

  /** Number of bytes written so far (the offset the next write goes to). */
  get length(): number {
    return this.pos;
  }

  /** Writes a field tag. */
  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  /** Writes an unsigned varint (0 to 2^32 - 1). */
  varint(value: number): this {
    this.ensure(5);
    const buf = this.buf;
    while (value > 0x7f) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[this.pos++] = value;
    return this;
  }

  /** Writes an int32 value (negative values as 10-byte varints, as protobuf requires). */
  int32(value: number): this {
    if (value >= 0) return this.varint(value);
    this.ensure(10);
    let low = value >>> 0;
    for (let i = 0; i < 4; i++) {
      this.buf[this.pos++] = (low & 0x7f) | 0x80;
      low >>>= 7;
    }
    // Bits 28-31 of the value, then sign-extension ones up to bit 63.
    this.buf[this.pos++] = (low & 0x0f) | 0xf0;
    for (let i = 0; i < 4; i++) this.buf[this.pos++] = 0xff;
    this.buf[this.pos++] = 0x01;
    return this;
  }

  /**
   * Writes an int64 value given as a number (exact within ±2^53; negative values as 10-byte
   * varints, as protobuf requires).
   */
  int64(value: number): this {
    if (value >= 0 && value <= 0xffffffff) return this.varint(value);
    this.ensure(10);
    // Two's complement halves: ToUint32 keeps the low 32 bits, also of negative numbers.
    let low = value >>> 0;
    let high = Math.floor(value / 4_294_967_296) >>> 0;
    const buf = this.buf;
    while (high > 0 || low > 0x7f) {
      buf[this.pos++] = (low & 0x7f) | 0x80;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low;
    return this;
  }

  /** Writes a length-delimited UTF-8 string value (after its tag). */
  string(value: string): this {
    const maxBytes = value.length * 3;
    if (maxBytes < 128) {
      this.ensure(1 + maxBytes);
      const written = maxBytes === 0 ? 0 : this.buf.write(value, this.pos + 1, "utf8");
      this.buf[this.pos] = written;
      this.pos += 1 + written;
      return this;
    }
    const bytes = Buffer.byteLength(value, "utf8");
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, "utf8");
    return this;
  }

  /** Writes a length-delimited bytes value (after its tag). */
  bytes(value: Uint8Array): this {
    this.varint(value.length);
    return this.raw(value);
  }

  /** Writes bytes as they are. */
  raw(value: Uint8Array): this {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** Writes a little-endian double value (after its tag). */
  double(value: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }

  /** Writes a little-endian float value (after its tag). */
  float(value: number): this {
    FLOAT_BYTES.writeFloatLE(value, 0);
    return this.raw(FLOAT_BYTES);
  }

  /** Writes a string field, even when empty. */
  stringField(field: number, value: string): this {
    return this.tag(field, WireType.lengthDelimited).string(value);
  }

  /** Writes a bytes field, even when empty (a oneof member). */
  bytesField(field: number, value: Uint8Array): this {
    return this.tag(field, WireType.lengthDelimited).bytes(value);
  }

  /** Writes an int32 or enum field, even when 0 (a oneof member). */
  int32Field(field: number, value: number): this {
    return this.tag(field, WireType.varint).int32(value);
  }

  /** Writes a bool field, even when false (a oneof member). */
  boolField(field: number, value: boolean): this {
    return this.tag(field, WireType.varint).varint(value ? 1 : 0);
  }

  /** Writes a string field unless empty. */
  stringIfSet(field: number, value: string): this {
    return value.length === 0 ? this : this.stringField(field, value);
  }

  /** Writes a bytes field unless empty. */
  bytesIfSet(field: number, value: Uint8Array): this {
    return value.length === 0 ? this : this.bytesField(field, value);
  }

  /** Writes an int32 or enum field unless 0. */
  int32IfSet(field: number, value: number): this {
    return value === 0 ? this : this.int32Field(field, value);
  }

  /** Writes an int64 field holding a safe integer unless 0. */
  int64IfSet(field: number, value: number): this {
    return value === 0 ? this : this.tag(field, WireType.varint).int64(value);
  }

  /** Writes a bool field unless false. */
  boolIfSet(field: number, value: boolean): this {
    return value ? this.boolField(field, value) : this;
  }

  /** Writes a double field unless 0. */
  doubleIfSet(field: number, value: number): this {
    return value === 0 ? this : this.tag(field, WireType.fixed64).double(value);
  }

  /** Writes a float field unless 0. */
  floatIfSet(field: number, value: number): this {
    return value === 0 ? this : this.tag(field, WireType.fixed32).float(value);
  }

  /**
   * Starts a length-delimited nested value; returns a mark for {@link ProtoWriter.join},
   * which writes its length once the body is written.
   */
  fork(field: number): number {
    this.tag(field, WireType.lengthDelimited);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the nested value started at `mark`, writing its length before it. */
  join(mark: number): this {
    const length = this.pos - mark - 1;
    if (length < 0x80) {
      this.buf[mark] = length;
      return this;
    }
    let prefix = 1;
    while (length >>> (7 * prefix) > 0) prefix++;
    this.ensure(prefix - 1);
    this.buf.copy(this.buf, mark + prefix, mark + 1, this.pos);
    this.pos += prefix - 1;
    let value = length;
    let at = mark;
    while (value > 0x7f) {
      this.buf[at++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buf[at] = value;
    return this;
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

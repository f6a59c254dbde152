/** Protobuf wire types used by the hand-written encoders. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/**
 * A minimal protobuf binary writer for the hot messages: fields are written in one pass
 * into a growing buffer, nested messages by reserving one length byte and moving the body
 * when it turns out longer than 127 bytes. Field helpers skip proto3 default values, like
 * the reflective encoder does, so both produce the same bytes.
 */
export class ProtoWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes = 256) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  /** The bytes written so far (a view of the writer's buffer; the writer must not be reused). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** A string field (skipped when empty). */
  string(field: number, value: string): this {
    if (value.length === 0) return this;
    this.tag(field, LENGTH_DELIMITED);
    const maxBytes = value.length * 3;
    if (maxBytes < 128) {
      this.ensure(1 + maxBytes);
      const written = this.buf.write(value, this.pos + 1, "utf8");
      this.buf[this.pos] = written;
      this.pos += 1 + written;
      return this;
    }
    const bytes = Buffer.byteLength(value, "utf8");
    this.rawVarint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, "utf8");
    return this;
  }

  /** A bytes field (skipped when empty). */
  bytes(field: number, value: Uint8Array): this {
    if (value.length === 0) return this;
    this.tag(field, LENGTH_DELIMITED);
    this.rawVarint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
    return this;
  }

  /** A bytes field written even when empty (a oneof member). */
  bytesAlways(field: number, value: Uint8Array): this {
    if (value.length > 0) return this.bytes(field, value);
    this.tag(field, LENGTH_DELIMITED);
    this.ensure(1);
    this.buf[this.pos++] = 0;
    return this;
  }

  /** An int32 or enum field (skipped when 0). */
  int32(field: number, value: number): this {
    if (value === 0) return this;
    return this.int32Always(field, value);
  }

  /** An int32 or enum field written even when 0 (a oneof member). */
  int32Always(field: number, value: number): this {
    this.tag(field, VARINT);
    if (value >= 0) this.rawVarint(value);
    else this.negativeVarint(value);
    return this;
  }

  /** An int64 field holding a safe integer (skipped when 0). */
  int64(field: number, value: number): this {
    return this.int32(field, value);
  }

  /** A bool field (skipped when false). */
  bool(field: number, value: boolean): this {
    if (!value) return this;
    return this.boolAlways(field, value);
  }

  /** A bool field written even when false (a oneof member). */
  boolAlways(field: number, value: boolean): this {
    this.tag(field, VARINT);
    this.ensure(1);
    this.buf[this.pos++] = value ? 1 : 0;
    return this;
  }

  /** A double field (skipped when 0). */
  double(field: number, value: number): this {
    return value === 0 ? this : this.doubleAlways(field, value);
  }

  /** A double field written even when 0 (a oneof member). */
  doubleAlways(field: number, value: number): this {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }

  /** A float field (skipped when 0). */
  float(field: number, value: number): this {
    if (value === 0) return this;
    this.tag(field, FIXED32);
    this.ensure(4);
    this.buf.writeFloatLE(value, this.pos);
    this.pos += 4;
    return this;
  }

  /** Starts a nested message in `field`; pass the returned mark to {@link end}. */
  begin(field: number): number {
    this.tag(field, LENGTH_DELIMITED);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the nested message started at `mark`, writing its length. */
  end(mark: number): this {
    const length = this.pos - mark - 1;
    if (length < 128) {
      this.buf[mark] = length;
      return this;
    }
    const lengthBytes = varintSize(length);
    this.ensure(lengthBytes - 1);
    this.buf.copyWithin(mark + lengthBytes, mark + 1, this.pos);
    this.pos += lengthBytes - 1;
    const end = this.pos;
    this.pos = mark;
    this.rawVarint(length);
    this.pos = end;
    return this;
  }

  private tag(field: number, wireType: number): void {
    this.rawVarint((field << 3) | wireType);
  }

  private rawVarint(value: number): void {
    this.ensure(10);
    while (value > 127) {
      this.buf[this.pos++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    this.buf[this.pos++] = value;
  }

  /** Negative int32/int64: ten bytes of two's complement, as protobuf requires. */
  private negativeVarint(value: number): void {
    this.ensure(10);
    let v = BigInt.asUintN(64, BigInt(value));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

function varintSize(value: number): number {
  let size = 1;
  while (value > 127) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

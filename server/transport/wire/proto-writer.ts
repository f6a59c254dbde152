import { WireType } from "../../../worker/wire/proto-reader.js";
import { ProtoWriter as WireWriter } from "../../../worker/wire/proto-writer.js";

const FLOAT_BYTES = Buffer.alloc(4);

/**
 * Field-level protobuf writer for the server's hot messages, on top of the worker SDK's wire
 * writer (the same one the SDK and the TypeScript client use). Its field helpers skip proto3
 * default values like the reflective encoder does, so both produce the same bytes; the
 * `…Always` variants write a oneof member even when it holds its default.
 */
export class ProtoWriter {
  /** The wire writer underneath, for encoders shared with the SDK. */
  readonly wire: WireWriter;

  constructor(initialBytes = 256) {
    this.wire = new WireWriter(initialBytes);
  }

  /** The bytes written. */
  finish(): Uint8Array {
    return this.wire.finish();
  }

  /** A string field (skipped when empty). */
  string(field: number, value: string): this {
    if (value.length > 0) this.wire.stringField(field, value);
    return this;
  }

  /** A bytes field (skipped when empty). */
  bytes(field: number, value: Uint8Array): this {
    return value.length === 0 ? this : this.bytesAlways(field, value);
  }

  /** A bytes field written even when empty (a oneof member). */
  bytesAlways(field: number, value: Uint8Array): this {
    this.wire.tag(field, WireType.lengthDelimited).bytes(value);
    return this;
  }

  /** An int32 or enum field (skipped when 0). */
  int32(field: number, value: number): this {
    return value === 0 ? this : this.int32Always(field, value);
  }

  /** An int32 or enum field written even when 0 (a oneof member). */
  int32Always(field: number, value: number): this {
    this.wire.tag(field, WireType.varint).int32(value);
    return this;
  }

  /** An int64 field holding a safe integer (skipped when 0). */
  int64(field: number, value: number): this {
    if (value !== 0) this.wire.tag(field, WireType.varint).int64(value);
    return this;
  }

  /** A bool field (skipped when false). */
  bool(field: number, value: boolean): this {
    return value ? this.boolAlways(field, value) : this;
  }

  /** A bool field written even when false (a oneof member). */
  boolAlways(field: number, value: boolean): this {
    this.wire.tag(field, WireType.varint).varint(value ? 1 : 0);
    return this;
  }

  /** A double field (skipped when 0). */
  double(field: number, value: number): this {
    if (value !== 0) this.wire.tag(field, WireType.fixed64).double(value);
    return this;
  }

  /** A float field (skipped when 0). */
  float(field: number, value: number): this {
    if (value === 0) return this;
    FLOAT_BYTES.writeFloatLE(value, 0);
    this.wire.tag(field, WireType.fixed32).raw(FLOAT_BYTES);
    return this;
  }

  /** Starts a nested message in `field`; pass the returned mark to {@link end}. */
  begin(field: number): number {
    return this.wire.fork(field);
  }

  /** Ends the nested message started at `mark`, writing its length. */
  end(mark: number): this {
    this.wire.join(mark);
    return this;
  }
}

/**
 * The one error the hand-written protobuf decoders throw for bytes they cannot read (a
 * truncated field, a malformed varint, a string that is not UTF-8, a value out of its type's
 * range). Any other error out of a decoder is a bug; the fuzz tests (`test/fuzz/`) check that.
 */
export class ProtoDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProtoDecodeError";
  }
}

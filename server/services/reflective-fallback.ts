import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

/**
 * A binary decoder that tries a hand-written `fast` decoder and, when it throws (input it
 * leaves to reflection, or bytes it cannot read), decodes with protobuf-es instead, which
 * then decides what the bytes mean.
 */
export function withReflectiveFallback<Desc extends DescMessage>(
  schema: Desc,
  fast: (bytes: Uint8Array) => MessageShape<Desc>,
): (bytes: Uint8Array) => MessageShape<Desc> {
  return (bytes) => {
    try {
      return fast(bytes);
    } catch {
      return fromBinary(schema, bytes);
    }
  };
}

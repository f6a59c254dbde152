/**
 * Marks a message object that can write its own protobuf bytes. The grpc-js serializer
 * calls it instead of the reflective `toBinary`; every other path (the Connect gateway,
 * JSON) reads the object's fields like any protobuf-es message.
 */
export const ENCODE_BINARY = Symbol("taskqueue.encodeBinary");

/** A message that writes its own binary form. */
export interface SelfEncoding {
  [ENCODE_BINARY](): Uint8Array;
}

/** True when `message` writes its own binary form. */
export function isSelfEncoding(message: unknown): message is SelfEncoding {
  return typeof message === "object" && message !== null && ENCODE_BINARY in message;
}

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

/**
 * Defines `name` on `target` as an own, enumerable property computed by `build` on first
 * read. protobuf-es tells a set message field by an own property, so a getter on the
 * prototype would read as unset.
 */
export function defineLazyField<T>(target: object, name: string, build: () => T): void {
  let value: T | undefined;
  let built = false;
  Object.defineProperty(target, name, {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!built) {
        value = build();
        built = true;
      }
      return value;
    },
  });
}

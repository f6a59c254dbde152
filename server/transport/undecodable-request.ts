import type { Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Stands in for a request message that could not be decoded. grpc-js answers a throwing
 * deserializer with INTERNAL ("Error deserializing request"), blaming the server; the
 * adapter's deserializers return this instead, and the handler side answers the call with
 * INVALID_ARGUMENT: the client sent bytes that are not the message.
 */
export class UndecodableRequest {
  /** The error the call ends with. */
  readonly error: ConnectError;

  /** @param typeName the request message's full name; @param cause why decoding failed */
  constructor(typeName: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    this.error = new ConnectError(`request: cannot be decoded as ${typeName} (${reason})`, Code.InvalidArgument);
  }
}

/** `decode`, returning an {@link UndecodableRequest} where it would throw. */
export function tolerantDecoder(decode: (bytes: Buffer) => Message, typeName: string): (bytes: Buffer) => Message | UndecodableRequest {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (error) {
      return new UndecodableRequest(typeName, error);
    }
  };
}

/** The request message; throws the INVALID_ARGUMENT error when it could not be decoded. */
export function decodedRequest(request: Message | UndecodableRequest): Message {
  if (request instanceof UndecodableRequest) throw request.error;
  return request;
}

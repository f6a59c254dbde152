/// <reference lib="es2024.string" />
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { Metadata, status as GrpcCode, type StatusObject } from "@grpc/grpc-js";
import { ERROR_ID_KEY, newErrorId } from "./error-id.js";
import { metadataFromHeaders } from "./grpc-metadata.js";

/** The message sent in place of any error that is not a `ConnectError`. */
export const internalErrorMessage = "internal error";

/** Trailer key carrying the binary `google.rpc.Status` with error details. */
const statusDetailsKey = "grpc-status-details-bin";

/** Result of {@link toGrpcStatus}: the status to send and whether the error was expected. */
export interface MappedGrpcStatus {
  /** Status to send to the client. */
  readonly status: StatusObject;
  /**
   * True when the error was not a `ConnectError`: the caller logs it; the client only
   * sees INTERNAL "internal error".
   */
  readonly unexpected: boolean;
  /** For an unexpected error: the id sent to the client (`x-error-id`), to log with the error. */
  readonly errorId?: string;
}

/**
 * Maps an error thrown by a Connect service implementation to a gRPC status.
 *
 * A `ConnectError` keeps its code (Connect `Code` numbers equal gRPC status codes), its
 * raw message (made well-formed: it may quote a client's text, and grpc-js cannot send a
 * lone surrogate), its metadata and its details (as `grpc-status-details-bin`). Any other
 * error becomes INTERNAL "internal error": nothing of it (message, stack) reaches the
 * client. `trailer` holds trailers the handler set on its context; they are sent too.
 */
export function toGrpcStatus(error: unknown, trailer?: Headers): MappedGrpcStatus {
  const metadata = new Metadata();
  if (trailer !== undefined) {
    metadataFromHeaders(trailer, metadata);
  }
  if (!(error instanceof ConnectError)) {
    const errorId = newErrorId();
    metadata.set(ERROR_ID_KEY, errorId);
    return {
      status: { code: GrpcCode.INTERNAL, details: internalErrorMessage, metadata },
      unexpected: true,
      errorId,
    };
  }
  metadataFromHeaders(error.metadata, metadata);
  if (error.details.length > 0) {
    const encoded = setTrailerStatus(new Headers(), error).get(statusDetailsKey);
    if (encoded !== null) {
      metadata.set(statusDetailsKey, Buffer.from(encoded, "base64"));
    }
  }
  return {
    status: { code: toGrpcCode(error.code), details: error.rawMessage.toWellFormed(), metadata },
    unexpected: false,
  };
}

/** Connect codes are the gRPC codes by number; anything out of range becomes UNKNOWN. */
function toGrpcCode(code: Code): GrpcCode {
  return code >= Code.Canceled && code <= Code.Unauthenticated
    ? (code as number as GrpcCode)
    : GrpcCode.UNKNOWN;
}

import { Metadata } from "@grpc/grpc-js";

/** Suffix of gRPC metadata keys whose values are binary (sent base64-encoded). */
const binarySuffix = "-bin";

/**
 * Converts incoming grpc-js metadata to Fetch `Headers`, the form a Connect
 * `HandlerContext` carries. Binary (`-bin`) values become base64, as on the wire;
 * repeated keys are appended.
 */
export function headersFromMetadata(metadata: Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) {
      try {
        headers.append(key, typeof value === "string" ? value : value.toString("base64"));
      } catch {
        // A value Fetch headers refuse (e.g. a control character) is left out.
      }
    }
  }
  return headers;
}

/**
 * Converts Fetch `Headers` set by a handler (response headers or trailers) to grpc-js
 * metadata. Binary (`-bin`) values are decoded from base64. Entries gRPC does not allow
 * as metadata, such as reserved or illegal keys, are left out instead of failing the call.
 */
export function metadataFromHeaders(headers: Headers, into: Metadata = new Metadata()): Metadata {
  headers.forEach((value, key) => {
    if (isReservedKey(key)) {
      return;
    }
    try {
      if (key.endsWith(binarySuffix)) {
        into.add(key, Buffer.from(value, "base64"));
      } else {
        into.add(key, value);
      }
    } catch {
      // Illegal key or value for gRPC metadata: dropped.
    }
  });
  return into;
}

/** Whether a header is owned by the HTTP/2 or gRPC framing and must not be set by hand. */
function isReservedKey(key: string): boolean {
  return (
    key.startsWith(":") ||
    key === "content-type" ||
    key === "te" ||
    key === "grpc-status" ||
    key === "grpc-message" ||
    key === "grpc-encoding" ||
    key === "grpc-accept-encoding" ||
    key === "grpc-timeout"
  );
}

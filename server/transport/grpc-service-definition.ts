import {
  create,
  fromBinary,
  isMessage,
  toBinary,
  type DescMessage,
  type DescMethod,
  type DescService,
  type Message,
  type MessageInitShape,
} from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import type { RequestDecoders } from "./service-registration.js";
import { ENCODE_BINARY, isSelfEncoding } from "./fast-message.js";

/**
 * The gRPC path of a method: `/package.Service/Method`, e.g.
 * `/taskqueue.v1.TaskService/GetTask`.
 */
export function grpcMethodPath(service: DescService, method: DescMethod): string {
  return `/${service.typeName}/${method.name}`;
}

/**
 * The grpc-js definition of one method, built from its protobuf-es descriptor: messages
 * cross the wire with `toBinary` / `fromBinary`. Usable by servers and clients alike.
 * Decoding errors throw; grpc-js turns them into a failed call, never a crash. The
 * serializers also take plain init objects, which grpc-js clients find convenient.
 */
export function grpcMethodDefinition(
  service: DescService,
  method: DescMethod,
  requestDecoder?: (bytes: Uint8Array) => Message,
): MethodDefinition<Message, Message> {
  const streamsRequests = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  const streamsResponses = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return {
    path: grpcMethodPath(service, method),
    requestStream: streamsRequests,
    responseStream: streamsResponses,
    requestSerialize: serializer(method.input),
    requestDeserialize: requestDecoder ?? deserializer(method.input),
    responseSerialize: serializer(method.output),
    responseDeserialize: deserializer(method.output),
    originalName: method.localName,
  };
}

/**
 * The grpc-js `ServiceDefinition` of a protobuf-es service, keyed by the proto method
 * names (`GetTask`); `requestDecoders` replace the reflective decoder of some requests. Pass it to `Server.addService` or `makeGenericClientConstructor`.
 */
export function grpcServiceDefinition(service: DescService, requestDecoders: RequestDecoders = {}): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const method of service.methods) {
    definition[method.name] = grpcMethodDefinition(service, method, requestDecoders[method.localName]);
  }
  return definition;
}

/** Serializes a message, or a plain init object of it (handy for grpc-js clients). */
function serializer(schema: DescMessage): (message: Message) => Buffer {
  return (message) => {
    if (isSelfEncoding(message)) return asBuffer(message[ENCODE_BINARY]());
    const bytes = toBinary(schema, isMessage(message, schema) ? message : create(schema, message as MessageInitShape<DescMessage>));
    return asBuffer(bytes);
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function deserializer(schema: DescMessage): (bytes: Buffer) => Message {
  return (bytes) => fromBinary(schema, bytes);
}

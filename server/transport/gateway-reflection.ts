import type { ServiceImpl } from "@connectrpc/connect";
import { ReflectionV1Implementation } from "@grpc/reflection/build/src/implementations/reflection-v1.js";
import {
  ServerReflection as ServerReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ServerReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { reflectionPackage, type ReflectionOptions } from "./reflection.js";
import { registerService, type ServiceRegistration } from "./service-registration.js";

/** The answer of @grpc/reflection to one request (its proto-loader object shape). */
type LibraryResponse = ReturnType<ReflectionV1Implementation["handleServerReflectionRequest"]>;

/** The response fields of the oneof, in the library's shape and ours. */
const RESPONSE_CASES = ["fileDescriptorResponse", "allExtensionNumbersResponse", "listServicesResponse", "errorResponse"] as const;

/**
 * Server reflection, `grpc.reflection.v1` and `grpc.reflection.v1alpha`, as Connect service
 * implementations, so that the gateway's gRPC (h2c) endpoint answers grpcurl as the grpc-js
 * server does. The answers come from @grpc/reflection's own implementation over the same
 * file descriptors (the buf image, comments included) and service list.
 */
export function gatewayReflectionRegistrations(options: ReflectionOptions): ServiceRegistration[] {
  const reflection = new ReflectionV1Implementation(reflectionPackage(options.files), { services: [...options.services] });
  const impl = {
    async *serverReflectionInfo(requests: AsyncIterable<ServerReflectionRequest>) {
      for await (const request of requests) yield answer(reflection, request);
    },
  };
  // v1alpha's messages are v1's under another package: the same implementation serves both.
  return [
    registerService(ServerReflectionV1, impl as ServiceImpl<typeof ServerReflectionV1>),
    registerService(ServerReflectionV1Alpha, impl as unknown as ServiceImpl<typeof ServerReflectionV1Alpha>),
  ];
}

/** Answers one reflection request. */
function answer(reflection: ReflectionV1Implementation, request: ServerReflectionRequest): Partial<ServerReflectionResponse> {
  const asked = request.messageRequest;
  const libraryRequest: Record<string, unknown> = { host: request.host, messageRequest: asked.case };
  if (asked.case !== undefined) libraryRequest[asked.case] = asked.value;
  const response = reflection.handleServerReflectionRequest(libraryRequest as never) as LibraryResponse & Record<string, unknown>;
  const found = RESPONSE_CASES.find((name) => response[name] !== undefined && response[name] !== null);
  return {
    validHost: request.host,
    originalRequest: request,
    messageResponse: (found === undefined ? { case: undefined } : { case: found, value: response[found] }) as ServerReflectionResponse["messageResponse"],
  };
}

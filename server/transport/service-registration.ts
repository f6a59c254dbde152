import type { DescService, Message } from "@bufbuild/protobuf";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";

/**
 * One service implementation as both servers take it: the grpc-js server through the
 * adapter, and the Connect gateway through its router. The implementation is a
 * transport-agnostic Connect `ServiceImpl`; methods left out answer UNIMPLEMENTED.
 */
export interface ServiceRegistration {
  /** The service descriptor, e.g. `TaskService` from the generated code. */
  readonly service: DescService;
  /** The implementation of some or all of the service's methods. */
  readonly impl: Partial<ServiceImpl<DescService>>;
  /** Hand-written binary decoders of request messages, by method local name (gRPC only). */
  readonly requestDecoders?: RequestDecoders;
}

/** Binary request decoders by method local name, e.g. `{ submitTasks: decode }`. */
export type RequestDecoders = Partial<Record<string, (bytes: Uint8Array) => Message>>;

/**
 * Pairs a service descriptor with its implementation, checking the implementation's
 * type against the descriptor.
 *
 * @example
 * ```ts
 * const routes = [registerService(TaskService, createTaskService(deps))];
 * ```
 */
export function registerService<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
  requestDecoders?: RequestDecoders,
): ServiceRegistration {
  return { service, impl: impl as Partial<ServiceImpl<DescService>>, requestDecoders };
}

/**
 * Adds every registration to a Connect router: the form `connectNodeAdapter({ routes })`
 * expects.
 */
export function addRegistrationsToRouter(
  router: ConnectRouter,
  registrations: readonly ServiceRegistration[],
): void {
  for (const { service, impl } of registrations) {
    router.service(service, impl);
  }
}

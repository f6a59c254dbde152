import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import type { HealthStatus } from "./health-status.js";
import { registerService, type ServiceRegistration } from "./service-registration.js";

/**
 * The `grpc.health.v1.Health` service over a {@link HealthStatus}: `Check` answers the
 * current status (NOT_FOUND for an unknown service); `Watch` streams the status and its
 * changes (SERVICE_UNKNOWN for an unknown service) until the call ends.
 */
export function createHealthService(status: HealthStatus): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const current = status.get(request.service);
      if (current === undefined) {
        throw new ConnectError(`unknown service: ${request.service}`, Code.NotFound);
      }
      return { status: current };
    },
    async *watch(request, context) {
      for await (const current of status.watch(request.service, context.signal)) {
        yield { status: current };
      }
    },
  };
}

/** The health service as a registration for the grpc-js server and the gateway. */
export function healthRegistration(status: HealthStatus): ServiceRegistration {
  return registerService(Health, createHealthService(status));
}

import { ConnectError } from "@connectrpc/connect";
import type { AccessControl } from "../auth/access-control.js";
import type { RoleName } from "../auth/roles.js";
import type { Logger } from "../observability/logger.js";
import type { ServerMetrics } from "../observability/metrics.js";
import type { GatewayRequest, GatewayResponse } from "./http-gateway.js";

/** Roles that may scrape `/metrics` when it is protected. */
const SCRAPERS: readonly RoleName[] = ["admin", "operator", "viewer"];

/** Options for {@link createMetricsRoute}. */
export interface MetricsRouteOptions {
  metrics: Pick<ServerMetrics, "render" | "registry">;
  /** Who may scrape (the RPCs' authentication, a viewer role at least); undefined: anyone. */
  access: Pick<AccessControl, "authenticate"> | undefined;
  logger: Logger;
}

/**
 * `GET /metrics` on the gateway (Prometheus text). When protected, a scraper authenticates as
 * an RPC caller does (`authorization: Bearer <token>`, Prometheus' `authorization.credentials`)
 * and needs the viewer, operator or admin role: 401 or 403 otherwise.
 */
export function createMetricsRoute(options: MetricsRouteOptions): (req: GatewayRequest, res: GatewayResponse) => boolean {
  return (req, res) => {
    if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return false;
    if (options.access) {
      try {
        const principal = options.access.authenticate(req.headers.authorization ?? null, () => req.socket.remoteAddress ?? "");
        if (!SCRAPERS.includes(principal.role)) {
          res.writeHead(403, { "content-type": "text/plain" }).end(`role ${principal.role} may not read /metrics\n`);
          return true;
        }
      } catch (error) {
        const message = error instanceof ConnectError ? error.rawMessage : "unauthenticated";
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" }).end(`${message}\n`);
        return true;
      }
    }
    options.metrics.render().then(
      (text) => {
        res.writeHead(200, { "content-type": options.metrics.registry.contentType });
        res.end(text);
      },
      (error: unknown) => {
        options.logger.error({ err: error }, "rendering metrics failed");
        res.writeHead(500);
        res.end();
      },
    );
    return true;
  };
}

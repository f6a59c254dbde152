import { Code, ConnectError } from "@connectrpc/connect";
import type { MethodPolicy, PolicyLookups, PolicyTable } from "./method-policies.js";
import { BOOTSTRAP_ADMIN, UNAUTHENTICATED_ADMIN, type Principal } from "./principal.js";
import { JwtAuthenticator } from "./jwt-authenticator.js";
import { hashTokenSecret } from "./token-secret.js";
import type { TokenCache } from "./token-cache.js";
import { isLoopbackAddress } from "../transport/peer-address.js";

/**
 * How callers are authenticated: `auto` (the default) requires a token once one is configured
 * (`TQ_ADMIN_TOKEN`, or a token created through AuthService) and until then serves loopback
 * clients only, without a token; `token` always requires one; `none` serves everyone as admin.
 */
export type AuthMode = "auto" | "token" | "none";

/** Options for {@link AccessControl}. */
export interface AccessControlOptions {
  mode: AuthMode;
  /** The bootstrap admin token (`TQ_ADMIN_TOKEN`), if any. */
  adminToken: string | undefined;
  /** The valid API tokens. */
  tokens: Pick<TokenCache, "verifyHash" | "size">;
  /** Policies by full method name. */
  policies: PolicyTable;
  /** Finds the queues of requests that name tasks by id (scoped tokens only). */
  lookups: PolicyLookups;
  /** Verifies JWTs of an identity provider (`AUTH_JWT_*`); none when not configured. */
  jwt?: Pick<JwtAuthenticator, "authenticate">;
}

/** Policy of a method missing from the table: admins only (fail closed). */
const ADMIN_ONLY: MethodPolicy = { roles: ["admin"] };

const BEARER = /^bearer\s+(\S+)\s*$/i;

/**
 * Who may call what: authenticates the `authorization: Bearer <token>` of a call (the
 * bootstrap admin token or an API token, verified from memory) and checks the method's policy
 * (role, then queue scope). Both servers reach it through one Connect interceptor
 * (`auth-interceptor.ts`). Throws UNAUTHENTICATED for a missing or invalid token,
 * PERMISSION_DENIED naming the role and the queue for a call outside the caller's rights.
 */
export class AccessControl {
  private readonly adminHash: string | undefined;

  constructor(private readonly options: AccessControlOptions) {
    this.adminHash = options.adminToken === undefined ? undefined : hashTokenSecret(options.adminToken);
  }

  /** Whether callers must present a token now (false: loopback only, or AUTH_MODE=none). */
  get tokensRequired(): boolean {
    const { mode } = this.options;
    return mode === "token" || (mode === "auto" && (this.adminHash !== undefined || this.options.jwt !== undefined || this.options.tokens.size > 0));
  }

  /** The policy of `path` (`/package.Service/Method`); admins only when it has none. */
  policyOf(path: string): MethodPolicy {
    return this.options.policies[path] ?? ADMIN_ONLY;
  }

  /**
   * The caller of a call with this `authorization` header from `peer` (read only when needed).
   * @throws ConnectError UNAUTHENTICATED
   */
  authenticate(authorization: string | null, peer: () => string): Principal {
    if (this.options.mode === "none") return UNAUTHENTICATED_ADMIN;
    if (authorization !== null && authorization !== "") {
      const secret = BEARER.exec(authorization)?.[1];
      if (secret === undefined) throw unauthenticated("the authorization header must be \"Bearer <token>\"");
      const hash = hashTokenSecret(secret);
      if (hash === this.adminHash) return BOOTSTRAP_ADMIN;
      const principal = this.options.tokens.verifyHash(hash);
      if (!principal && this.options.jwt && JwtAuthenticator.looksLikeJwt(secret)) return this.options.jwt.authenticate(secret);
      if (!principal) throw unauthenticated("invalid or revoked API token");
      return principal;
    }
    if (this.tokensRequired) throw unauthenticated("missing API token: send \"authorization: Bearer <token>\" (TQ_TOKEN for tq and the SDKs)");
    if (isLoopbackAddress(peer())) return UNAUTHENTICATED_ADMIN;
    throw unauthenticated(
      "this server has no API token configured and serves loopback clients only: set TQ_ADMIN_TOKEN on the server (or AUTH_MODE=none to serve everyone without authentication)",
    );
  }

  /**
   * Checks that `principal`'s role may call `path`.
   * @throws ConnectError PERMISSION_DENIED
   */
  checkRole(principal: Principal, path: string, policy: MethodPolicy): void {
    if (policy.roles === "open" || policy.roles.includes(principal.role)) return;
    throw new ConnectError(`role ${principal.role} may not call ${path}`, Code.PermissionDenied);
  }

  /**
   * Checks that a unary request acts only on queues within `principal`'s scope.
   * @throws ConnectError PERMISSION_DENIED
   */
  async checkRequestQueues(principal: Principal, path: string, policy: MethodPolicy, request: unknown): Promise<void> {
    if (principal.scope.all || !policy.queues) return;
    const queues = await (policy.queues as (r: unknown, l: PolicyLookups) => ReturnType<NonNullable<MethodPolicy["queues"]>>)(
      request,
      this.options.lookups,
    );
    if (queues === "all") {
      throw new ConnectError(
        `role ${principal.role} is limited to queues ${principal.scope.patterns.join(", ")}: ${path} must name one of them`,
        Code.PermissionDenied,
      );
    }
    this.checkQueues(principal, queues);
  }

  /**
   * Checks that every queue is within `principal`'s scope.
   * @throws ConnectError PERMISSION_DENIED
   */
  checkQueues(principal: Principal, queues: readonly string[]): void {
    if (principal.scope.all) return;
    for (const queue of queues) {
      if (!principal.scope.allows(queue)) {
        throw new ConnectError(
          `role ${principal.role} may not act on queue "${queue}" (its queues: ${principal.scope.patterns.join(", ")})`,
          Code.PermissionDenied,
        );
      }
    }
  }
}

function unauthenticated(message: string): ConnectError {
  return new ConnectError(message, Code.Unauthenticated);
}

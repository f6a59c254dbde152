import { compileQueueScope, type QueueScope } from "./queue-patterns.js";
import type { RoleName } from "./roles.js";
import type { TokenQuota } from "./token-quotas.js";

/** Who is calling, once authenticated: a role and the queues it may act on. */
export interface Principal {
  /** How the caller is named in errors and logs, e.g. `token "billing" (tok_…)`. */
  readonly name: string;
  /** What the caller may call. */
  readonly role: RoleName;
  /** The queues the caller may act on. */
  readonly scope: QueueScope;
  /**
   * The API token's id, when the caller presented one from the token table (it can be revoked);
   * undefined for the bootstrap admin token and unauthenticated modes.
   */
  readonly tokenId?: string;
  /** The API token's own quotas (see TokenQuotas); absent fields follow the server's settings. */
  readonly quota?: TokenQuota;
}

/** Every queue. */
const ALL_QUEUES = compileQueueScope(["*"]);

/** The caller when authentication is off (`AUTH_MODE=none`, or loopback with no token configured). */
export const UNAUTHENTICATED_ADMIN: Principal = { name: "anonymous", role: "admin", scope: ALL_QUEUES };

/** The caller presenting `TQ_ADMIN_TOKEN`. */
export const BOOTSTRAP_ADMIN: Principal = { name: "TQ_ADMIN_TOKEN", role: "admin", scope: ALL_QUEUES };

import { Code, ConnectError } from "@connectrpc/connect";
import type { TokenRecord, TokenRepository } from "../db/token-repository.js";
import { PeriodicTask } from "../engine/periodic-task.js";
import type { Service } from "../engine/service.js";
import type { Logger } from "../observability/logger.js";
import type { Principal } from "./principal.js";
import { compileQueueScope } from "./queue-patterns.js";
import { isRoleName } from "./roles.js";
import { hashTokenSecret } from "./token-secret.js";

/** Options for {@link TokenCache}. */
export interface TokenCacheOptions {
  repository: Pick<TokenRepository, "active">;
  logger: Logger;
  /** Backstop reload period, ms (a change announced by any server reloads at once). */
  intervalMs: number;
}

/** Why a revoked token's open calls end. */
export const REVOKED_ERROR_MESSAGE = "the API token was revoked";

/**
 * The valid API tokens, in memory, by the hash of their secret: verifying a token is a SHA-256
 * and a map lookup, never a query. Loaded at start, reloaded when any server announces a
 * change (Notifier's "tokens" event) and periodically as a backstop. After each load, the open
 * calls of tokens no longer valid are told (see {@link watch}) and end with UNAUTHENTICATED.
 */
export class TokenCache implements Service {
  private byHash = new Map<string, Principal>();
  private readonly watchers = new Map<string, Set<(error: ConnectError) => void>>();
  private readonly periodic: PeriodicTask<void>;

  constructor(private readonly options: TokenCacheOptions) {
    this.periodic = new PeriodicTask({ name: "token reload", run: () => this.load(), intervalMs: options.intervalMs, logger: options.logger });
  }

  /** Loads the tokens, then reloads them periodically. */
  async start(): Promise<void> {
    await this.load();
    this.periodic.start();
  }

  /** Stops the periodic reload. */
  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** How many valid tokens exist. */
  get size(): number {
    return this.byHash.size;
  }

  /** The principal of a presented secret, or undefined when it is no valid token. */
  verify(secret: string): Principal | undefined {
    return this.byHash.get(hashTokenSecret(secret));
  }

  /** The principal of a secret by its hash (`hashTokenSecret`), or undefined. */
  verifyHash(hash: string): Principal | undefined {
    return this.byHash.get(hash);
  }

  /**
   * Calls `onRevoked` once if token `tokenId` stops being valid before `dispose` is called.
   * @returns dispose: stops watching
   */
  watch(tokenId: string, onRevoked: (error: ConnectError) => void): () => void {
    let set = this.watchers.get(tokenId);
    if (!set) this.watchers.set(tokenId, (set = new Set()));
    set.add(onRevoked);
    return () => {
      set.delete(onRevoked);
      if (set.size === 0 && this.watchers.get(tokenId) === set) this.watchers.delete(tokenId);
    };
  }

  /** Reloads now (after a change); failures are logged, the backstop reload retries. */
  async reload(): Promise<void> {
    await this.periodic.runNow().catch((error: unknown) => this.options.logger.warn({ err: error }, "reloading API tokens failed"));
  }

  private async load(): Promise<void> {
    const records = await this.options.repository.active();
    const byHash = new Map<string, Principal>();
    const valid = new Set<string>();
    for (const record of records) {
      const principal = principalOf(record);
      if (!principal) continue;
      byHash.set(record.tokenHash, principal);
      valid.add(record.id);
    }
    this.byHash = byHash;
    for (const [tokenId, set] of this.watchers) {
      if (valid.has(tokenId)) continue;
      this.watchers.delete(tokenId);
      const error = new ConnectError(REVOKED_ERROR_MESSAGE, Code.Unauthenticated);
      for (const onRevoked of set) onRevoked(error);
    }
  }
}

function principalOf(record: TokenRecord): Principal | undefined {
  if (!isRoleName(record.role)) return undefined;
  return { name: `token "${record.name}" (${record.id})`, role: record.role, scope: compileQueueScope(record.queues), tokenId: record.id, quota: record.quota };
}

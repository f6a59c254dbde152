import type { Kysely, Selectable } from "kysely";
import type { TokenQuota } from "../auth/token-quotas.js";
import type { ApiTokensTable, Database } from "./schema.js";

/** An API token as stored (never its secret, only the hash). */
export interface TokenRecord {
  id: string;
  name: string;
  role: string;
  queues: string[];
  tokenHash: string;
  prefix: string;
  createdAt: Date;
  revokedAt: Date | null;
  /** The token's own quotas (migration 0032); absent fields follow the server's settings. */
  quota: TokenQuota;
}

/** What {@link TokenRepository.create} stores. */
export type NewToken = Omit<TokenRecord, "createdAt" | "revokedAt">;

/** The `api_tokens` table (migration 0030). */
export class TokenRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Stores a new token. */
  async create(token: NewToken): Promise<TokenRecord> {
    const row = await this.db
      .insertInto("api_tokens")
      .values({
        id: token.id,
        name: token.name,
        role: token.role,
        queues: token.queues,
        token_hash: token.tokenHash,
        prefix: token.prefix,
        submit_rate: token.quota.submitRate ?? null,
        submit_burst: token.quota.submitBurst ?? null,
        max_worker_streams: token.quota.maxWorkerStreams ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return recordOf(row);
  }

  /** Every token, newest first; revoked ones only when asked. */
  async list(options: { includeRevoked: boolean }): Promise<TokenRecord[]> {
    let query = this.db.selectFrom("api_tokens").selectAll().orderBy("created_at", "desc").orderBy("id", "desc");
    if (!options.includeRevoked) query = query.where("revoked_at", "is", null);
    return (await query.execute()).map(recordOf);
  }

  /** The tokens not revoked (what servers cache). */
  active(): Promise<TokenRecord[]> {
    return this.list({ includeRevoked: false });
  }

  /** Revokes a token (keeping the first revocation time); undefined when no token has `id`. */
  async revoke(id: string): Promise<TokenRecord | undefined> {
    await this.db.updateTable("api_tokens").set({ revoked_at: new Date() }).where("id", "=", id).where("revoked_at", "is", null).execute();
    const row = await this.db.selectFrom("api_tokens").selectAll().where("id", "=", id).executeTakeFirst();
    return row && recordOf(row);
  }
}

function recordOf(row: Selectable<ApiTokensTable>): TokenRecord {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    queues: row.queues,
    tokenHash: row.token_hash,
    prefix: row.prefix,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    quota: {
      ...(row.submit_rate !== null && { submitRate: row.submit_rate }),
      ...(row.submit_burst !== null && { submitBurst: row.submit_burst }),
      ...(row.max_worker_streams !== null && { maxWorkerStreams: row.max_worker_streams }),
    },
  };
}

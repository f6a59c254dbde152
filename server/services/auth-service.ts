import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { AuthService, TokenInfoSchema } from "../../gen/taskqueue/v1/auth_service_pb.js";
import { queuePatternProblem } from "../auth/queue-patterns.js";
import { roleEnumOf, roleNameOf } from "../auth/roles.js";
import type { TokenQuota } from "../auth/token-quotas.js";
import { generateTokenSecret, hashTokenSecret, shownPrefix } from "../auth/token-secret.js";
import type { AuditRepository } from "../db/audit-repository.js";
import type { TokenRecord, TokenRepository } from "../db/token-repository.js";
import { randomToken } from "../engine/ids.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { unstorableTextProblem } from "../db/storable-text.js";
import { pageSizeOf } from "./page-token.js";
import { timestampOf } from "./proto-time.js";

/** Most queue patterns on one token. */
const MAX_PATTERNS = 100;

/** Dependencies of {@link createAuthService}. */
export interface AuthServiceDeps {
  repository: Pick<TokenRepository, "create" | "list" | "revoke">;
  /** The audit log, read by ListAuditEvents. */
  audit: Pick<AuditRepository, "page">;
  /** Reloads this server's token cache and tells the other servers to reload theirs. */
  tokensChanged: () => Promise<void>;
}

/**
 * `taskqueue.v1.AuthService`: API tokens. Secrets are 256 random bits shown once; only their
 * SHA-256 hash is stored. Callers need the admin role (see method-policies.ts).
 */
export function createAuthService(deps: AuthServiceDeps): ServiceImpl<typeof AuthService> {
  return {
    async createToken(request) {
      const name = request.name.trim();
      if (name === "" || name.length > 128) throw new InvalidArgumentError("name", "must be 1-128 characters");
      const nameProblem = unstorableTextProblem(name);
      if (nameProblem) throw new InvalidArgumentError("name", nameProblem);
      const role = roleNameOf(request.role);
      if (!role) throw new InvalidArgumentError("role", "must be ROLE_ADMIN, ROLE_OPERATOR, ROLE_PRODUCER, ROLE_WORKER or ROLE_VIEWER");
      if (request.queues.length > MAX_PATTERNS) throw new InvalidArgumentError("queues", `at most ${MAX_PATTERNS} patterns`);
      request.queues.forEach((pattern, i) => {
        const problem = queuePatternProblem(pattern) ?? unstorableTextProblem(pattern);
        if (problem) throw new InvalidArgumentError(`queues[${i}]`, problem);
      });
      const quota = tokenQuotaOf(request);
      const secret = generateTokenSecret();
      const record = await deps.repository.create({
        id: `tok_${randomToken(9)}`,
        name,
        role,
        queues: request.queues.length === 0 ? ["*"] : [...new Set(request.queues)],
        tokenHash: hashTokenSecret(secret),
        prefix: shownPrefix(secret),
        quota,
      });
      await deps.tokensChanged();
      return { token: tokenInfoOf(record), secret };
    },
    async listTokens(request) {
      const records = await deps.repository.list({ includeRevoked: request.includeRevoked });
      return { tokens: records.map(tokenInfoOf) };
    },
    async revokeToken(request) {
      if (request.id === "") throw new InvalidArgumentError("id", "is required");
      const record = await deps.repository.revoke(request.id);
      if (!record) throw new NotFoundError(`token ${request.id} not found`);
      await deps.tokensChanged();
      return { token: tokenInfoOf(record) };
    },
    async listAuditEvents(request) {
      const limit = pageSizeOf(request.pageSize);
      let beforeId: string | undefined;
      if (request.pageToken !== "") {
        beforeId = Buffer.from(request.pageToken, "base64url").toString("utf8").replace(/^a1:/, "");
        if (!/^[1-9]\d{0,18}$/.test(beforeId)) throw new InvalidArgumentError("page_token", "is not a token returned by ListAuditEvents");
      }
      const records = await deps.audit.page(limit, beforeId);
      const last = records.length === limit ? records[records.length - 1] : undefined;
      return {
        events: records.map((r) => ({
          id: BigInt(r.id),
          time: timestampOf(r.at),
          actor: r.actor,
          role: r.role,
          peer: r.peer,
          method: r.method,
          requestJson: r.requestJson,
          outcome: r.outcome,
        })),
        nextPageToken: last ? Buffer.from(`a1:${last.id}`).toString("base64url") : "",
      };
    },
  };
}

function tokenInfoOf(record: TokenRecord): MessageInitShape<typeof TokenInfoSchema> {
  return {
    id: record.id,
    name: record.name,
    role: roleEnumOf(record.role),
    queues: record.queues,
    createdAt: timestampOf(record.createdAt),
    revokedAt: timestampOf(record.revokedAt),
    prefix: record.prefix,
    submitRate: record.quota.submitRate ?? 0,
    submitBurst: record.quota.submitBurst ?? 0,
    maxWorkerStreams: record.quota.maxWorkerStreams ?? 0,
  };
}

/** Largest per-token quota value accepted (the column is a Postgres integer). */
const MAX_QUOTA = 1_000_000_000;

/** A CreateToken request's quota overrides (0: the server's setting); throws naming the field. */
function tokenQuotaOf(request: { submitRate: number; submitBurst: number; maxWorkerStreams: number }): TokenQuota {
  const quota: TokenQuota = {};
  for (const [key, field] of [
    ["submitRate", "submit_rate"],
    ["submitBurst", "submit_burst"],
    ["maxWorkerStreams", "max_worker_streams"],
  ] as const) {
    const value = request[key];
    if (value === 0) continue;
    if (!Number.isInteger(value) || value < 1 || value > MAX_QUOTA) throw new InvalidArgumentError(field, `must be between 1 and ${MAX_QUOTA} (0: the server's setting), got ${value}`);
    quota[key] = value;
  }
  return quota;
}

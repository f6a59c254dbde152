import { createClient, type Client } from "@connectrpc/connect";
import { AuthService, Role, type CreateTokenResponse, type ListAuditEventsResponse, type TokenInfo } from "../../gen/taskqueue/v1/auth_service_pb.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { callOptionsOf, type RequestOptions } from "./request-options.js";

/** A role by name, as `tq token create --role` takes it. */
export type RoleName = "admin" | "operator" | "producer" | "worker" | "viewer";

/** The API enum value of each role name. */
export const ROLES: Readonly<Record<RoleName, Role>> = {
  admin: Role.ADMIN,
  operator: Role.OPERATOR,
  producer: Role.PRODUCER,
  worker: Role.WORKER,
  viewer: Role.VIEWER,
};

/** A token to create: its role and queues, and optionally its own quotas (else the server's `QUOTA_*`). */
export interface NewTokenSpec {
  name: string;
  role: RoleName;
  /** Queue patterns (`*` wildcard); none: every queue. */
  queues?: readonly string[];
  /** Tasks per second it may submit to one server. */
  submitRate?: number;
  /** Tasks it may submit at once above its rate. */
  submitBurst?: number;
  /** Worker streams it may hold open at once on one server. */
  maxWorkerStreams?: number;
}

/** The API tokens (`taskqueue.v1.AuthService`, admin only); calls fail with the server's `ConnectError`. */
export interface AuthClient {
  /** Creates a token; the response's `secret` is shown only now. */
  createToken(token: NewTokenSpec, options?: RequestOptions): Promise<CreateTokenResponse>;
  /** Every token (never a secret), newest first; revoked ones with `includeRevoked`. */
  listTokens(options?: RequestOptions & { includeRevoked?: boolean }): Promise<TokenInfo[]>;
  /** Revokes a token: every server refuses it within a second. */
  revokeToken(id: string, options?: RequestOptions): Promise<TokenInfo>;
  /** A page of the audit log (admin and operator actions), newest first. */
  listAuditEvents(options?: RequestOptions & { pageSize?: number; pageToken?: string }): Promise<ListAuditEventsResponse>;
  /** The generated Connect client. */
  readonly service: Client<typeof AuthService>;
  /** Closes the connection the client opened (nothing for a given transport). */
  close(): void;
}

/** Creates an auth client; options as for `createTaskClient`. */
export function createAuthClient(options: TaskClientOptions = {}): AuthClient {
  const compiled = compileTaskClientOptions(options);
  const service = createClient(AuthService, compiled.transport);
  const call = (request: RequestOptions | undefined) => callOptionsOf(compiled.timeoutMs, request);
  return {
    service,
    createToken(token, request) {
      const { submitRate = 0, submitBurst = 0, maxWorkerStreams = 0 } = token;
      return service.createToken({ name: token.name, role: ROLES[token.role], queues: [...(token.queues ?? [])], submitRate, submitBurst, maxWorkerStreams }, call(request));
    },
    async listTokens(request) {
      return (await service.listTokens({ includeRevoked: request?.includeRevoked ?? false }, call(request))).tokens;
    },
    async revokeToken(id, request) {
      return (await service.revokeToken({ id }, call(request))).token!;
    },
    listAuditEvents(request) {
      return service.listAuditEvents({ pageSize: request?.pageSize ?? 0, pageToken: request?.pageToken ?? "" }, call(request));
    },
    close() {
      compiled.sessionManager?.abort();
    },
  };
}

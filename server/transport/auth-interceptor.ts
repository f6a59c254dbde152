import { toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import type { AccessControl } from "../auth/access-control.js";
import { callerKey } from "../auth/caller.js";
import type { MethodPolicy } from "../auth/method-policies.js";
import type { Principal } from "../auth/principal.js";
import type { TokenCache } from "../auth/token-cache.js";
import type { TokenQuotas } from "../auth/token-quotas.js";
import type { NewAuditRecord } from "../db/audit-repository.js";
import { peerAddressOf } from "./peer-address.js";
import { StreamGuard } from "./stream-guard.js";

/** Stores one audit event (see `MethodPolicy.audit`). */
export type AuditSink = (event: NewAuditRecord) => Promise<void>;

/**
 * The one place where calls are authenticated and authorized: a Connect server interceptor that
 * the gateway (Connect, gRPC-Web, gRPC over h2c) and the grpc-js server (through the adapter)
 * both run. Open methods (health, reflection) pass; any other call needs a caller
 * (`AccessControl.authenticate`) whose role the method's policy allows, acting on queues
 * within its scope. Streams are checked as their messages arrive (a worker's hello naming a
 * queue outside its scope ends the stream with PERMISSION_DENIED), and a stream opened with
 * an API token ends with UNAUTHENTICATED when the token is revoked. With `quotas`, submits
 * take from the token's submit quota and worker streams count against its stream quota
 * (RESOURCE_EXHAUSTED beyond them).
 */
export function createAuthInterceptor(
  access: AccessControl,
  tokens: Pick<TokenCache, "watch">,
  audit?: AuditSink,
  quotas?: Pick<TokenQuotas, "takeSubmits" | "openStream">,
): Interceptor {
  return (next) => async (req) => {
    const path = `/${req.service.typeName}/${req.method.name}`;
    const policy = access.policyOf(path);
    if (policy.roles === "open") return next(req);
    const principal = access.authenticate(req.header.get("authorization"), () => peerAddressOf(req.contextValues));
    req.contextValues.set(callerKey, principal);
    if (!req.stream && policy.audit && audit) return audited(req, principal, path, audit, async () => {
      access.checkRole(principal, path, policy);
      await access.checkRequestQueues(principal, path, policy, req.message);
      return (await next(req)) as UnaryResponse;
    });
    access.checkRole(principal, path, policy);
    if (!req.stream) {
      await access.checkRequestQueues(principal, path, policy, req.message);
      if (policy.submits && quotas) quotas.takeSubmits(principal, (policy.submits as (r: unknown) => number)(req.message));
      return next(req);
    }
    const checksMessages = !principal.scope.all && policy.streamQueues !== undefined;
    if (principal.tokenId === undefined && !checksMessages) return next(req);
    const guard = new StreamGuard();
    const release = policy.workerStream && quotas ? quotas.openStream(principal) : undefined;
    const stopToken = principal.tokenId === undefined ? undefined : tokens.watch(principal.tokenId, (error) => guard.fail(error));
    const stopWatching = release ? () => (stopToken?.(), release()) : stopToken;
    const request: StreamRequest = checksMessages
      ? { ...req, header: req.header, contextValues: req.contextValues, signal: req.signal, message: checkedMessages(req.message, access, principal, policy, guard) }
      : req;
    let res;
    try {
      res = await next(request);
    } catch (error) {
      stopWatching?.();
      throw error;
    }
    if (!res.stream) {
      stopWatching?.();
      return res;
    }
    return { ...res, header: res.header, trailer: res.trailer, message: guard.race(res.message, stopWatching) };
  };
}

/** The request messages, each checked against the caller's queue scope (the hello of a worker). */
async function* checkedMessages(
  messages: AsyncIterable<unknown>,
  access: AccessControl,
  principal: Principal,
  policy: MethodPolicy,
  guard: StreamGuard,
): AsyncGenerator<never> {
  const queuesOf = policy.streamQueues as (message: unknown) => readonly string[];
  for await (const message of messages) {
    try {
      access.checkQueues(principal, queuesOf(message));
    } catch (error) {
      guard.fail(error as ConnectError);
      throw error;
    }
    yield message as never;
  }
}

/**
 * Runs an audited call and records it (who, from where, what, the outcome) before its answer
 * is sent. A failure to record is logged by the sink's caller, never hides the outcome.
 */
async function audited(
  req: UnaryRequest,
  principal: Principal,
  path: string,
  audit: AuditSink,
  run: () => Promise<UnaryResponse>,
): Promise<UnaryResponse> {
  let outcome = "OK";
  try {
    return await run();
  } catch (error) {
    outcome = error instanceof ConnectError ? Code[error.code] : "INTERNAL";
    throw error;
  } finally {
    let requestJson: string;
    try {
      requestJson = toJsonString(req.method.input, req.message);
    } catch {
      requestJson = "{}";
    }
    await audit({
      actor: principal.name,
      role: principal.role,
      peer: peerAddressOf(req.contextValues),
      method: path,
      requestJson,
      outcome: outcome.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase(),
    });
  }
}

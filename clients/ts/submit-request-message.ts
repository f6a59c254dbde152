import { create, fromJson } from "@bufbuild/protobuf";
import { DurationSchema, TimestampSchema, ValueSchema, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import { RetryPolicySchema, type RetryPolicy } from "../../gen/taskqueue/v1/task_pb.js";
import { SubmitTaskRequestSchema, type SubmitTaskRequest } from "../../gen/taskqueue/v1/task_service_pb.js";
import { durationParts, timestampParts, type SecondsAndNanos } from "../../wire/proto-time.js";
import type { RetryPolicySpec, TaskSpec } from "./task-spec.js";

/**
 * The protobuf-es `SubmitTaskRequest` of a spec (which must have passed `checkTaskSpec`):
 * what unary submits and batches over a JSON transport send.
 */
export function submitTaskRequestOf(spec: TaskSpec): SubmitTaskRequest {
  return create(SubmitTaskRequestSchema, {
    queue: spec.queue,
    type: spec.type,
    payloadData: payloadDataOf(spec),
    priority: spec.priority,
    retryPolicy: spec.retryPolicy === undefined ? undefined : retryPolicyOf(spec.retryPolicy),
    idempotencyKey: spec.idempotencyKey ?? "",
    labels: spec.labels === undefined ? {} : { ...spec.labels },
    runAt: spec.runAt === undefined ? undefined : timestamp(timestampParts(spec.runAt instanceof Date ? spec.runAt.getTime() : spec.runAt)),
    timeout: spec.timeoutMs === undefined ? undefined : duration(spec.timeoutMs),
    startTimeout: spec.startTimeoutMs === undefined ? undefined : duration(spec.startTimeoutMs),
    concurrencyKey: spec.concurrencyKey ?? "",
  });
}

function payloadDataOf(spec: TaskSpec): SubmitTaskRequest["payloadData"] {
  if (spec.payload !== undefined) return { case: "payload", value: fromJson(ValueSchema, spec.payload) };
  if (spec.payloadBytes !== undefined) return { case: "payloadBytes", value: spec.payloadBytes };
  return { case: undefined };
}

function retryPolicyOf(policy: RetryPolicySpec): RetryPolicy {
  return create(RetryPolicySchema, {
    maxAttempts: policy.maxAttempts ?? 0,
    initialBackoff: policy.initialBackoffMs === undefined ? undefined : duration(policy.initialBackoffMs),
    maxBackoff: policy.maxBackoffMs === undefined ? undefined : duration(policy.maxBackoffMs),
    backoffMultiplier: policy.backoffMultiplier ?? 0,
  });
}

function timestamp(parts: SecondsAndNanos): Timestamp {
  return create(TimestampSchema, { seconds: BigInt(parts.seconds), nanos: parts.nanos });
}

function duration(ms: number): Duration {
  const parts = durationParts(ms);
  return create(DurationSchema, { seconds: BigInt(parts.seconds), nanos: parts.nanos });
}

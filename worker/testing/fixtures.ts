import { create, fromJson, type JsonValue } from "@bufbuild/protobuf";
import { durationFromMs, ValueSchema } from "@bufbuild/protobuf/wkt";
import { LeasedTaskSchema, type LeasedTask } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { defaultWorkerLogger, type Logger } from "../logger.js";

/** A logger for tests: silent unless TEST_LOG_LEVEL is set. */
export function testLogger(): Logger {
  return defaultWorkerLogger("worker-test", process.env.TEST_LOG_LEVEL ?? "silent");
}

/** Fields of {@link leasedTask}. */
export interface LeasedTaskFields {
  /** Task id. */
  id: string;
  /** Task type. Default "echo". */
  type?: string;
  /** Queue. Default "default". */
  queue?: string;
  /** JSON payload. */
  payload?: JsonValue;
  /** Bytes payload (wins over `payload`). */
  payloadBytes?: Uint8Array;
  /** Attempt. Default 1. */
  attempt?: number;
  /** Execution timeout in ms. */
  timeoutMs?: number;
  /** Lease token. Default `lease-<id>`. */
  leaseToken?: string;
}

/** Builds a LeasedTask as a server would send it. */
export function leasedTask(fields: LeasedTaskFields): LeasedTask {
  return create(LeasedTaskSchema, {
    taskId: fields.id,
    queue: fields.queue ?? "default",
    type: fields.type ?? "echo",
    payloadData: fields.payloadBytes
      ? { case: "payloadBytes", value: fields.payloadBytes }
      : fields.payload === undefined
        ? { case: undefined }
        : { case: "payload", value: fromJson(ValueSchema, fields.payload) },
    attempt: fields.attempt ?? 1,
    maxAttempts: 3,
    leaseToken: fields.leaseToken ?? `lease-${fields.id}`,
    timeout: fields.timeoutMs === undefined ? undefined : durationFromMs(fields.timeoutMs),
    labels: { origin: "test" },
  });
}

/** A promise opened from outside: handlers await `promise`, tests call `open`. */
export interface Gate<T = void> {
  /** Resolves once the gate opens. */
  promise: Promise<T>;
  /** Opens the gate. */
  open(value: T): void;
}

/** Creates a closed {@link Gate}. */
export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Resolves when `signal` aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

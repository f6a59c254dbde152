import { create } from "@bufbuild/protobuf";
import { durationFromMs, FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { type QueueInfo, QueueService, QueueSettingsSchema, RateLimitSchema } from "../../gen/taskqueue/v1/queue_service_pb.js";
import { allPages } from "./all-pages.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { callOptionsOf, type RequestOptions } from "./request-options.js";
import { invalid } from "./spec-checks.js";
import { requireField } from "./task-client.js";

/** Paging of {@link QueueClient.listQueues}. */
export interface ListQueuesOptions extends RequestOptions {
  /** Page size, 1-1000. Default 100. */
  pageSize?: number;
  /** `nextPageToken` of the previous page; leave out for the first. */
  pageToken?: string;
}

/** One page of queues, in name order. */
export interface QueuePage {
  /** The queues. */
  queues: QueueInfo[];
  /** Token of the next page; empty on the last one. */
  nextPageToken: string;
}

/**
 * Settings to store for a queue's new tasks. A field left out is unchanged; a field set to
 * `null` goes back to the server's default.
 */
export interface QueueSettingsSpec {
  /** Most attempts a task gets unless it sets its own: 1-100. */
  maxAttempts?: number | null;
  /** First retry back-off in milliseconds: 0-24 h. */
  initialBackoffMs?: number | null;
  /** Largest retry back-off in milliseconds: 0-7 days, at least the initial one. */
  maxBackoffMs?: number | null;
  /** Factor between consecutive back-offs: 1-100. */
  backoffMultiplier?: number | null;
  /** Priority (1-100) given to tasks submitted with priority 0. */
  defaultPriority?: number | null;
  /** Timeout per attempt in milliseconds (1 ms-24 h) of tasks submitted without one. */
  defaultTimeoutMs?: number | null;
  /** How long the queue's succeeded and cancelled tasks are kept, in milliseconds (0 = forever). */
  finishedRetentionMs?: number | null;
  /** How long the queue's dead tasks are kept, in milliseconds (0 = forever). */
  deadRetentionMs?: number | null;
  /** Most tasks of the queue RUNNING at once across every server (null: unlimited). */
  maxConcurrency?: number | null;
  /** Most RUNNING tasks per concurrency key across every server (null: unlimited). */
  maxConcurrencyPerKey?: number | null;
  /** Most task starts per period across every server (null: unlimited). */
  rateLimit?: QueueRateLimitSpec | null;
  /** Largest payload of the queue's tasks in bytes (null: the server's MAX_PAYLOAD_BYTES). */
  maxPayloadBytes?: number | null;
}

/** A queue rate limit: at most `limit` task starts per `periodMs` milliseconds. */
export interface QueueRateLimitSpec {
  limit: number;
  periodMs: number;
}

/** The queue API (`taskqueue.v1.QueueService`); calls fail with the server's `ConnectError`. */
export interface QueueClient {
  /** One page of the queues that have tasks, workers or settings. */
  listQueues(options?: ListQueuesOptions): Promise<QueuePage>;
  /** Every queue, all pages. */
  listAllQueues(options?: RequestOptions): Promise<QueueInfo[]>;
  /** One queue (`NOT_FOUND` when nothing knows the name). */
  getQueue(name: string, options?: RequestOptions): Promise<QueueInfo>;
  /** Stops dispatch from the queue on every server; `reason` is shown with it. */
  pauseQueue(name: string, options?: RequestOptions & { reason?: string }): Promise<QueueInfo>;
  /** Lets a paused queue dispatch again. */
  resumeQueue(name: string, options?: RequestOptions): Promise<QueueInfo>;
  /** Stores settings for the queue's new tasks; returns the queue with the settings in force. */
  updateQueue(name: string, settings: QueueSettingsSpec, options?: RequestOptions): Promise<QueueInfo>;
  /** The generated Connect client, for requests this API does not cover. */
  readonly service: Client<typeof QueueService>;
  /** Closes the connection the client opened (nothing for a given transport). */
  close(): void;
}

/** The mask path and message field of each settable setting. */
const SETTINGS = {
  maxAttempts: { path: "max_attempts", set: (v: number) => ({ maxAttempts: v }) },
  initialBackoffMs: { path: "initial_backoff", set: (v: number) => ({ initialBackoff: durationFromMs(v) }) },
  maxBackoffMs: { path: "max_backoff", set: (v: number) => ({ maxBackoff: durationFromMs(v) }) },
  backoffMultiplier: { path: "backoff_multiplier", set: (v: number) => ({ backoffMultiplier: v }) },
  defaultPriority: { path: "default_priority", set: (v: number) => ({ defaultPriority: v }) },
  defaultTimeoutMs: { path: "default_timeout", set: (v: number) => ({ defaultTimeout: durationFromMs(v) }) },
  finishedRetentionMs: { path: "finished_retention", set: (v: number) => ({ finishedRetention: durationFromMs(v) }) },
  deadRetentionMs: { path: "dead_retention", set: (v: number) => ({ deadRetention: durationFromMs(v) }) },
  maxConcurrency: { path: "max_concurrency", set: (v: number) => ({ maxConcurrency: v }) },
  maxConcurrencyPerKey: { path: "max_concurrency_per_key", set: (v: number) => ({ maxConcurrencyPerKey: v }) },
  maxPayloadBytes: { path: "max_payload_bytes", set: (v: number) => ({ maxPayloadBytes: v }) },
} as const;

/** Creates a queue client; options as for `createTaskClient`. */
export function createQueueClient(options: TaskClientOptions = {}): QueueClient {
  const compiled = compileTaskClientOptions(options);
  const service = createClient(QueueService, compiled.transport);
  const call = (request: RequestOptions | undefined) => callOptionsOf(compiled.timeoutMs, request);
  const client: QueueClient = {
    service,
    async listQueues(request = {}) {
      const response = await service.listQueues({ pageSize: request.pageSize ?? 0, pageToken: request.pageToken ?? "" }, call(request));
      return { queues: response.queues, nextPageToken: response.nextPageToken };
    },
    async listAllQueues(request) {
      return allPages(async (pageToken) => {
        const page = await client.listQueues({ ...request, pageSize: 1000, pageToken });
        return { items: page.queues, nextPageToken: page.nextPageToken };
      });
    },
    async getQueue(name, request) {
      return requireField((await service.getQueue({ name }, call(request))).queue, "queue");
    },
    async pauseQueue(name, request) {
      return requireField((await service.pauseQueue({ name, reason: request?.reason ?? "" }, call(request))).queue, "queue");
    },
    async resumeQueue(name, request) {
      return requireField((await service.resumeQueue({ name }, call(request))).queue, "queue");
    },
    async updateQueue(name, settings, request) {
      if (settings === null || typeof settings !== "object") throw invalid("settings", "must be an object");
      const message = create(QueueSettingsSchema);
      const paths: string[] = [];
      const { rateLimit, ...numeric } = settings;
      if (rateLimit !== undefined) {
        paths.push("rate_limit");
        if (rateLimit !== null) {
          if (typeof rateLimit !== "object" || !Number.isFinite(rateLimit.limit) || !Number.isFinite(rateLimit.periodMs)) {
            throw invalid("settings.rateLimit", "must be { limit, periodMs } with finite numbers, or null");
          }
          message.rateLimit = create(RateLimitSchema, { limit: rateLimit.limit, period: durationFromMs(rateLimit.periodMs) });
        }
      }
      for (const [key, value] of Object.entries(numeric)) {
        const setting = SETTINGS[key as keyof typeof SETTINGS];
        if (setting === undefined) throw invalid(`settings.${key}`, `is not a queue setting (${Object.keys(SETTINGS).join(", ")})`);
        if (value === undefined) continue;
        paths.push(setting.path);
        if (value === null) continue;
        if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(`settings.${key}`, "must be a finite number or null");
        Object.assign(message, setting.set(value));
      }
      if (paths.length === 0) throw invalid("settings", "names no setting: nothing to update");
      const updateMask = create(FieldMaskSchema, { paths });
      return requireField((await service.updateQueue({ name, settings: message, updateMask }, call(request))).queue, "queue");
    },
    close() {
      compiled.sessionManager?.abort();
    },
  };
  return client;
}

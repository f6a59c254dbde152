/**
 * The IPC protocol between the orchestrator and its child processes. A child receives its
 * configuration as one JSON argument, says `ready`, and then follows the commands below.
 * Times are epoch milliseconds with sub-millisecond precision (see `epochNow`).
 */

/** Task type of every benchmark task (its handler does nothing and returns null). */
export const NOOP_TYPE = "noop";

/** Configuration of a taskqueue producer process. */
export interface ProducerConfig {
  /** gRPC address, host:port. */
  address: string;
  queue: string;
  /** `batch`: SubmitTasks; `unary`: SubmitTask closed-loop; `rate`: SubmitTask at a fixed rate. */
  mode: "batch" | "unary" | "rate";
  /** Tasks to submit (batch, unary). */
  count: number;
  /** Tasks per SubmitTasks call (batch). */
  batchSize: number;
  /** Calls in flight (batch, unary); cap of outstanding calls (rate). */
  inFlight: number;
  /** Tasks per second (rate). */
  ratePerS: number;
  /** How long to submit, ms (rate). */
  durationMs: number;
  /** Keep per-task submit times and latencies (for latency). */
  record: boolean;
  /**
   * What makes SubmitTask calls (unary, rate): `raw`, a minimal HTTP/2 caller with one
   * pre-encoded request, or `ts`, the TypeScript client (`clients/ts`).
   */
  unaryClient: "raw" | "ts";
  /**
   * rate: submit at the same rate for this long first, unrecorded, then report `warmed` and
   * wait for a second `go` before the measured `durationMs`. The warm-up runs in the same
   * process as the measured calls, so that they find its code compiled and its connection warm.
   */
  warmupMs?: number;
  /** Task types to submit, in rotation (batch). Default [NOOP_TYPE]. */
  types?: string[];
  /** batch: each SubmitTasks call goes to the next of these queues, in rotation. Default [queue]. */
  queues?: string[];
  /** Bytes of JSON payload per task (`{"data":"xx…"}`); absent or 0: none. */
  payloadBytes?: number;
}

/** Configuration of a worker process using the TypeScript worker SDK. */
export interface WorkerConfig {
  address: string;
  queue: string;
  /** Queues it takes from. Default [queue]. */
  queues?: string[];
  concurrency: number;
  /** Keep per-task dispatch latency and ack time (for latency). */
  record: boolean;
  logLevel: string;
  /** Task types it has (no-op) handlers for, hence takes. Default [NOOP_TYPE]. */
  types?: string[];
  /** Each task sleeps a random time in [min, max] ms; absent: returns at once. */
  workMs?: [number, number];
}

/** Configuration of a process holding many raw WorkerService streams. */
export interface RawStreamsConfig {
  address: string;
  queue: string;
  streams: number;
  streamsPerConnection: number;
  credits: number;
  /** Prefix of the worker ids. */
  label: string;
}

/** Configuration of a BullMQ producer or worker process. */
export interface BullmqConfig {
  role: "producer" | "worker";
  redisUrl: string;
  queue: string;
  /** producer: jobs to add. */
  count: number;
  /** producer: jobs per addBulk call. */
  batchSize: number;
  /** producer: addBulk calls in flight. */
  inFlight: number;
  /** worker: concurrency. */
  concurrency: number;
}

/** Orchestrator → child. */
export type ParentMessage =
  /** Start submitting (producers); after a warm-up, start the measured window. */
  | { type: "go" }
  /** Send a `report` (workers, streams). */
  | { type: "report" }
  /** Stop gracefully and exit. */
  | { type: "stop" };

/** Child → orchestrator. */
export type ChildMessage =
  /** Connected and warmed up; waiting for `go` (producers) or already taking work. */
  | { type: "ready"; pid: number }
  /** Running totals of completed (durably acknowledged) tasks, coalesced. */
  | { type: "progress"; completed: number; failed: number; firstAt: number; lastAt: number }
  /** A producer finished its warm-up (rate with `warmupMs`); it waits for the next `go`. */
  | { type: "warmed"; report: ProducerReport }
  /** A producer is done. */
  | { type: "done"; report: ProducerReport }
  /** A worker's or stream holder's report, answering `report`. */
  | { type: "report"; report: ConsumerReport }
  /** A fatal error; the child exits after sending it. */
  | { type: "error"; message: string };

/** What a producer reports when done. */
export interface ProducerReport {
  submitted: number;
  errors: number;
  /** Start of the first submit call. */
  firstStartAt: number;
  /** End of the last submit call. */
  lastEndAt: number;
  /** Client-measured latency of each call, ms (only when recording). */
  latenciesMs: number[];
  /** Task id and submit call start of each task (only when recording). */
  submits: Array<[string, number]>;
}

/** What a consumer (worker process or stream holder) reports. */
export interface ConsumerReport {
  completed: number;
  failed: number;
  /** Time of the first accepted ack. */
  firstAt: number;
  /** Time of the last accepted ack. */
  lastAt: number;
  /** Tasks received per stream (stream holders). */
  perStream: number[];
  /** Task id and its created_at → delivered to the handler, ms (only when recording). */
  dispatches: Array<[string, number]>;
  /** Task id and time of its accepted ack (only when recording). */
  acks: Array<[string, number]>;
}

/** What the durable peers' processes share for the latency and steady-state workloads. */
export interface PeerRateConfig {
  /**
   * producer: with a rate, add `ratePerS` jobs a second, `batchSize` per call, for `durationMs`
   * (after an unrecorded `warmupMs`) instead of `count` in batches as fast as possible.
   */
  ratePerS?: number;
  durationMs?: number;
  warmupMs?: number;
  /** Keep per-job submit times and latencies (producer), dispatch latency and completion times (worker). */
  record?: boolean;
  /** Bytes of JSON payload per job (`{"data":"xx…"}`); absent or 0: none. */
  payloadBytes?: number;
  /** worker: each job sleeps a random time in [min, max] ms; absent: returns at once. */
  workMs?: [number, number];
}

/** Configuration of a graphile-worker producer or worker process. */
export interface GraphileConfig extends PeerRateConfig {
  role: "producer" | "worker";
  databaseUrl: string;
  /** graphile-worker's schema. */
  schema: string;
  /** producer: jobs to add. */
  count: number;
  /** producer: jobs per addJobs call. */
  batchSize: number;
  /** producer: addJobs calls in flight. */
  inFlight: number;
  /** worker: `concurrency` (jobs run at once). */
  concurrency: number;
  /** worker: Postgres pool size (graphile-worker's default is 10). */
  poolSize: number;
  /** worker: `localQueue.size` (jobs fetched ahead in one query); absent = graphile-worker's default (none). */
  localQueueSize?: number;
  /** worker: `completeJobBatchDelay` ms; absent = graphile-worker's default (no batching). */
  completeJobBatchDelay?: number;
}

/** Configuration of a River producer or worker process (`config` in bench/river/main.go). */
export interface RiverConfig extends PeerRateConfig {
  databaseUrl: string;
  /** Schema of River's tables. */
  schema: string;
  /** River queue of the run. */
  queue: string;
  /** producer: jobs to insert. */
  count: number;
  /** producer: jobs per InsertMany call. */
  batchSize: number;
  /** producer: InsertMany calls in flight. */
  inFlight: number;
  /** worker: MaxWorkers of the queue. */
  maxWorkers: number;
  /** worker: FetchCooldown, ms; 0 = River's default (100 ms). */
  fetchCooldownMs: number;
  /** worker: FetchPollInterval, ms; 0 = River's default (1 s). */
  fetchPollIntervalMs: number;
}

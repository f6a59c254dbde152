import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ConnectRequest,
  type ConnectResponse,
  ConnectResponseSchema,
  ResultStatus,
  type TaskResult,
  type WorkerHello,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import type { Dispatcher } from "../engine/dispatcher.js";
import { randomToken } from "../engine/ids.js";
import type { LeaseReaper } from "../engine/lease-reaper.js";
import type { ReportedResult, ResultRecorder } from "../engine/result-recorder.js";
import type { DispatchSession, HeldLease } from "../engine/session.js";
import type { ProgressBuffer } from "../engine/progress-buffer.js";
import type { Logger } from "../observability/logger.js";
import type { CallLogFields } from "../observability/rpc-trace.js";
import { MAX_PUBLISHED_TASK_IDS, type PublishedSession } from "../redis/cluster-directory.js";
import type { LeasedRecord, QueueStore } from "../redis/queue-store.js";
import { encodeData, type StoredData } from "./payload-codec.js";
import { acksResponses, assignmentResponses, type AckEntry } from "./worker-responses.js";
import { describeHello, type HelloDescription } from "./hello-description.js";
import { describeStreamEnd } from "./stream-end.js";
import { durationFromMs } from "./proto-time.js";
import { checkQueueName, checkTypeName } from "./submit-validation.js";
import { InvalidArgumentError } from "../errors.js";
import { toStorableText, unstorableTextProblem } from "../db/storable-text.js";
import type { AbandonCall } from "../transport/call-abandon.js";
import { toConnectError } from "./connect-errors.js";
import {
  acksBytes,
  assignmentBytes,
  HelloTimeoutError,
  MESSAGE_OVERHEAD_BYTES,
  type StreamBufferError,
  type StreamEndReason,
  type WorkerStreamLimits,
} from "./stream-limits.js";
import { StreamOutbox, type BufferTotal } from "./stream-outbox.js";

/** What a worker stream needs from the engine. */
export interface WorkerStreamDeps {
  dispatcher: Dispatcher;
  recorder: ResultRecorder;
  reaper: LeaseReaper;
  store: QueueStore;
  progress: ProgressBuffer;
  logger: Logger;
  serverId: string;
  leaseDurationMs: number;
  heartbeatIntervalMs: number;
  maxPayloadBytes: number;
  /** Highest `hello.capacity` accepted. */
  maxWorkerCapacity: number;
  /** Largest message the server accepts, told to the worker in the welcome. */
  maxReceiveMessageBytes: number;
  /** Largest message the server sends, told to the worker in the welcome. */
  maxSendMessageBytes: number;
  /** True once the server is shutting down: new streams are refused. */
  isDraining: () => boolean;
  /** Hello timeout and the bounds of each stream's response buffer. */
  limits: WorkerStreamLimits;
  /** Told when the server ends a stream to protect itself (metrics). */
  onStreamEnded?: (reason: StreamEndReason) => void;
  /** Bytes of responses waiting in every stream's buffer (metrics). */
  buffered?: BufferTotal;
  /** Told when a session opens (its hello accepted) and when it closes (the cluster directory). */
  sessions?: SessionEvents;
  /**
   * Told of results whose recording failed (a Redis error: the fencing script may have run
   * without its reply arriving, as in a failover), and of results found stale for a lease this
   * stream held (the script may have run in an earlier try whose reply was lost, the Redis
   * client sending it again to the promoted replica), so that recovery checks them.
   */
  onRecordingFailed?: (tasks: Array<{ id: string; queue: string }>) => void;
}

/** Hears each worker session open and close: once per session, never per task. */
export interface SessionEvents {
  /** The session's hello was accepted. */
  opened(session: PublishedSession): void;
  /** The session's stream closed. */
  closed(sessionId: string): void;
}

/** Most task types a hello may name. */
const MAX_TASK_TYPES = 256;

/** Why a stream ended whose requests simply ended. */
const WORKER_ENDED_IT = "the worker ended it (half-close, cancel or lost connection)";

function protocolError(message: string): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition);
}

/**
 * The server side of one `WorkerService.Connect` stream. It enforces the message order
 * (hello first and once), turns credits into dispatch, heartbeats into lease extensions and
 * results into fenced, durable transitions answered by acks. When the stream ends, for
 * whatever reason, every lease it still holds is released at once.
 */
export class WorkerStream implements DispatchSession {
  readonly id = randomToken(12);
  workerId = "";
  queues: string[] = [];
  taskTypes: string[] = [];
  credits = 0;
  capacity = 0;
  readonly held = new Map<string, HeldLease>();
  closed = false;
  draining = false;
  private description: HelloDescription = { taskTypes: [], labels: {}, sdk: "" };
  private connectedAt = 0;
  private lastHeartbeatAt = 0;
  private readonly outbox: StreamOutbox<ConnectResponse>;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;
  private onClosed: (() => void) | undefined;
  private readonly whenClosed = new Promise<void>((resolve) => (this.onClosed = resolve));
  /** Why the stream ended, as first learnt: recorded on the attempts its end loses. */
  private endCause: string | undefined;
  /** Set once the stream was given up for not reading: the transport ends the call. */
  private abandoned = false;

  /**
   * `abandon` ends the call when its client stops reading (from the transport; optional);
   * `logFields` go on every line the stream writes (the trace ids of its RPC span).
   */
  constructor(
    private readonly deps: WorkerStreamDeps,
    private readonly signal: AbortSignal,
    private readonly abandon?: AbandonCall,
    logFields: CallLogFields = {},
  ) {
    this.logger = deps.logger.child({ sessionId: this.id, ...logFields });
    this.outbox = new StreamOutbox({
      pauseBytes: deps.limits.bufferBytes,
      maxBytes: deps.limits.bufferMaxBytes,
      stallTimeoutMs: deps.limits.stallTimeoutMs,
      onCongestion: (congested) => this.onCongestion(congested),
      onOverflow: (error) => this.onOverflow(error),
      total: deps.buffered,
    });
  }

  /** True while responses wait for the client past the buffer bound: no tasks are leased to it. */
  get blocked(): boolean {
    return this.outbox.congested;
  }

  /** Runs the stream: reads `requests`, yields the responses. */
  async *run(requests: AsyncIterable<ConnectRequest>): AsyncGenerator<ConnectResponse> {
    if (this.deps.isDraining()) throw new ConnectError("server is draining; reconnect to another server", Code.Unavailable);
    const onAbort = () => {
      this.endCause ??= describeStreamEnd(this.signal.reason);
      this.outbox.close();
    };
    this.signal.addEventListener("abort", onAbort);
    const helloTimer = setTimeout(() => this.helloTimedOut(), this.deps.limits.helloTimeoutMs);
    helloTimer.unref();
    void this.read(requests).then(
      () => {
        // An HTTP/2 reset (a cancel, a lost connection) also ends the requests first, as a
        // half-close does: the server cannot tell them apart yet.
        this.endCause ??= this.signal.aborted ? describeStreamEnd(this.signal.reason) : WORKER_ENDED_IT;
        return this.finishReading();
      },
      (error: unknown) => this.fail(error),
    );
    try {
      for await (const message of this.outbox) yield message;
    } catch (error) {
      // An abandoned call ends in the transport (its failing writes land here): nothing to report.
      if (!this.abandoned) throw error;
    } finally {
      clearTimeout(helloTimer);
      this.signal.removeEventListener("abort", onAbort);
      // The status goes out now; the leases are released meanwhile (see end()).
      void this.close();
    }
  }

  /** What the cluster directory shows of this session. */
  describe(): PublishedSession {
    return {
      workerId: this.workerId,
      sessionId: this.id,
      queues: this.queues,
      ...this.description,
      capacity: this.capacity,
      inFlight: this.held.size,
      held: firstOf(this.held.keys(), MAX_PUBLISHED_TASK_IDS),
      connectedAt: this.connectedAt,
      lastHeartbeatAt: this.lastHeartbeatAt,
      draining: this.draining,
    };
  }

  deliver(tasks: LeasedRecord[]): void {
    if (this.closed) return;
    for (const response of assignmentResponses(tasks)) this.outbox.push(response, assignmentBytes(response.tasks), true);
  }

  cancel(taskId: string, leaseToken: string, reason: string): void {
    this.send({ case: "cancel", value: { taskId, leaseToken, reason } });
  }

  drain(deadline: Date, reason: string): void {
    this.draining = true;
    this.send({ case: "drain", value: { deadline: timestampFromDate(deadline), reason } });
  }

  end(error?: Error): Promise<void> {
    if (error) this.fail(error);
    else void this.finishReading();
    return this.whenClosed;
  }

  private send(message: MessageInitShape<typeof ConnectResponseSchema>["message"]): void {
    if (this.closed) return;
    this.outbox.push(create(ConnectResponseSchema, { message }), MESSAGE_OVERHEAD_BYTES);
  }

  /** Ends the stream with `error` (its status for the worker). */
  private fail(error: unknown): void {
    this.endCause ??= describeStreamEnd(error);
    this.outbox.fail(error);
  }

  private async read(requests: AsyncIterable<ConnectRequest>): Promise<void> {
    for await (const request of requests) {
      if (this.closed) return;
      await this.handle(request);
      // Read no further while the client leaves its responses unread.
      if (this.outbox.congested) await this.outbox.whenWritable();
    }
  }

  private onCongestion(congested: boolean): void {
    // Room to write again: credit waiting for it can be filled.
    if (!congested && !this.closed && this.credits > 0) this.deps.dispatcher.wakeSession(this);
  }

  /** The client does not read: end the stream now, whatever is still buffered for it. */
  private onOverflow(error: StreamBufferError): void {
    this.logger.warn({ workerId: this.workerId, reason: error.reason }, `worker stream ended: ${error.message}`);
    this.deps.onStreamEnded?.(error.reason);
    this.endCause ??= describeStreamEnd(error);
    this.abandoned = true;
    void this.close();
    this.abandon?.(toConnectError(error, this.logger));
  }

  private helloTimedOut(): void {
    if (this.workerId !== "" || this.outbox.isClosed) return;
    this.deps.onStreamEnded?.("hello_timeout");
    this.outbox.fail(new HelloTimeoutError(this.deps.limits.helloTimeoutMs));
  }

  private async finishReading(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.outbox.close();
  }

  private async handle(request: ConnectRequest): Promise<void> {
    const message = request.message;
    if (message.case === undefined) throw protocolError("empty ConnectRequest: set one of its fields");
    if (message.case === "hello") {
      if (this.workerId !== "") throw protocolError("hello sent twice on one stream");
      this.hello(message.value);
      return;
    }
    if (this.workerId === "") throw protocolError(`${message.case} before hello: the first message must be hello`);
    switch (message.case) {
      case "credit":
        return this.credit(message.value.credits);
      case "heartbeat":
        return this.heartbeat();
      case "results":
        return this.results(message.value.results);
      case "progress":
        return this.progress(message.value.taskId, message.value.percent, message.value.message);
      case "draining":
        this.draining = true;
        this.logger.info({ reason: message.value.reason }, "worker draining");
        return;
    }
  }

  private hello(hello: WorkerHello): void {
    const invalid = (field: string, problem: string) =>
      new ConnectError(new InvalidArgumentError(`hello.${field}`, problem).message, Code.InvalidArgument);
    if (hello.workerId === "" || hello.workerId.length > 128) throw invalid("worker_id", "must be 1-128 characters");
    const workerIdProblem = unstorableTextProblem(hello.workerId);
    if (workerIdProblem !== undefined) throw invalid("worker_id", workerIdProblem);
    if (hello.queues.length === 0) throw invalid("queues", "must name at least one queue");
    hello.queues.forEach((q, i) => {
      try {
        checkQueueName(q, `hello.queues[${i}]`);
      } catch (error) {
        throw new ConnectError((error as Error).message, Code.InvalidArgument);
      }
    });
    if (hello.taskTypes.length > MAX_TASK_TYPES) throw invalid("task_types", `at most ${MAX_TASK_TYPES} types, got ${hello.taskTypes.length}`);
    hello.taskTypes.forEach((t, i) => {
      try {
        checkTypeName(t, `hello.task_types[${i}]`);
      } catch (error) {
        throw new ConnectError((error as Error).message, Code.InvalidArgument);
      }
    });
    const maxCapacity = this.deps.maxWorkerCapacity;
    if (!Number.isInteger(hello.capacity) || hello.capacity < 1 || hello.capacity > maxCapacity) {
      throw invalid("capacity", `must be between 1 and ${maxCapacity}, got ${hello.capacity}`);
    }
    this.workerId = hello.workerId;
    this.queues = [...new Set(hello.queues)];
    this.taskTypes = [...new Set(hello.taskTypes)];
    this.capacity = hello.capacity;
    this.description = describeHello(hello);
    this.connectedAt = Date.now();
    this.deps.dispatcher.register(this);
    this.deps.sessions?.opened(this.describe());
    this.logger.info({ workerId: this.workerId, queues: this.queues, capacity: hello.capacity, sdk: hello.sdk }, "worker connected");
    this.send({
      case: "welcome",
      value: {
        sessionId: this.id,
        serverId: this.deps.serverId,
        leaseDuration: durationFromMs(this.deps.leaseDurationMs),
        heartbeatInterval: durationFromMs(this.deps.heartbeatIntervalMs),
        maxPayloadBytes: this.deps.maxPayloadBytes,
        maxReceiveMessageBytes: this.deps.maxReceiveMessageBytes,
        maxSendMessageBytes: this.deps.maxSendMessageBytes,
      },
    });
  }

  /** Adds credit; the dispatcher caps the unused balance at the capacity. */
  private credit(credits: number): void {
    if (!Number.isInteger(credits) || credits < 1 || credits > this.capacity) {
      throw new ConnectError(
        new InvalidArgumentError("credit.credits", `must be between 1 and the hello's capacity (${this.capacity}), got ${credits}`).message,
        Code.InvalidArgument,
      );
    }
    if (this.draining) return;
    this.deps.dispatcher.grant(this, credits);
  }

  private async heartbeat(): Promise<void> {
    this.lastHeartbeatAt = Date.now();
    const extended = await this.deps.store.extend(this.id, this.queues, this.deps.leaseDurationMs);
    this.send({ case: "heartbeatAck", value: { serverTime: timestampFromDate(new Date()), leasesExtended: extended } });
  }

  private results(results: TaskResult[]): void {
    const valid: ReportedResult[] = [];
    const rejected: Array<{ taskId: string; leaseToken: string; message: string }> = [];
    results.forEach((r, i) => {
      const checked = this.checkResult(r, i);
      if (typeof checked === "string") rejected.push({ taskId: r.taskId, leaseToken: r.leaseToken, message: checked });
      else valid.push(checked);
    });
    if (rejected.length > 0) {
      this.sendAcks(rejected.map((r) => ({ ...r, status: ResultStatus.REJECTED })));
    }
    if (valid.length === 0) return;
    const recording = this.deps.recorder.record(valid).then(
      (verdicts) => {
        // Stale although this stream held the lease: rare (a lease lost with a master, reaped, or
        // a fence whose first try ran without its reply arriving), and cheap to have checked.
        const doubtful = valid.filter((r, i) => verdicts[i]!.status === "stale" && r.queue !== "");
        if (doubtful.length > 0) this.deps.onRecordingFailed?.(doubtful.map((r) => ({ id: r.taskId, queue: r.queue })));
        this.deps.dispatcher.forget(valid.map((r) => ({ id: r.taskId, leaseToken: r.leaseToken })), this);
        // Recorded results free room under the capacity: credit may be waiting for it.
        if (this.credits > 0) this.deps.dispatcher.wakeSession(this);
        this.sendAcks(
          valid.map((r, i) => ({
            taskId: r.taskId,
            leaseToken: r.leaseToken,
            status: verdicts[i]!.status === "accepted" ? ResultStatus.ACCEPTED : ResultStatus.STALE,
            message: verdicts[i]!.status === "accepted" ? "" : "lease is no longer current: result ignored",
          })),
        );
      },
      (error: unknown) => {
        this.logger.error({ err: error }, "recording results failed");
        this.deps.onRecordingFailed?.(valid.filter((r) => r.queue !== "").map((r) => ({ id: r.taskId, queue: r.queue })));
        this.fail(new ConnectError("recording results failed; reconnect", Code.Unavailable));
      },
    );
    this.inFlight.add(recording);
    void recording.finally(() => this.inFlight.delete(recording));
  }

  /** The result ready to record, or the problem that makes it rejected. */
  private checkResult(r: TaskResult, i: number): ReportedResult | string {
    if (r.taskId === "") return `results[${i}].task_id: is required`;
    if (r.leaseToken === "") return `results[${i}].lease_token: is required`;
    if (r.outcome.case === undefined) return `results[${i}].outcome: set success or failure`;
    if (r.outcome.case === "failure") {
      const failure = r.outcome.value;
      return {
        sessionId: this.id,
        taskId: r.taskId,
        queue: this.held.get(r.taskId)?.queue ?? "",
        leaseToken: r.leaseToken,
        outcome: {
          kind: "failure",
          // Sanitised, not refused: a worker's failure must be recorded whatever its text.
          error: {
            message: toStorableText(failure.message.slice(0, 4096)),
            type: toStorableText(failure.type.slice(0, 128)),
            nonRetryable: failure.nonRetryable,
          },
        },
      };
    }
    let data: StoredData;
    try {
      data = encodeData(r.outcome.value.resultData, "result", `results[${i}].success.result`);
    } catch (error) {
      return (error as Error).message;
    }
    if (data.bytes.length > this.deps.maxPayloadBytes) {
      return `results[${i}].success.result: ${data.bytes.length} bytes exceeds the limit of ${this.deps.maxPayloadBytes} bytes`;
    }
    return {
      sessionId: this.id,
      taskId: r.taskId,
      queue: this.held.get(r.taskId)?.queue ?? "",
      leaseToken: r.leaseToken,
      outcome: { kind: "success", result: { bytes: data.bytes, format: data.format } },
    };
  }

  private sendAcks(acks: AckEntry[]): void {
    if (this.closed) return;
    for (const response of acksResponses(acks)) this.outbox.push(response, acksBytes(response.acks.length));
  }

  private progress(taskId: string, percent: number, message: string): void {
    if (!this.held.has(taskId)) return;
    const clamped = Math.min(100, Math.max(0, Number.isFinite(percent) ? percent : 0));
    this.deps.progress.report(this.id, { id: taskId, percent: clamped, message });
  }

  private close(): Promise<void> {
    this.closing ??= this.release().finally(() => this.onClosed?.());
    return this.closing;
  }

  private async release(): Promise<void> {
    this.closed = true;
    this.deps.dispatcher.unregister(this.id);
    if (this.workerId === "") return;
    this.deps.sessions?.closed(this.id);
    try {
      await this.deps.reaper.releaseSession(this.id, this.queues, this.endCause ?? "the stream closed");
    } catch (error) {
      this.logger.warn({ err: error }, "releasing leases of closed session failed; their leases will expire");
    }
    this.logger.info({ workerId: this.workerId }, "worker disconnected");
  }
}

/** The first `n` values of an iterable. */
function firstOf(set: Iterable<string>, n: number): string[] {
  const out: string[] = [];
  for (const id of set) {
    if (out.length >= n) break;
    out.push(id);
  }
  return out;
}

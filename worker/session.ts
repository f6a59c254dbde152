import { durationMs, timestampDate, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { ResultStatus, type DrainCommand, type Welcome } from "../gen/taskqueue/v1/worker_service_pb.js";
import { creditsToGrant } from "./credit-policy.js";
import { ConnectionLostError, ProtocolError, WorkerStoppingError } from "./errors.js";
import { applyAcks, oversizeResultReplacement, rejectedResultReplacement } from "./acks.js";
import type { AckCounts, SessionEndReason, TypedEmitter, WorkerEvents } from "./events.js";
import { Liveness } from "./liveness.js";
import type { CompiledWorkerOptions } from "./options.js";
import { Outbox } from "./outbox.js";
import {
  creditRequest,
  drainingRequest,
  heartbeatRequest,
  helloRequest,
  progressRequest,
  encodedResultsRequest,
} from "./requests.js";
import { ResultTracker } from "./result-tracker.js";
import { ServerClock } from "./server-clock.js";
import type { SlotPool } from "./slot-pool.js";
import { RunningTask, type RunningTaskHooks, type TaskEnvironment } from "./task-runner.js";
import { TimerSet } from "./timer-set.js";
import type { AssignedTask } from "./wire/assignment.js";
import type { FrameService, RequestFrame } from "./wire/frame-service.js";
import { decodeServerMessage, type ReceivedAck, type ServerMessage } from "./wire/server-messages.js";
import { encodeTaskResultBatches, type OutgoingResult } from "./wire/task-results.js";

/** How long to wait for the server to end the stream after the worker half-closed it. */
const CLOSE_GRACE_MS = 2_000;
/** Bound of a server drain that states no deadline. */
const DEFAULT_DRAIN_MS = 30_000;
/** Largest request the server accepts when its welcome does not say (gRPC's usual default). */
const DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Dependencies of a {@link Session}. */
export interface SessionDeps {
  /** WorkerService client on the current transport, speaking frames. */
  client: Client<FrameService>;
  /** Compiled worker options. */
  options: CompiledWorkerOptions;
  /** The worker's slots, shared by its sessions. */
  slots: SlotPool;
  /** Where events are emitted. */
  events: TypedEmitter<WorkerEvents>;
  /** The worker's running ack totals, updated in place. */
  ackCounts: AckCounts;
}

/** How a session ended. */
export interface SessionEnd {
  /** Why it ended. */
  reason: SessionEndReason;
  /** The stream error, or what made the worker give up on the server. */
  error: unknown;
  /** Whether the server welcomed the session. */
  welcomed: boolean;
  /** Tasks that lost their lease with the stream. */
  lostTasks: number;
}

type Mode = "connecting" | "active" | "draining" | "stopping";

/**
 * One stream's life: hello, welcome, credits, assignments, heartbeats, results and acks,
 * until the stream ends, fails, goes deaf, drains or is stopped. Tasks still held when the
 * stream goes are dropped (their leases are lost) and their results discarded.
 */
export class Session {
  private readonly outbox = new Outbox<RequestFrame>();
  private readonly call = new AbortController();
  private readonly held = new Map<string, RunningTask>();
  private readonly results = new ResultTracker();
  private readonly serverClock = new ServerClock();
  private readonly replacedRejections = new Set<string>();
  private mode: Mode = "connecting";
  private welcomed = false;
  private closing = false;
  private ended = false;
  private endReason: SessionEndReason | undefined;
  private endError: unknown;
  private outstandingCredit = 0;
  /** Largest request the server accepts (from the welcome): result batches stay within it. */
  private maxRequestBytes = DEFAULT_MAX_REQUEST_BYTES;
  private flushScheduled = false;
  private liveness: Liveness | undefined;
  private readonly timers: TimerSet;
  private readonly taskEnvironment: TaskEnvironment;

  /** Creates a session; nothing happens before {@link Session.run}. */
  constructor(private readonly deps: SessionDeps) {
    const { options, events, slots } = deps;
    this.timers = new TimerSet(options.clock);
    const hooks: RunningTaskHooks = {
      onOutcome: (task, result) => this.onOutcome(task, result),
      onSettled: () => slots.release(),
      onProgress: (task, percent, message) =>
        this.outbox.push(progressRequest(task.id, task.leaseToken, percent, message)),
    };
    this.taskEnvironment = {
      logger: options.logger,
      clock: options.clock,
      progressIntervalMs: options.progressIntervalMs,
      events,
      hooks,
    };
  }

  /** Credits granted on this stream and not yet consumed by assignments. */
  get credit(): number {
    return this.outstandingCredit;
  }

  /** Whether the server welcomed this session. */
  get isWelcomed(): boolean {
    return this.welcomed;
  }

  /** Opens the stream and serves it until it ends; never rejects. */
  async run(): Promise<SessionEnd> {
    const { client, options, slots } = this.deps;
    const offRelease = slots.onRelease(() => this.scheduleFlush());
    this.outbox.push(helloRequest(options));
    this.timers.after(options.welcomeTimeoutMs, () => {
      if (!this.welcomed) {
        this.terminate("deaf", new Error(`no welcome within ${options.welcomeTimeoutMs} ms`));
      }
    });
    try {
      for await (const frame of client.connect(this.outbox, { signal: this.call.signal })) {
        this.liveness?.touch();
        this.handle(decodeServerMessage(frame));
      }
      this.endReason ??= this.mode === "draining" ? "drained" : this.mode === "stopping" ? "stopped" : "ended";
    } catch (error) {
      if (this.endReason === undefined) {
        this.endReason = "failed";
        this.endError = error;
      }
    } finally {
      offRelease();
    }
    return this.cleanUp();
  }

  /**
   * Graceful stop: announces draining, grants no more credit, keeps heartbeating, and
   * closes the stream once every held task has a result acknowledged; at `deadlineAt`
   * (clock time) the remaining tasks are aborted and the stream dropped.
   */
  stop(deadlineAt: number): void {
    if (this.ended) return;
    if (!this.welcomed) {
      this.terminate("stopped");
      return;
    }
    if (this.mode === "stopping") return;
    this.mode = "stopping";
    this.outbox.push(drainingRequest("worker stopping"));
    this.timers.after(deadlineAt - this.deps.options.clock.now(), () => {
      for (const task of this.held.values()) task.drop(new WorkerStoppingError());
      this.terminate("stopped");
    });
    this.checkQuiescent();
  }

  private handle(message: ServerMessage): void {
    if (!this.welcomed && message.case !== "welcome") {
      this.violation(`expected welcome first, got ${message.case ?? "an empty message"}`, true);
      return;
    }
    switch (message.case) {
      case "welcome":
        this.onWelcome(message.value);
        break;
      case "assignment":
        this.onAssignment(message.value);
        break;
      case "acks":
        this.onAcks(message.value);
        break;
      case "cancel": {
        const task = this.held.get(message.value.taskId);
        if (task && (!message.value.leaseToken || message.value.leaseToken === task.leaseToken)) {
          this.deps.options.logger.debug({ taskId: task.id, reason: message.value.reason }, "task cancelled");
          task.cancel(message.value.reason);
        }
        break;
      }
      case "drain":
        this.onDrain(message.value);
        break;
      case "heartbeatAck":
        if (message.value.serverTime) this.serverClock.observe(timestampMs(message.value.serverTime), this.deps.options.clock.now());
        break;
      default:
        break;
    }
  }

  private onWelcome(welcome: Welcome): void {
    const { options, events } = this.deps;
    if (this.welcomed) {
      this.violation("second welcome ignored", false);
      return;
    }
    this.welcomed = true;
    this.mode = "active";
    if (welcome.maxReceiveMessageBytes > 0) this.maxRequestBytes = welcome.maxReceiveMessageBytes;
    const intervalMs = (welcome.heartbeatInterval && durationMs(welcome.heartbeatInterval)) || options.heartbeatIntervalMs;
    const leaseDurationMs = welcome.leaseDuration ? durationMs(welcome.leaseDuration) : 0;
    this.liveness = new Liveness({
      clock: options.clock,
      intervalMs,
      beat: () => this.outbox.push(heartbeatRequest([...this.held.keys()])),
      deaf: (silentMs) => this.terminate("deaf", new Error(`server silent for ${silentMs} ms`)),
    });
    this.liveness.start();
    options.logger.info(
      { sessionId: welcome.sessionId, serverId: welcome.serverId, heartbeatIntervalMs: intervalMs },
      "worker session open",
    );
    events.emit("welcome", {
      sessionId: welcome.sessionId,
      serverId: welcome.serverId,
      leaseDurationMs,
      heartbeatIntervalMs: intervalMs,
    });
    this.grantCredit();
  }

  private onAssignment(tasks: AssignedTask[]): void {
    const { options, slots, events } = this.deps;
    if (tasks.length > this.outstandingCredit) {
      this.violation(`${tasks.length} tasks assigned with ${this.outstandingCredit} credits`, false);
    }
    this.outstandingCredit = Math.max(0, this.outstandingCredit - tasks.length);
    const handlers = options.handlers;
    for (const leased of tasks) {
      const handler = Object.hasOwn(handlers, leased.type) ? handlers[leased.type] : undefined;
      const task = new RunningTask(this.taskEnvironment, leased, handler);
      if (this.closing) {
        // The stream is half-closed: no result could be sent, let the lease lapse.
        events.emit("task:lost", { task: task.info, reason: "stream closing" });
        continue;
      }
      slots.acquire();
      this.held.set(leased.taskId, task);
      task.start();
    }
  }

  private onOutcome(task: RunningTask, result: OutgoingResult): void {
    if (this.held.get(task.id) === task) this.held.delete(task.id);
    if (this.ended) return;
    this.results.add(result);
    this.scheduleFlush();
  }

  private onAcks(acks: ReceivedAck[]): void {
    const { options, events, ackCounts } = this.deps;
    applyAcks(acks, { results: this.results, counts: ackCounts, logger: options.logger, events });
    // A rejected result leaves the lease standing: end it with a non-retryable failure (once),
    // so the task does not stay RUNNING while this stream heartbeats.
    for (const ack of acks) {
      if (ack.status !== ResultStatus.REJECTED) continue;
      const key = `${ack.taskId}/${ack.leaseToken}`;
      if (this.replacedRejections.has(key)) continue;
      this.replacedRejections.add(key);
      this.results.add(rejectedResultReplacement(ack.taskId, ack.leaseToken, ack.message));
      this.scheduleFlush();
    }
    this.checkQuiescent();
  }

  private onDrain(drain: DrainCommand): void {
    const { options, events } = this.deps;
    const deadline = drain.deadline ? timestampDate(drain.deadline) : undefined;
    options.logger.warn({ reason: drain.reason, deadline }, "server draining");
    events.emit("drain", { reason: drain.reason, deadline });
    if (this.mode === "active") this.mode = "draining";
    // The deadline is on the server's clock: read it on ours.
    const boundMs = deadline ? this.serverClock.toLocal(deadline.getTime()) - options.clock.now() : DEFAULT_DRAIN_MS;
    this.timers.after(boundMs + CLOSE_GRACE_MS, () => this.terminate("drained"));
    this.checkQuiescent();
  }

  /**
   * Sends pending results, in as few messages as the server's size limit allows, then tops up
   * credit. A result too large for any message is replaced by a failure for its lease.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.ended) return;
    if (this.results.pendingCount > 0) {
      const { batches, tooLarge } = encodeTaskResultBatches(this.results.takeBatch(), this.maxRequestBytes);
      for (const batch of batches) this.outbox.push(encodedResultsRequest(batch));
      for (const result of tooLarge) {
        this.deps.options.logger.error({ taskId: result.taskId, maxRequestBytes: this.maxRequestBytes }, "result too large to send");
        this.results.add(oversizeResultReplacement(result.taskId, result.leaseToken, this.maxRequestBytes));
      }
      if (tooLarge.length > 0) this.scheduleFlush();
    }
    this.grantCredit();
    this.checkQuiescent();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.ended) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Grants free slots not already covered by outstanding credit ({@link creditsToGrant}). */
  private grantCredit(): void {
    if (this.mode !== "active" || this.closing) return;
    const { slots } = this.deps;
    const credits = creditsToGrant(slots.capacity, slots.busy, this.outstandingCredit);
    if (credits === 0) return;
    this.outstandingCredit += credits;
    this.outbox.push(creditRequest(credits));
  }

  /** While draining or stopping, half-closes the stream once nothing is left to report. */
  private checkQuiescent(): void {
    if (this.closing || this.ended || this.flushScheduled) return;
    if (this.mode !== "draining" && this.mode !== "stopping") return;
    if (this.held.size > 0 || !this.results.isSettled) return;
    this.closing = true;
    this.liveness?.stopBeating();
    this.outbox.close();
    const reason = this.mode === "draining" ? "drained" : "stopped";
    this.timers.after(CLOSE_GRACE_MS, () => this.terminate(reason));
  }

  private violation(message: string, fatal: boolean): void {
    const error = new ProtocolError(message);
    this.deps.options.logger.error({ err: error }, "worker protocol violation");
    this.deps.events.emit("error", error);
    if (fatal) this.terminate("failed", error);
  }

  private terminate(reason: SessionEndReason, error?: unknown): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.endError = error;
    this.call.abort(error ?? new Error(`session ${reason}`));
  }

  private cleanUp(): SessionEnd {
    this.ended = true;
    this.liveness?.stop();
    this.timers.clear();
    this.outbox.close();
    // Held tasks have no result out: their leases go with the stream.
    const lostTasks = this.held.size;
    for (const task of this.held.values()) task.drop(new ConnectionLostError());
    this.held.clear();
    this.results.clear();
    this.outstandingCredit = 0;
    return {
      reason: this.endReason ?? "ended",
      error: this.endError,
      welcomed: this.welcomed,
      lostTasks,
    };
  }
}

/**
 * The taskqueue worker SDK: connect to a taskqueue server, lease tasks within the credits
 * you grant, run them with handlers and report their results.
 */
export { createWorker, type StopOptions, type Worker, type WorkerStats } from "./create-worker.js";
export type { WorkerOptions } from "./options.js";
export type { TaskContext, TaskHandler, TaskHandlers, TaskInfo } from "./task-context.js";
export type { AckCounts, AckStatus, SessionEndReason, WorkerEvents } from "./events.js";
export type { FailureInfo } from "./payload.js";
export type { Clock } from "./clock.js";
export type { LogFn, Logger } from "./logger.js";
export {
  ConnectionLostError,
  NonRetryableError,
  ProtocolError,
  TaskCancelledError,
  TaskTimeoutError,
  UnknownTaskTypeError,
  WorkerOptionsError,
  WorkerStoppingError,
  type NonRetryableErrorOptions,
} from "./errors.js";

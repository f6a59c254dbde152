/// <reference lib="es2024.string" />
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { TaskQueueError } from "../errors.js";
import type { Logger } from "../observability/logger.js";
import { callLogger } from "../observability/rpc-trace.js";
import { unavailableDependency } from "../engine/dependency-errors.js";
import { ERROR_ID_KEY, newErrorId } from "../transport/error-id.js";

const codeByName: Record<TaskQueueError["code"], Code> = {
  INVALID_ARGUMENT: Code.InvalidArgument,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  NOT_FOUND: Code.NotFound,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  UNAVAILABLE: Code.Unavailable,
  ALREADY_EXISTS: Code.AlreadyExists,
};

/** Connect code of a domain error code name. */
export function connectCodeOf(name: TaskQueueError["code"]): Code {
  return codeByName[name];
}

/**
 * Maps any error thrown inside a service to a ConnectError: domain errors keep their
 * code and message (made well-formed: it may quote a client's text); anything unexpected becomes INTERNAL with a generic message and an error id
 * (`x-error-id`); the details go to the log with that id, never to the client.
 */
export function toConnectError(error: unknown, logger: Logger): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof TaskQueueError) {
    return new ConnectError(error.message.toWellFormed(), codeByName[error.code]);
  }
  const down = unavailableDependency(error);
  if (down) {
    logger.warn({ err: error, dependency: down }, "dependency unavailable");
    return new ConnectError(`${down === "postgres" ? "the task store (Postgres)" : "the dispatch state (Redis)"} is unavailable; retry later`, Code.Unavailable);
  }
  const errorId = newErrorId();
  logger.error({ err: error, errorId }, "unexpected error in service handler");
  return new ConnectError("internal error", Code.Internal, { [ERROR_ID_KEY]: errorId });
}

/**
 * Wraps every method of a service implementation so that thrown errors are mapped by
 * {@link toConnectError}. Works for unary and streaming (async generator) methods.
 */
export function withErrorMapping<T extends object>(impl: T, logger: Logger): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(impl)) {
    if (typeof method !== "function") continue;
    const fn = method as (...args: unknown[]) => unknown;
    if (fn.constructor.name === "AsyncGeneratorFunction") {
      wrapped[name] = async function* (...args: unknown[]) {
        try {
          yield* fn.apply(impl, args) as AsyncGenerator<unknown>;
        } catch (error) {
          throw toConnectError(error, callLogger(logger, handlerContextOf(args)?.values));
        }
      };
    } else {
      wrapped[name] = async (...args: unknown[]) => {
        try {
          return await fn.apply(impl, args);
        } catch (error) {
          throw toConnectError(error, callLogger(logger, handlerContextOf(args)?.values));
        }
      };
    }
  }
  return wrapped as T;
}

/** The handler context of a service method's call: its last argument. */
function handlerContextOf(args: unknown[]): HandlerContext | undefined {
  return args[args.length - 1] as HandlerContext | undefined;
}

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../observability/logger.js";
import { callLogger } from "../observability/rpc-trace.js";
import { ERROR_ID_KEY, newErrorId } from "./error-id.js";
import { internalErrorMessage } from "./grpc-errors.js";

/**
 * A server interceptor for the Connect gateway giving it the grpc-js adapter's error
 * policy: a `ConnectError` passes unchanged; any other error thrown by a handler, before
 * or while streaming, becomes INTERNAL "internal error" with an error id (`x-error-id`) and is logged with that
 * id, so no message or stack trace reaches the client. Errors after the client went away are logged at debug.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const rpc = `/${req.service.typeName}/${req.method.name}`;
    const mapError = (error: unknown): ConnectError => {
      if (error instanceof ConnectError) {
        return error;
      }
      const log = callLogger(logger, req.contextValues);
      if (req.signal.aborted) {
        log.debug({ err: error, rpc }, "rpc ended after the call was aborted");
        return ConnectError.from(error, Code.Canceled);
      }
      const errorId = newErrorId();
      log.error({ err: error, rpc, errorId }, "rpc failed with an unexpected error");
      return new ConnectError(internalErrorMessage, Code.Internal, { [ERROR_ID_KEY]: errorId });
    };
    let res;
    try {
      res = await next(req);
    } catch (error) {
      throw mapError(error);
    }
    if (!res.stream) {
      return res;
    }
    return { ...res, message: mapStreamErrors(res.message, mapError) };
  };
}

async function* mapStreamErrors<T>(
  messages: AsyncIterable<T>,
  mapError: (error: unknown) => ConnectError,
): AsyncGenerator<T> {
  try {
    yield* messages;
  } catch (error) {
    throw mapError(error);
  }
}

import { once, type EventEmitter } from "node:events";
import { WaitTimeoutError } from "../../tools/local-services/wait-for.js";

/** `waitFor` lives with the local services (their start-up checks use it); tests import it from here too. */
export { waitFor, WaitTimeoutError, type WaitForOptions } from "../../tools/local-services/wait-for.js";

/** Options for {@link waitForEvent}. */
export interface WaitForEventOptions {
  /** Deadline, in milliseconds from the call. */
  timeoutMs: number;
  /** What was awaited, for the timeout error; default `event "<name>"`. */
  message?: string;
}

/**
 * Resolves with the arguments of the next `name` event of `emitter`. Rejects if the emitter
 * emits `error` first, or with {@link WaitTimeoutError} after `timeoutMs`.
 */
export async function waitForEvent<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  name: string | symbol,
  options: WaitForEventOptions,
): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs);
  try {
    return (await once(emitter, name, { signal: controller.signal })) as T;
  } catch (error) {
    if (controller.signal.aborted) {
      const what = options.message ?? `event "${String(name)}"`;
      throw new WaitTimeoutError(`timed out after ${options.timeoutMs} ms waiting for ${what}`);
    }
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

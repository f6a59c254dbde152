import { ROOT_CONTEXT, type Context, type ContextManager } from "@opentelemetry/api";
import type { EventEmitter } from "node:events";

/** The listener-registering methods of an EventEmitter that {@link CallStackContextManager.bind} wraps. */
const ADD_METHODS = ["on", "addListener", "once", "prependListener", "prependOnceListener"] as const;

/**
 * An OpenTelemetry context manager that keeps the active context for the synchronous extent of
 * `with()` only: the context is pushed, the function runs, and the previous context is restored
 * when it returns (or throws). It does not follow `await`, timers or promise continuations.
 *
 * Why: the default manager of Node 20 (`AsyncLocalStorage`) turns on async hooks for the whole
 * process, so every promise and callback pays for context propagation even in calls that are
 * not sampled. A process that passes the context it needs explicitly (the server carries each
 * call's context in its handler context and each task's in the task) needs only the synchronous
 * part: instrumentations start their spans, and inject or read the active context, within the
 * `with()` that made it active.
 *
 * `bind` wraps a function, or the listeners later added to an EventEmitter, so they run with the
 * bound context active.
 */
export class CallStackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;

  active(): Context {
    return this.current;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
    context: Context,
    fn: F,
    thisArg?: ThisParameterType<F>,
    ...args: A
  ): ReturnType<F> {
    const previous = this.current;
    this.current = context;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = previous;
    }
  }

  bind<T>(context: Context, target: T): T {
    if (typeof target === "function") return this.bindFunction(context, target as (...args: unknown[]) => unknown) as T;
    if (isEmitter(target)) this.bindEmitter(context, target);
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    this.current = ROOT_CONTEXT;
    return this;
  }

  private bindFunction(context: Context, fn: (...args: unknown[]) => unknown): (...args: unknown[]) => unknown {
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(context, () => fn.apply(this, args));
    };
  }

  /**
   * Makes listeners added to `emitter` from now on run with `context` active. Each original
   * listener is remembered with its wrapper, so `removeListener` with the original still works.
   */
  private bindEmitter(context: Context, emitter: EventEmitter): void {
    const wrappers = new WeakMap<(...args: unknown[]) => unknown, (...args: unknown[]) => unknown>();
    for (const name of ADD_METHODS) {
      const add = emitter[name].bind(emitter) as (event: string | symbol, listener: (...args: unknown[]) => unknown) => EventEmitter;
      emitter[name] = ((event: string | symbol, listener: (...args: unknown[]) => unknown) => {
        let wrapper = wrappers.get(listener);
        if (!wrapper) {
          wrapper = this.bindFunction(context, listener);
          wrappers.set(listener, wrapper);
        }
        return add(event, wrapper);
      }) as EventEmitter[typeof name];
    }
    for (const name of ["off", "removeListener"] as const) {
      const remove = emitter[name].bind(emitter) as (event: string | symbol, listener: (...args: unknown[]) => unknown) => EventEmitter;
      emitter[name] = ((event: string | symbol, listener: (...args: unknown[]) => unknown) =>
        remove(event, wrappers.get(listener) ?? listener)) as EventEmitter[typeof name];
    }
  }
}

function isEmitter(target: unknown): target is EventEmitter {
  return (
    typeof target === "object" &&
    target !== null &&
    typeof (target as EventEmitter).on === "function" &&
    typeof (target as EventEmitter).removeListener === "function"
  );
}

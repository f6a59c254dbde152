import { HealthCheckResponse_ServingStatus as ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";

export { ServingStatus };

/** The service name that stands for the server as a whole. */
export const overallService = "";

/** Options for {@link HealthStatus}. */
export interface HealthStatusOptions {
  /**
   * Statuses known from the start, by service name (`""` is the whole server).
   * Default `{ "": SERVING }`.
   */
  initial?: Readonly<Record<string, ServingStatus>>;
}

type Listener = (status: ServingStatus) => void;

/**
 * The serving status of the server (`""`) and of each of its services, as the gRPC
 * health protocol reports it. Watchers hear every change.
 */
export class HealthStatus {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Creates the registry with the initial statuses. */
  constructor(options: HealthStatusOptions = {}) {
    const initial = options.initial ?? { [overallService]: ServingStatus.SERVING };
    for (const [service, status] of Object.entries(initial)) {
      this.statuses.set(service, status);
    }
  }

  /** Sets a service's status (`""` for the whole server); watchers hear it if it changed. */
  set(service: string, status: ServingStatus): void {
    if (this.statuses.get(service) === status) {
      return;
    }
    this.statuses.set(service, status);
    for (const listener of this.listeners.get(service) ?? []) {
      listener(status);
    }
  }

  /** Sets every known service, and the whole server, to one status (e.g. when draining). */
  setAll(status: ServingStatus): void {
    this.set(overallService, status);
    for (const service of [...this.statuses.keys()]) {
      this.set(service, status);
    }
  }

  /** The service's status, or undefined when the service is not known. */
  get(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /**
   * The service's status now, then each change, until the signal aborts (the iteration
   * then ends). An unknown service reads as SERVICE_UNKNOWN until it is set. Changes
   * made while the consumer is busy are coalesced to the latest; no status is repeated.
   */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    let pending: ServingStatus | undefined = this.get(service) ?? ServingStatus.SERVICE_UNKNOWN;
    let wake: (() => void) | undefined;
    const listener: Listener = (status) => {
      pending = status;
      wake?.();
    };
    const onAbort = (): void => wake?.();
    const listeners = this.listenersOf(service);
    listeners.add(listener);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      let last: ServingStatus | undefined;
      while (!signal.aborted) {
        if (pending !== undefined && pending !== last) {
          last = pending;
          pending = undefined;
          yield last;
          continue;
        }
        pending = undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      listeners.delete(listener);
      if (listeners.size === 0) {
        this.listeners.delete(service);
      }
      signal.removeEventListener("abort", onAbort);
    }
  }

  private listenersOf(service: string): Set<Listener> {
    let set = this.listeners.get(service);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(service, set);
    }
    return set;
  }
}

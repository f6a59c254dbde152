/**
 * The lifecycle every long-lived component of the server shares: started once, in order,
 * by a {@link ServiceGroup}, and stopped once, in reverse. `stop()` resolves once the
 * component has finished what it had under way (a periodic run, a flush) and will start
 * nothing more.
 */
export interface Service {
  /** Starts the component (arms its timers, subscribes, listens). */
  start(): void | Promise<void>;
  /** Stops the component and waits for the work it had under way. */
  stop(): Promise<void>;
}

import type { Logger } from "../observability/logger.js";
import { PeriodicTask } from "./periodic-task.js";
import type { Service } from "./service.js";

/** What one check of a dependency found. */
export type DependencyState = "ok" | "unavailable" | "timeout";

/** One check of one dependency. */
export interface DependencyCheck {
  state: DependencyState;
  /** Round trip, ms; undefined when it did not answer. */
  latencyMs?: number;
  /** Why it failed (for the log only: it may name addresses). */
  error?: unknown;
}

/** Every dependency's check, by name (e.g. `postgres`, `redis`). */
export interface DependencyReport {
  checks: Record<string, DependencyCheck>;
  /** True when every dependency answered. */
  ok: boolean;
  /** Epoch ms when the checks started. */
  checkedAt: number;
}

/** Options for {@link DependencyChecks}. */
export interface DependencyChecksOptions {
  /** A trivial round trip to each dependency, by name; resolves when it answered. */
  pings: Record<string, () => Promise<unknown>>;
  /** A ping not answered within this long counts as `timeout`, ms. */
  timeoutMs: number;
  /** Period of the background check, ms. */
  intervalMs: number;
  logger: Logger;
  /** Told after every background check (e.g. to feed the gRPC health status). */
  onReport?: (report: DependencyReport) => void;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * Checks the server's dependencies: on demand ({@link check}, behind `/readyz` and
 * `ClusterService.GetSystemHealth`) and in the background every `intervalMs` (feeding the
 * gRPC health status). Each dependency is pinged under its own deadline, so a report names
 * the one that did not answer. A ping still hanging past its deadline is shared by the next
 * checks rather than repeated: a frozen dependency never piles up pings (nor holds more
 * than one pool connection).
 */
export class DependencyChecks implements Service {
  private readonly periodic: PeriodicTask;
  private readonly pending = new Map<string, Promise<unknown>>();
  private readonly now: () => number;

  constructor(private readonly options: DependencyChecksOptions) {
    this.now = options.now ?? Date.now;
    this.periodic = new PeriodicTask({
      name: "dependency checks",
      intervalMs: options.intervalMs,
      logger: options.logger,
      runAtStart: true,
      run: async () => {
        const report = await this.check();
        this.options.onReport?.(report);
      },
    });
  }

  /** Starts the background checks (the first at once). */
  start(): void {
    this.periodic.start();
  }

  /** Stops the background checks. */
  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** Checks every dependency now, each under the deadline; never rejects. */
  async check(): Promise<DependencyReport> {
    const checkedAt = this.now();
    const names = Object.keys(this.options.pings);
    const results = await Promise.all(names.map((name) => this.checkOne(name)));
    const checks = Object.fromEntries(names.map((name, i) => [name, results[i]!]));
    return { checks, ok: results.every((r) => r.state === "ok"), checkedAt };
  }

  private async checkOne(name: string): Promise<DependencyCheck> {
    let ping = this.pending.get(name);
    if (ping === undefined) {
      const started = performance.now();
      ping = this.options.pings[name]!().then(() => performance.now() - started);
      this.pending.set(name, ping);
      void ping.then(
        () => this.pending.delete(name),
        () => this.pending.delete(name),
      );
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), this.options.timeoutMs);
    });
    try {
      const answered = await Promise.race([ping, deadline]);
      if (answered === "timeout") {
        return { state: "timeout", error: new Error(`${name}: no answer within ${this.options.timeoutMs} ms`) };
      }
      return { state: "ok", latencyMs: answered as number };
    } catch (error) {
      return { state: "unavailable", error };
    } finally {
      clearTimeout(timer);
    }
  }
}

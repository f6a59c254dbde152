import { randomBytes } from "node:crypto";
import type { Logger } from "../../server/observability/logger.js";
import type { CompiledBenchOptions } from "../options.js";
import type { Stack } from "../stack.js";

/** What every scenario receives. */
export interface ScenarioContext {
  readonly options: CompiledBenchOptions;
  readonly stack: Stack;
  readonly logger: Logger;
}

/** Measured figures of one scenario run: metric name (unit in the name) → value. */
export interface ScenarioResult {
  metrics: Record<string, number>;
  /** Remarks printed under the table (what was measured how). */
  notes?: string[];
  /** The measured window on the machine's monotonic clock, µs (as in V8 CPU profiles). */
  windowUs?: [number, number];
}

/** The machine's monotonic clock in µs: the clock of V8 CPU profile timestamps. */
export function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A scenario: runs once against the stack and returns its figures. */
export type Scenario = (context: ScenarioContext) => Promise<ScenarioResult>;

/** A queue name unique to one run, e.g. `bench-batch-1a2b3c`. */
export function uniqueQueue(label: string): string {
  return `bench-${label}-${randomBytes(3).toString("hex")}`;
}

/** Deadline for work of `tasks` tasks: the `--timeout-s` floor or 5 ms per task, whichever is longer. */
export function deadlineMs(context: ScenarioContext, tasks: number): number {
  return Math.max(context.options.timeoutS * 1000, tasks * 5);
}

/** Splits `total` into `parts` near-equal positive shares (fewer parts when total is small). */
export function split(total: number, parts: number): number[] {
  const n = Math.max(1, Math.min(parts, total));
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

import type pg from "pg";
import type { Expectation, TaskLedger } from "./ledger.js";
import { readAttemptsOfQueues, readTasks, TERMINAL_STATES, type AttemptRecord, type TaskRecord } from "./task-db.js";

/** What {@link checkInvariants} found over every task of a test. */
export interface InvariantReport {
  /** Acknowledged tasks. */
  acknowledged: number;
  /** Tasks found in the test's queues that no submit acknowledged (e.g. a submit cut off by a fault). */
  unacknowledged: number;
  /** Tasks per final state. */
  states: Record<string, number>;
  /** Attempt rows over all acknowledged tasks. */
  attempts: number;
  /** Attempt rows beyond the ones the workload plans (1, or 1 + planned failures). */
  extraExecutions: number;
  /** The most extra executions one task had. */
  maxExtraExecutions: number;
  /** Tasks that had at least one extra execution. */
  tasksWithExtra: number;
  /** Every broken invariant, one line each (empty when all hold). */
  violations: string[];
}

/** Options for {@link checkInvariants}. */
export interface InvariantOptions {
  /** Violations listed in full before the rest is only counted. Default 30. */
  maxListed?: number;
}

/**
 * Checks, over every task of the ledger's queues (Postgres `tasks` and `task_attempt_history`):
 * - each acknowledged task exists and is in a terminal state, the one its workload implies;
 * - a SUCCEEDED task's stored result is the one its accepted lease produced (echo: exactly
 *   its nonce payload; fail: `{attempt}` equal to the task's final attempt; sleep: `{slept}`),
 *   and the worker of that attempt row is the task's worker;
 * - attempts are numbered 1..n without gaps (n = the task's attempt), every one but the last
 *   ended with an outcome other than SUCCEEDED, and the last is SUCCEEDED for a SUCCEEDED task;
 * - tasks nobody acknowledged are terminal too (nothing stuck);
 * and counts extra executions: attempt rows beyond what the workload plans.
 */
export async function checkInvariants(pool: pg.Pool, ledger: TaskLedger, options: InvariantOptions = {}): Promise<InvariantReport> {
  const queues = [...ledger.queues];
  const tasks = new Map((await readTasks(pool, queues)).map((t) => [t.id, t]));
  const attemptsByTask = new Map<string, AttemptRecord[]>();
  for (const a of await readAttemptsOfQueues(pool, queues)) {
    const list = attemptsByTask.get(a.task_id) ?? [];
    list.push(a);
    attemptsByTask.set(a.task_id, list);
  }
  const violations: string[] = [];
  const report: InvariantReport = {
    acknowledged: ledger.expected.size,
    unacknowledged: 0,
    states: {},
    attempts: 0,
    extraExecutions: 0,
    maxExtraExecutions: 0,
    tasksWithExtra: 0,
    violations,
  };
  for (const [id, expectation] of ledger.expected) {
    const task = tasks.get(id);
    if (!task) {
      violations.push(`${id}: acknowledged but not in Postgres (lost)`);
      continue;
    }
    report.states[task.state] = (report.states[task.state] ?? 0) + 1;
    const attempts = attemptsByTask.get(id) ?? [];
    report.attempts += attempts.length;
    const extra = Math.max(0, attempts.length - plannedAttempts(expectation));
    report.extraExecutions += extra;
    report.maxExtraExecutions = Math.max(report.maxExtraExecutions, extra);
    if (extra > 0) report.tasksWithExtra += 1;
    violations.push(...checkTask(task, attempts, expectation).map((v) => `${id} (${expectation.kind}): ${v}`));
  }
  for (const task of tasks.values()) {
    if (ledger.expected.has(task.id)) continue;
    report.unacknowledged += 1;
    if (!isTerminal(task.state)) violations.push(`${task.id} (not acknowledged): stuck in ${task.state}`);
  }
  const maxListed = options.maxListed ?? 30;
  if (violations.length > maxListed) {
    const more = violations.length - maxListed;
    violations.splice(maxListed, more, `… and ${more} more`);
  }
  return report;
}

/** A one-line summary of a report, for test output. */
export function formatReport(report: InvariantReport): string {
  return (
    `acknowledged=${report.acknowledged} unacknowledged=${report.unacknowledged} states=${JSON.stringify(report.states)} ` +
    `attempts=${report.attempts} extraExecutions=${report.extraExecutions} (tasks=${report.tasksWithExtra}, ` +
    `max per task=${report.maxExtraExecutions}) violations=${report.violations.length}`
  );
}

function isTerminal(state: string): boolean {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

function plannedAttempts(expectation: Expectation): number {
  return expectation.kind === "fail" ? Math.min(expectation.times + 1, expectation.maxAttempts) : 1;
}

function expectedState(expectation: Expectation): string {
  return expectation.kind === "fail" && expectation.times >= expectation.maxAttempts ? "DEAD" : "SUCCEEDED";
}

function checkTask(task: TaskRecord, attempts: AttemptRecord[], expectation: Expectation): string[] {
  const problems: string[] = [];
  if (!isTerminal(task.state)) return [`not finished: ${task.state} at attempt ${task.attempt}`];
  const wanted = expectedState(expectation);
  if (task.state !== wanted) problems.push(`ended ${task.state}, expected ${wanted}`);
  const numbers = attempts.map((a) => a.attempt);
  const expectedNumbers = Array.from({ length: task.attempt }, (_, i) => i + 1);
  if (numbers.join(",") !== expectedNumbers.join(",")) {
    problems.push(`attempt rows [${numbers.join(",")}] are not 1..${task.attempt}`);
  }
  const last = attempts[attempts.length - 1];
  for (const a of attempts) {
    if (a !== last && (a.outcome === null || a.outcome === "SUCCEEDED")) {
      problems.push(`attempt ${a.attempt} of ${task.attempt} ended with outcome ${a.outcome ?? "none"}`);
    }
  }
  if (task.state !== "SUCCEEDED") return problems;
  if (!last || last.outcome !== "SUCCEEDED") problems.push(`last attempt outcome is ${last?.outcome ?? "missing"}, not SUCCEEDED`);
  if (last && last.worker_id !== task.worker_id) {
    problems.push(`task worker ${task.worker_id} differs from the worker of attempt ${last.attempt} (${last.worker_id})`);
  }
  const resultProblem = checkResult(task, expectation);
  if (resultProblem) problems.push(resultProblem);
  return problems;
}

function checkResult(task: TaskRecord, expectation: Expectation): string | undefined {
  if (!task.result) return "SUCCEEDED without a stored result";
  let result: Record<string, unknown>;
  try {
    result = JSON.parse(task.result.toString("utf8")) as Record<string, unknown>;
  } catch {
    return `stored result is not JSON: ${task.result.toString("utf8").slice(0, 80)}`;
  }
  const shown = JSON.stringify(result);
  switch (expectation.kind) {
    case "echo":
      return result.nonce === expectation.nonce && Object.keys(result).length === 1
        ? undefined
        : `stored result ${shown} is not its payload {"nonce":"${expectation.nonce}"}`;
    case "fail":
      return result.attempt === task.attempt
        ? undefined
        : `stored result ${shown} came from attempt ${String(result.attempt)}, not the accepted attempt ${task.attempt}`;
    case "sleep":
      return result.slept === expectation.ms ? undefined : `stored result ${shown} is not {"slept":${expectation.ms}}`;
  }
}

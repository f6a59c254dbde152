import { setTimeout as delay } from "node:timers/promises";
import cliProgress from "cli-progress";
import { type Task, TaskState } from "../../gen/taskqueue/v1/task_pb.js";
import type { CliContext } from "./context.js";
import { EXIT } from "./exit-codes.js";
import { enumName } from "./format.js";
import { progressText, TERMINAL_STATES } from "./task-view.js";

/** How often a waited-for task is looked up (there is no streaming RPC for one task). */
const POLL_INTERVAL_MS = 200;

/**
 * Follows a task until it reaches a terminal state and returns it. On a terminal (stderr) a
 * progress bar shows its state and the progress its worker reports; otherwise each change of
 * state or progress is a note on stderr. With --json nothing is shown until the end.
 */
export async function followTask(ctx: CliContext, id: string, first?: Task): Promise<Task> {
  const { out } = ctx;
  const tasks = ctx.clients().tasks;
  const bar =
    !out.json && out.stderrIsTerminal
      ? new cliProgress.SingleBar(
          { format: "{state} [{bar}] {percentage}% {message}", hideCursor: true, clearOnComplete: true, stream: process.stderr },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let task = first ?? (await tasks.getTask(id)).task;
  let lastShown = "";
  // Ctrl-C stops following: the bar gives the cursor back first.
  const interrupted = () => {
    bar?.stop();
    process.exit(EXIT.interrupted);
  };
  process.once("SIGINT", interrupted);
  bar?.start(100, 0, { state: stateLabel(task), message: "" });
  try {
    for (;;) {
      if (bar) {
        bar.update(Math.round(task.progress?.percent ?? (task.state === TaskState.SUCCEEDED ? 100 : 0)), {
          state: stateLabel(task),
          message: task.progress?.message ?? "",
        });
      } else {
        const shown = `${stateLabel(task)}${task.progress && task.state === TaskState.RUNNING ? ` ${progressText(task)}` : ""}`;
        if (shown !== lastShown) out.note(`${task.id} ${shown}`);
        lastShown = shown;
      }
      if (TERMINAL_STATES.has(task.state)) return task;
      await delay(POLL_INTERVAL_MS);
      task = (await tasks.getTask(id)).task;
    }
  } finally {
    process.removeListener("SIGINT", interrupted);
    bar?.stop();
  }
}

/** `RUNNING (attempt 2/3)`. */
function stateLabel(task: Task): string {
  const name = enumName(TaskState, task.state);
  return task.attempt > 0 && !TERMINAL_STATES.has(task.state) ? `${name} (attempt ${task.attempt}/${task.maxAttempts})` : name;
}

/** The exit code of a followed task: 0 when it SUCCEEDED, 1 when it ended DEAD, CANCELLED or EXPIRED. */
export function outcomeExitCode(task: Task): number {
  return task.state === TaskState.SUCCEEDED ? EXIT.ok : EXIT.failed;
}

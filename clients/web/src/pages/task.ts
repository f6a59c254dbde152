import { timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { type Task, type TaskAttempt, TaskState } from "../../../../gen/taskqueue/v1/task_pb.js";
import { h, link, replaceKeepingFocus, row, table, type Child } from "../dom.js";
import { dataView, formatBytes, formatDuration, formatSpan, formatTime, outcomeName, stateName, TERMINAL_STATES } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf } from "../router.js";
import { errorMessage, facts, isNotFound, stateBadge, statusLine } from "../widgets.js";

/** One task: its fields, payload and result, progress, timeline and attempts; cancel. */
export const taskPage: PageModule = {
  path: "/tasks/:id",
  title: (params) => `Task ${params.id}`,
  create({ api, params, refreshNow }) {
    const id = params.id!;
    const status = statusLine();
    const badge = h("span", { class: "badge-slot" });
    const body = h("div", { "aria-busy": "true" }, "Loading…");
    const cancelButton = h("button", { type: "button", class: "danger", hidden: true, onclick: () => void cancel() }, "Cancel task");

    async function cancel(): Promise<void> {
      if (!window.confirm(`Cancel task ${id}?`)) return;
      cancelButton.disabled = true;
      try {
        const { task } = await api.tasks.cancelTask({ id, reason: "cancelled from the dashboard" });
        status.show(task?.state === TaskState.CANCELLED ? "Cancelled." : "Cancel requested: the worker was told to abort.");
      } catch (error) {
        status.show(`Failed: ${errorMessage(error)}`, true);
      } finally {
        cancelButton.disabled = false;
        refreshNow();
      }
    }

    const element = h(
      "section",
      {},
      h("h1", {}, "Task ", h("span", { class: "mono" }, id), " ", badge),
      h("div", { class: "actions" }, cancelButton),
      status.element,
      body,
    );
    return {
      element,
      async refresh() {
        let answer;
        try {
          answer = await api.tasks.getTask({ id, includeAttempts: true });
        } catch (error) {
          if (!isNotFound(error)) throw error;
          body.removeAttribute("aria-busy");
          replaceKeepingFocus(body, h("p", { class: "empty" }, `No task with id ${id} (it may have been deleted after its retention).`));
          return;
        }
        const task = answer.task!;
        replaceKeepingFocus(badge, stateBadge(task.state));
        cancelButton.hidden = TERMINAL_STATES.has(task.state);
        body.removeAttribute("aria-busy");
        replaceKeepingFocus(body, taskView(task, answer.attempts));
      },
    };
  },
};

function taskView(task: Task, attempts: readonly TaskAttempt[]): Child[] {
  const labels = Object.entries(task.labels);
  return [
    facts([
      ["Queue", link(pathOf("queues", task.queue), task.queue)],
      ["Type", task.type],
      ["State", stateName(task.state)],
      ["Attempt", `${task.attempt} of ${task.maxAttempts}`],
      ["Priority", String(task.priority)],
      ["Created", formatTime(task.createdAt)],
      ["Scheduled for", formatTime(task.scheduledAt)],
      ["Started", formatTime(task.startedAt)],
      ["Finished", formatTime(task.finishedAt)],
      ["Worker", task.workerId || "—"],
      ["Timeout", task.timeout ? formatDuration(task.timeout) : "none"],
      ["Idempotency key", task.idempotencyKey || "—"],
      ["Concurrency key", task.concurrencyKey || "—"],
      ["Labels", labels.length === 0 ? "—" : labels.map(([k, v]) => `${k}=${v}`).join(", ")],
      ...(task.cancelReason ? ([["Cancel reason", task.cancelReason]] as const) : []),
      ...(task.lastError ? ([["Last error", errorText(task.lastError)]] as const) : []),
    ]),
    task.state === TaskState.RUNNING && task.progress ? progressView(task) : null,
    h("h2", {}, "Payload"),
    dataBlock(task.payloadData.value, "payload"),
    h("h2", {}, "Result"),
    dataBlock(task.resultData.value, "result"),
    h("h2", {}, "Timeline"),
    timeline(task, attempts),
    h("h2", {}, "Attempts"),
    table(
      "Attempts",
      ["#", "Worker", "Started", "Finished", "Took", "Outcome", "Error"],
      attempts.map((a) =>
        row(
          String(a.attempt),
          a.workerId || "—",
          formatTime(a.startedAt),
          formatTime(a.finishedAt),
          a.startedAt && a.finishedAt ? formatSpan(timestampMs(a.finishedAt) - timestampMs(a.startedAt)) : "—",
          h("span", { class: `badge outcome-${outcomeName(a.outcome).toLowerCase()}` }, outcomeName(a.outcome)),
          a.error ? errorText(a.error) : "",
        ),
      ),
      "Not dispatched yet.",
    ),
  ];
}

function errorText(error: { message: string; type: string; nonRetryable: boolean }): string {
  return `${error.type ? `${error.type}: ` : ""}${error.message}${error.nonRetryable ? " (non-retryable)" : ""}`;
}

function progressView(task: Task): HTMLElement {
  const percent = Math.max(0, Math.min(100, task.progress!.percent));
  return h(
    "div",
    { class: "progress" },
    h("label", { for: "task-progress" }, `Progress: ${percent.toFixed(0)}%`, task.progress!.message ? ` — ${task.progress!.message}` : ""),
    h("progress", { id: "task-progress", max: 100, value: String(percent) }),
  );
}

function dataBlock(value: Parameters<typeof dataView>[0], what: string): HTMLElement {
  const view = dataView(value);
  if (view.kind === "none") return h("p", { class: "empty" }, `No ${what}.`);
  if (view.kind === "bytes") {
    return h("div", {}, h("p", {}, `Bytes, ${formatBytes(view.size)}, shown as base64:`), h("pre", { class: `data data-${what}`, tabindex: 0 }, view.text));
  }
  return h("pre", { class: `data data-${what}`, tabindex: 0 }, view.text);
}

/** The task's life as dated events: created, each attempt's start and end, its end. */
function timeline(task: Task, attempts: readonly TaskAttempt[]): HTMLElement {
  const events: { at: Timestamp | undefined; text: string }[] = [{ at: task.createdAt, text: "created" }];
  for (const a of attempts) {
    events.push({ at: a.startedAt, text: `attempt ${a.attempt} started${a.workerId ? ` on ${a.workerId}` : ""}` });
    if (a.finishedAt) events.push({ at: a.finishedAt, text: `attempt ${a.attempt} ended: ${outcomeName(a.outcome)}${a.error ? ` (${a.error.message})` : ""}` });
  }
  if (task.finishedAt) events.push({ at: task.finishedAt, text: `finished: ${stateName(task.state)}` });
  else if (task.scheduledAt && (task.state === TaskState.SCHEDULED || task.state === TaskState.FAILED)) {
    events.push({ at: task.scheduledAt, text: task.state === TaskState.FAILED ? "next attempt due" : "due" });
  }
  events.sort((a, b) => (a.at ? timestampMs(a.at) : 0) - (b.at ? timestampMs(b.at) : 0));
  return h(
    "ol",
    { class: "timeline" },
    events.map((e) => h("li", {}, h("time", {}, formatTime(e.at)), " ", e.text)),
  );
}

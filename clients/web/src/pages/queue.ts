import type { QueueInfo, QueueSettings } from "../../../../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState, type Task } from "../../../../gen/taskqueue/v1/task_pb.js";
import { h, link, replaceKeepingFocus, row, table } from "../dom.js";
import { formatCount, formatDuration, formatTime, stateName, TASK_STATES } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf, withQuery } from "../router.js";
import { errorMessage, facts, filterForm, isNotFound, pagingLinks, pausedBadge, stateBadge, statusLine } from "../widgets.js";

/** Tasks per page of the task list. */
const PAGE_SIZE = 50;

/**
 * One queue: counts, workers, the settings in force, pause and resume, and its tasks filtered
 * by state and type (`?state=QUEUED&type=email`), paged (`&page=<token>`).
 */
export const queuePage: PageModule = {
  path: "/queues/:name",
  title: (params) => `Queue ${params.name}`,
  create({ api, params, query, navigate, refreshNow }) {
    const name = params.name!;
    const state = TASK_STATES.find((s) => stateName(s) === query.get("state")) ?? TaskState.UNSPECIFIED;
    const type = query.get("type") ?? "";
    const pageToken = query.get("page") ?? "";
    const here = (changes: Record<string, string | undefined>) =>
      withQuery(pathOf("queues", name), { state: query.get("state") ?? undefined, type: type || undefined, ...changes });

    const status = statusLine();
    const badge = h("span", { class: "badge-slot" });
    const summary = h("div", { "aria-busy": "true" }, "Loading…");
    const settings = h("div", {});
    const tasks = h("div", { "aria-busy": "true" }, "Loading…");
    const paging = h("div", { class: "paging" });
    let current: QueueInfo | undefined;

    const reasonInput = h("input", { id: "pause-reason", name: "reason", type: "text", maxlength: 1024, placeholder: "optional" });
    const pauseButton = h("button", { type: "submit" }, "Pause");
    const resumeButton = h("button", { type: "button", onclick: () => void act("Resumed", () => api.queues.resumeQueue({ name })) }, "Resume");
    const pauseForm = h(
      "form",
      {
        class: "inline-form",
        onsubmit: (event: Event) => {
          event.preventDefault();
          void act("Paused", () => api.queues.pauseQueue({ name, reason: reasonInput.value }));
        },
      },
      h("label", { for: "pause-reason" }, "Pause reason"),
      reasonInput,
      pauseButton,
    );

    async function act(done: string, call: () => Promise<{ queue?: QueueInfo }>): Promise<void> {
      pauseButton.disabled = resumeButton.disabled = true;
      try {
        const { queue } = await call();
        if (queue) showQueue(queue);
        status.show(`${done} queue ${name}.`);
      } catch (error) {
        status.show(`Failed: ${errorMessage(error)}`, true);
      } finally {
        pauseButton.disabled = resumeButton.disabled = false;
        refreshNow();
      }
    }

    function showQueue(q: QueueInfo): void {
      current = q;
      replaceKeepingFocus(badge, q.paused ? pausedBadge(q.pauseReason) : h("span", { class: "badge running-badge" }, "active"));
      pauseForm.hidden = q.paused;
      resumeButton.hidden = !q.paused;
      summary.removeAttribute("aria-busy");
      replaceKeepingFocus(summary, summaryView(q));
      replaceKeepingFocus(settings, q.settings ? settingsView(q.settings) : "");
    }

    const stateSelect = h(
      "select",
      { id: "filter-state", name: "state" },
      h("option", { value: "" }, "all states"),
      TASK_STATES.map((s) => h("option", { value: stateName(s), selected: s === state }, stateName(s))),
    );
    const typeInput = h("input", { id: "filter-type", name: "type", type: "text", value: type, placeholder: "any type" });
    const filters = filterForm(
      () => navigate(withQuery(pathOf("queues", name), { state: stateSelect.value || undefined, type: typeInput.value.trim() || undefined })),
      "Filter",
      h("label", { for: "filter-state" }, "State"),
      stateSelect,
      h("label", { for: "filter-type" }, "Type"),
      typeInput,
    );

    const element = h(
      "section",
      {},
      h("h1", {}, "Queue ", h("span", { class: "mono" }, name), " ", badge),
      h("div", { class: "actions" }, pauseForm, resumeButton, link(withQuery("/dead-letters", { queue: name }), "Dead letters"), link(withQuery("/workers", { queue: name }), "Workers")),
      status.element,
      summary,
      h("h2", {}, "Settings in force"),
      settings,
      h("h2", {}, "Tasks"),
      filters,
      tasks,
      paging,
    );
    pauseForm.hidden = resumeButton.hidden = true;

    return {
      element,
      async refresh() {
        let queue: QueueInfo | undefined;
        try {
          queue = (await api.queues.getQueue({ name })).queue;
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
        const page = await api.tasks.listTasks({
          queue: name,
          states: state === TaskState.UNSPECIFIED ? [] : [state],
          type,
          pageSize: PAGE_SIZE,
          pageToken,
        });
        if (queue) showQueue(queue);
        else if (!current) {
          summary.removeAttribute("aria-busy");
          replaceKeepingFocus(summary, h("p", { class: "empty" }, `No queue named ${name}: it appears when a task is submitted to it.`));
        }
        tasks.removeAttribute("aria-busy");
        replaceKeepingFocus(tasks, tasksTable(page.tasks, state !== TaskState.UNSPECIFIED || type !== ""));
        replaceKeepingFocus(
          paging,
          pagingLinks(pageToken !== "" ? here({ page: undefined }) : undefined, page.nextPageToken !== "" ? here({ page: page.nextPageToken }) : undefined),
        );
      },
    };
  },
};

function summaryView(q: QueueInfo): HTMLElement {
  const c = q.counts;
  const w = q.workers;
  return facts([
    ["Queued", formatCount(c?.queued)],
    ["Scheduled", formatCount(c?.scheduled)],
    ["Running", formatCount(c?.running)],
    ["Dead", formatCount(c?.dead)],
    ["Oldest queued", q.oldestQueuedAge ? formatDuration(q.oldestQueuedAge) : "—"],
    ["Workers", w ? `${w.connected} connected, ${w.inFlight} of ${w.capacity} slots busy` : "—"],
    ["Succeeded (1/5/15 min)", throughput(q, "succeeded")],
    ["Failed (1/5/15 min)", throughput(q, "failed")],
    ["Cancelled (1/5/15 min)", throughput(q, "cancelled")],
    ...(q.paused ? ([["Paused since", formatTime(q.pausedTime)], ["Pause reason", q.pauseReason || "—"]] as const) : []),
  ]);
}

function throughput(q: QueueInfo, pick: "succeeded" | "failed" | "cancelled"): string {
  const t = q.throughput;
  return `${formatCount(t?.last1m?.[pick])} / ${formatCount(t?.last5m?.[pick])} / ${formatCount(t?.last15m?.[pick])}`;
}

function settingsView(s: QueueSettings): HTMLElement {
  return facts([
    ["Max attempts", String(s.maxAttempts)],
    ["Initial back-off", formatDuration(s.initialBackoff)],
    ["Max back-off", formatDuration(s.maxBackoff)],
    ["Back-off multiplier", String(s.backoffMultiplier)],
    ["Default priority", String(s.defaultPriority)],
    ["Default timeout", s.defaultTimeout ? formatDuration(s.defaultTimeout) : "none"],
    ["Finished tasks kept", formatDuration(s.finishedRetention)],
    ["Dead tasks kept", formatDuration(s.deadRetention)],
    ["Max concurrency", s.maxConcurrency ? String(s.maxConcurrency) : "unlimited"],
    ["Rate limit", s.rateLimit ? `${s.rateLimit.limit} per ${formatDuration(s.rateLimit.period)}` : "unlimited"],
    ["Max per concurrency key", s.maxConcurrencyPerKey ? String(s.maxConcurrencyPerKey) : "unlimited"],
    ["Max payload", s.maxPayloadBytes ? `${s.maxPayloadBytes} bytes` : "-"],
  ]);
}

function tasksTable(tasks: readonly Task[], filtered: boolean): HTMLElement {
  return table(
    "Tasks",
    ["Task", "Type", "State", "Attempt", "Priority", "Created"],
    tasks.map((t) =>
      row(
        h("td", { class: "mono" }, link(pathOf("tasks", t.id), t.id)),
        t.type,
        stateBadge(t.state),
        `${t.attempt} / ${t.maxAttempts}`,
        h("td", { class: "num" }, String(t.priority)),
        formatTime(t.createdAt),
      ),
    ),
    filtered ? "No task matches these filters." : "No tasks in this queue.",
  );
}

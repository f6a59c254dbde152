import type { GetScheduleResponse, Schedule, ScheduleFiring } from "../../../../gen/taskqueue/v1/schedule_service_pb.js";
import { h, link, replaceKeepingFocus, row, table } from "../dom.js";
import { dataView, formatDuration, formatTime } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf } from "../router.js";
import { catchupName, outcomeBadge, overlapName, scheduleBadge, specText } from "../schedule-format.js";
import { errorMessage, facts, isNotFound, stateBadge, statusLine } from "../widgets.js";

/**
 * One schedule: its spec and template, next 5 fire times and last 20 firings (each linking to
 * its task), with pause, resume, trigger and delete (after a confirmation).
 */
export const schedulePage: PageModule = {
  path: "/schedules/:id",
  title: (params) => `Schedule ${params.id}`,
  create({ api, params, navigate, refreshNow }) {
    const id = params.id!;
    const status = statusLine();
    const badge = h("span", { class: "badge-slot" });
    const summary = h("div", { "aria-busy": "true" }, "Loading…");
    const next = h("div", {});
    const firings = h("div", {});

    const pauseButton = h("button", { type: "button", onclick: () => void act("Paused", () => api.schedules.pauseSchedule({ id })) }, "Pause");
    const resumeButton = h("button", { type: "button", onclick: () => void act("Resumed", () => api.schedules.resumeSchedule({ id })) }, "Resume");
    const triggerButton = h("button", { type: "button", onclick: () => void trigger() }, "Trigger now");
    const deleteButton = h("button", { type: "button", class: "danger", onclick: () => void remove() }, "Delete");
    const buttons = [pauseButton, resumeButton, triggerButton, deleteButton];
    pauseButton.hidden = resumeButton.hidden = true;

    async function run(body: () => Promise<void>): Promise<void> {
      for (const b of buttons) b.disabled = true;
      try {
        await body();
      } catch (error) {
        status.show(`Failed: ${errorMessage(error)}`, true);
      } finally {
        for (const b of buttons) b.disabled = false;
        refreshNow();
      }
    }

    function act(done: string, call: () => Promise<{ schedule?: Schedule }>): Promise<void> {
      return run(async () => {
        const { schedule } = await call();
        if (schedule) showSchedule(schedule);
        status.show(`${done} schedule ${id}.`);
      });
    }

    function trigger(): Promise<void> {
      return run(async () => {
        const { task } = await api.schedules.triggerSchedule({ id });
        status.show("");
        if (task) replaceKeepingFocus(status.element, "Triggered: task ", h("span", { class: "mono" }, link(pathOf("tasks", task.id), task.id)), " submitted.");
      });
    }

    function remove(): Promise<void> {
      if (!window.confirm(`Delete schedule ${id} and its firing history? The tasks it created stay.`)) return Promise.resolve();
      return run(async () => {
        await api.schedules.deleteSchedule({ id });
        navigate("/schedules");
      });
    }

    function showSchedule(s: Schedule): void {
      replaceKeepingFocus(badge, scheduleBadge(s));
      pauseButton.hidden = s.paused;
      resumeButton.hidden = !s.paused;
      summary.removeAttribute("aria-busy");
      replaceKeepingFocus(summary, scheduleFacts(s));
    }

    function show(details: GetScheduleResponse): void {
      showSchedule(details.schedule!);
      replaceKeepingFocus(
        next,
        details.nextFireTimes.length === 0
          ? h("p", { class: "empty" }, details.schedule!.paused ? "None while paused." : "None: the schedule has ended.")
          : h("ol", { class: "fire-times" }, details.nextFireTimes.map((t) => h("li", {}, formatTime(t)))),
      );
      replaceKeepingFocus(firings, firingsTable(details.recentFirings));
    }

    const element = h(
      "section",
      {},
      h("h1", {}, "Schedule ", h("span", { class: "mono" }, id), " ", badge),
      h("div", { class: "actions" }, buttons),
      status.element,
      summary,
      h("h2", {}, "Next fire times"),
      next,
      h("h2", {}, "Last firings"),
      firings,
    );
    return {
      element,
      async refresh() {
        let details: GetScheduleResponse;
        try {
          details = await api.schedules.getSchedule({ id });
        } catch (error) {
          if (!isNotFound(error)) throw error;
          summary.removeAttribute("aria-busy");
          for (const b of buttons) b.hidden = true;
          replaceKeepingFocus(summary, h("p", { class: "empty" }, `No schedule named ${id}.`));
          return;
        }
        show(details);
      },
    };
  },
};

function scheduleFacts(s: Schedule): HTMLElement {
  const t = s.task;
  const payload = t ? dataView(t.payloadData.case === undefined ? undefined : t.payloadData.value) : { kind: "none" as const };
  return facts([
    ["Spec", specText(s)],
    ["Next fire", formatTime(s.nextFireTime)],
    ["Queue", t ? link(pathOf("queues", t.queue), t.queue) : "—"],
    ["Type", t?.type ?? "—"],
    ["Payload", payload.kind === "none" ? "—" : h("code", {}, payload.kind === "json" ? JSON.stringify(JSON.parse(payload.text)) : `${payload.size} bytes`)],
    ["Priority", t?.priority !== undefined ? String(t.priority) : "queue default"],
    ["Timeout", t?.timeout ? formatDuration(t.timeout) : "queue default"],
    ["Labels", t && Object.keys(t.labels).length > 0 ? Object.entries(t.labels).map(([k, v]) => `${k}=${v}`).join(", ") : "—"],
    ["Overlap policy", overlapName(s.overlapPolicy)],
    ["Catch-up policy", catchupName(s.catchupPolicy)],
    ["Start", formatTime(s.startTime)],
    ["End", formatTime(s.endTime)],
    ["Created", formatTime(s.createTime)],
    ["Updated", formatTime(s.updateTime)],
  ]);
}

function firingsTable(firings: readonly ScheduleFiring[]): HTMLElement {
  return table(
    "Last firings",
    ["Tick", "Fired", "Outcome", "Task", "Task state", "Detail"],
    firings.map((f) =>
      row(
        formatTime(f.tickTime),
        formatTime(f.fireTime),
        outcomeBadge(f),
        f.taskId ? h("td", { class: "mono" }, link(pathOf("tasks", f.taskId), f.taskId)) : "—",
        f.taskId && f.taskState ? stateBadge(f.taskState) : "—",
        f.detail || "",
      ),
    ),
    "No firings yet.",
  );
}

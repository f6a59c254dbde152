import { CatchupPolicy, FiringOutcome, OverlapPolicy, type Schedule, type ScheduleFiring } from "../../../gen/taskqueue/v1/schedule_service_pb.js";
import { h, link } from "./dom.js";
import { formatAgo, formatDuration } from "./format.js";
import { pathOf } from "./router.js";
import { pausedBadge, stateBadge } from "./widgets.js";

/** A schedule's spec: "cron 0 9 * * MON-FRI (Europe/Paris)" or "every 30 s". */
export function specText(s: Schedule): string {
  if (s.spec.case === "cron") return `cron ${s.spec.value}${s.timeZone ? ` (${s.timeZone})` : " (UTC)"}`;
  if (s.spec.case === "interval") return `every ${formatDuration(s.spec.value)}`;
  return "—";
}

/** "paused" or "active" as a badge. */
export function scheduleBadge(s: Schedule): HTMLElement {
  return s.paused ? pausedBadge("paused: does not fire until resumed") : h("span", { class: "badge running-badge" }, "active");
}

/** An overlap policy's name: "BUFFER_ONE". */
export function overlapName(p: OverlapPolicy): string {
  return OverlapPolicy[p] ?? String(p);
}

/** A catch-up policy's name: "LATEST". */
export function catchupName(p: CatchupPolicy): string {
  return CatchupPolicy[p] ?? String(p);
}

/** A firing's outcome as a badge: SUBMITTED, TRIGGERED, SKIPPED_OVERLAP, MISSED (with the count), FAILED. */
export function outcomeBadge(f: ScheduleFiring): HTMLElement {
  const name = FiringOutcome[f.outcome] ?? String(f.outcome);
  const tone = f.outcome === FiringOutcome.FAILED ? "state-dead" : f.outcome === FiringOutcome.SUBMITTED || f.outcome === FiringOutcome.TRIGGERED ? "running-badge" : "paused";
  const text = f.outcome === FiringOutcome.MISSED ? `${name} ×${f.missedTicks}` : name;
  return h("span", { class: `badge ${tone}`, title: f.detail || name }, text);
}

/** A firing in one cell: its outcome, how long ago, and its task (linked) with the task's state. */
export function firingSummary(f: ScheduleFiring | undefined): HTMLElement {
  if (!f) return h("span", { class: "empty" }, "never fired");
  return h(
    "span",
    {},
    outcomeBadge(f),
    " ",
    formatAgo(f.fireTime),
    f.taskId ? [" · ", h("span", { class: "mono" }, link(pathOf("tasks", f.taskId), f.taskId)), f.taskState ? [" ", stateBadge(f.taskState)] : null] : null,
  );
}

import type { GetSystemHealthResponse, ServerInfo } from "../../../../gen/taskqueue/v1/cluster_service_pb.js";
import { DependencyStatus, SystemStatus } from "../../../../gen/taskqueue/v1/cluster_service_pb.js";
import type { QueueInfo } from "../../../../gen/taskqueue/v1/queue_service_pb.js";
import type { Api } from "../api.js";
import { h, link, replaceKeepingFocus, row, table } from "../dom.js";
import { formatCount, formatDuration, formatRate } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf, withQuery } from "../router.js";
import { pausedBadge } from "../widgets.js";
import { sparkline } from "../sparkline.js";

/** Most queues the overview lists (pages of ListQueues read per refresh: at most 5). */
const MAX_QUEUES = 500;

/** Every queue with its counts, lag, throughput and workers; the system's health. */
export const overviewPage: PageModule = {
  path: "/",
  navLabel: "Overview",
  title: () => "Overview",
  create({ api }) {
    const health = h("div", { class: "health", "aria-busy": "true" }, "Loading…");
    const queues = h("div", { "aria-busy": "true" }, "Loading…");
    const element = h(
      "section",
      {},
      h("h1", {}, "Overview"),
      h("h2", {}, "System health"),
      health,
      h("h2", {}, "Queues"),
      queues,
    );
    return {
      element,
      async refresh() {
        const [systemHealth, list] = await Promise.all([api.cluster.getSystemHealth({}), listAllQueues(api)]);
        health.removeAttribute("aria-busy");
        queues.removeAttribute("aria-busy");
        replaceKeepingFocus(health, healthView(systemHealth));
        replaceKeepingFocus(queues, queuesTable(list));
      },
    };
  },
};

async function listAllQueues(api: Api): Promise<QueueInfo[]> {
  const all: QueueInfo[] = [];
  let pageToken = "";
  do {
    const page = await api.queues.listQueues({ pageSize: 100, pageToken });
    all.push(...page.queues);
    pageToken = page.nextPageToken;
  } while (pageToken !== "" && all.length < MAX_QUEUES);
  return all;
}

function healthView(health: GetSystemHealthResponse): HTMLElement {
  const status = SystemStatus[health.status] ?? "UNKNOWN";
  const dependency = (name: string, dep: GetSystemHealthResponse["postgres"]) => {
    const state = DependencyStatus[dep?.status ?? DependencyStatus.UNSPECIFIED] ?? "UNKNOWN";
    return h("span", { class: `badge dep-${state.toLowerCase()}` }, `${name} ${state}`, dep?.latency ? ` (${formatDuration(dep.latency)})` : "");
  };
  return h(
    "div",
    {},
    h(
      "p",
      { class: "health-line" },
      h("span", { class: `badge system-${status.toLowerCase()}` }, status),
      " ",
      dependency("Postgres", health.postgres),
      " ",
      dependency("Redis", health.redis),
    ),
    table(
      "Servers",
      ["Server", "gRPC", "HTTP", "Version", "Workers", "State"],
      health.servers.map((s: ServerInfo) =>
        row(s.serverId, s.address, s.httpAddress, s.version, s.connectedWorkers, s.draining ? "draining" : "serving"),
      ),
      "No server listed (Redis did not answer the last check).",
    ),
  );
}

/** The queue's succeeded and failed counts per minute over the last 15 minutes, as a sparkline. */
function trend(q: QueueInfo): SVGSVGElement {
  const succeeded = q.throughput?.succeededPerMinute ?? [];
  const failed = q.throughput?.failedPerMinute ?? [];
  const label = `Per minute over the last 15 minutes, oldest first: succeeded ${succeeded.join(", ") || "none"}; failed ${failed.join(", ") || "none"}`;
  return sparkline(
    [
      { className: "spark-succeeded", values: succeeded },
      { className: "spark-failed", values: failed },
    ],
    label,
  );
}

function queuesTable(queues: readonly QueueInfo[]): HTMLElement {
  return table(
    "Queues",
    ["Queue", "Queued", "Scheduled", "Running", "Dead", "Lag", "Last 15 min", "Succeeded (1/5/15 min)", "Failed (1/5/15 min)", "Workers"],
    queues.map((q) => {
      const t = q.throughput;
      const rates = (pick: "succeeded" | "failed") =>
        h(
          "span",
          { class: "rates", title: `${formatCount(t?.last1m?.[pick])} in 1 min, ${formatCount(t?.last5m?.[pick])} in 5 min, ${formatCount(t?.last15m?.[pick])} in 15 min` },
          `${formatRate(t?.last1m?.[pick], 1)} · ${formatRate(t?.last5m?.[pick], 5)} · ${formatRate(t?.last15m?.[pick], 15)}`,
        );
      const w = q.workers;
      const r = row(
        h("th", { scope: "row" }, link(pathOf("queues", q.name), q.name), q.paused ? [" ", pausedBadge(q.pauseReason)] : null),
        h("td", { class: "num", "data-count": "queued" }, formatCount(q.counts?.queued)),
        h("td", { class: "num", "data-count": "scheduled" }, formatCount(q.counts?.scheduled)),
        h("td", { class: "num", "data-count": "running" }, formatCount(q.counts?.running)),
        h(
          "td",
          { class: "num", "data-count": "dead" },
          q.counts && q.counts.dead > 0n ? link(withQuery("/dead-letters", { queue: q.name }), formatCount(q.counts.dead)) : "0",
        ),
        h("td", { class: "num" }, q.oldestQueuedAge ? formatDuration(q.oldestQueuedAge) : "—"),
        h("td", { class: "trend" }, trend(q)),
        h("td", {}, rates("succeeded")),
        h("td", {}, rates("failed")),
        h("td", {}, w && w.connected > 0 ? `${w.connected} (${w.inFlight}/${w.capacity} busy)` : "none"),
      );
      r.dataset.queue = q.name;
      return r;
    }),
    "No queues yet: a queue appears when the first task is submitted to it (see the README's quick start).",
  );
}

import type { WorkerSession } from "../../../../gen/taskqueue/v1/cluster_service_pb.js";
import { h, link, replaceKeepingFocus, row, table } from "../dom.js";
import { formatAgo, formatTime } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf } from "../router.js";

/** The language of each SDK that ships with the product, by the name its hello gives. */
const SDK_LANGUAGES: Readonly<Record<string, string>> = {
  "taskqueue-go": "Go",
  "taskqueue-python": "Python",
  "taskqueue-ts": "TypeScript",
};

/** "Go (taskqueue-go 0.1.0)" for the product's SDKs; the name and version as given for others. */
export function sdkLabel(name: string, version: string): string {
  const sdk = `${name || "unknown"} ${version}`.trim();
  const language = SDK_LANGUAGES[name];
  return language ? `${language} (${sdk})` : sdk;
}

/** In-flight task ids listed per worker; the rest are counted. */
const SHOWN_TASK_IDS = 5;

/** Connected workers across every server (ClusterService.ListWorkers), of one queue with `?queue=`. */
export const workersPage: PageModule = {
  path: "/workers",
  navLabel: "Workers",
  title: () => "Workers",
  create({ api, query }) {
    const queue = query.get("queue") ?? "";
    const list = h("div", { "aria-busy": "true" }, "Loading…");
    const element = h(
      "section",
      {},
      h("h1", {}, "Workers"),
      queue ? h("p", {}, "Serving queue ", link(pathOf("queues", queue), queue), " · ", link("/workers", "every queue")) : null,
      list,
    );
    return {
      element,
      async refresh() {
        const { workers } = await api.cluster.listWorkers({ queue });
        list.removeAttribute("aria-busy");
        replaceKeepingFocus(
          list,
          table(
            "Connected workers",
            ["Worker", "Queues", "Task types", "Busy", "In-flight tasks", "Language (SDK)", "Server", "Connected", "Last heartbeat"],
            workers.map(workerRow),
            queue ? `No worker serves queue ${queue}.` : "No workers connected: start one with `npm run worker`.",
          ),
        );
      },
    };
  },
};

function workerRow(w: WorkerSession): HTMLTableRowElement {
  const ids = w.inFlightTaskIds.slice(0, SHOWN_TASK_IDS);
  const more = w.inFlight - ids.length;
  const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(", ");
  const r = row(
    h("th", { scope: "row", class: "mono", title: labels ? `session ${w.sessionId}; labels ${labels}` : `session ${w.sessionId}` }, w.workerId, w.draining ? [" ", h("span", { class: "badge paused" }, "draining")] : null),
    w.queues.map((q, i) => [i > 0 ? ", " : "", link(pathOf("queues", q), q)]),
    w.taskTypes.length > 0 ? w.taskTypes.join(", ") : "any",
    h("td", { class: "num" }, `${w.inFlight} / ${w.capacity}`),
    h("td", { class: "mono" }, ids.map((id, i) => [i > 0 ? " " : "", h("a", { href: pathOf("tasks", id), title: id, "aria-label": `task ${id}` }, `…${id.slice(-8)}`)]), more > 0 ? ` +${more}` : ""),
    sdkLabel(w.sdkName, w.sdkVersion),
    w.serverId,
    formatTime(w.connectedAt),
    formatAgo(w.lastHeartbeatAt),
  );
  r.dataset.worker = w.workerId;
  return r;
}

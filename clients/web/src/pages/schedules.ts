import type { GetScheduleResponse, Schedule } from "../../../../gen/taskqueue/v1/schedule_service_pb.js";
import { h, link, replaceKeepingFocus, row, table } from "../dom.js";
import { formatTime } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf, withQuery } from "../router.js";
import { firingSummary, scheduleBadge, specText } from "../schedule-format.js";
import { isNotFound, pagingLinks } from "../widgets.js";

/** Schedules per page (each row also reads its last firing). */
const PAGE_SIZE = 25;

/**
 * Every schedule, in id order, paged (`?page=`): its spec, what it submits, its next fire
 * time, its last firing's outcome (with the task) and a paused badge.
 */
export const schedulesPage: PageModule = {
  path: "/schedules",
  navLabel: "Schedules",
  title: () => "Schedules",
  create({ api, query }) {
    const pageToken = query.get("page") ?? "";
    const list = h("div", { "aria-busy": "true" }, "Loading…");
    const paging = h("div", { class: "paging" });
    const element = h(
      "section",
      {},
      h("h1", {}, "Schedules"),
      h("p", {}, "Periodic tasks: each tick of a schedule submits one task from its template. Create them with ", h("code", {}, "tq schedule create"), " or the ScheduleService API."),
      list,
      paging,
    );
    return {
      element,
      async refresh() {
        const page = await api.schedules.listSchedules({ pageSize: PAGE_SIZE, pageToken });
        // ListSchedules carries no firings: each shown schedule's last firing comes from GetSchedule.
        const details = await Promise.all(
          page.schedules.map((s) =>
            api.schedules.getSchedule({ id: s.id }).catch((error: unknown) => {
              if (isNotFound(error)) return undefined; // deleted meanwhile
              throw error;
            }),
          ),
        );
        list.removeAttribute("aria-busy");
        replaceKeepingFocus(list, schedulesTable(page.schedules, details));
        const here = (token: string) => withQuery("/schedules", { page: token || undefined });
        replaceKeepingFocus(paging, pagingLinks(pageToken !== "" ? here("") : undefined, page.nextPageToken !== "" ? here(page.nextPageToken) : undefined));
      },
    };
  },
};

function schedulesTable(schedules: readonly Schedule[], details: readonly (GetScheduleResponse | undefined)[]): HTMLElement {
  return table(
    "Schedules",
    ["Schedule", "Spec", "Submits", "State", "Next fire", "Last firing"],
    schedules.map((s, i) => {
      const tr = row(
        h("td", { class: "mono" }, link(pathOf("schedules", s.id), s.id)),
        specText(s),
        s.task ? [h("span", { class: "mono" }, s.task.type), " on ", link(pathOf("queues", s.task.queue), s.task.queue)] : "—",
        scheduleBadge(s),
        formatTime(s.nextFireTime),
        firingSummary(details[i]?.recentFirings[0]),
      );
      tr.dataset.schedule = s.id;
      return tr;
    }),
    "No schedules yet: create one with tq schedule create ID --every 1m --type TYPE.",
  );
}

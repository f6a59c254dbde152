import type { Task } from "../../../../gen/taskqueue/v1/task_pb.js";
import { h, link, replaceKeepingFocus, row, table } from "../dom.js";
import { formatTime } from "../format.js";
import type { PageModule } from "../page.js";
import { pathOf, withQuery } from "../router.js";
import { errorMessage, filterForm, pagingLinks, statusLine } from "../widgets.js";

/** Dead tasks per page. */
const PAGE_SIZE = 50;

/**
 * Dead-lettered tasks, of every queue or one (`?queue=`), paged (`&page=`): redrive or purge
 * the selected ones, or every dead task of the chosen queue, each after a confirmation.
 */
export const deadLettersPage: PageModule = {
  path: "/dead-letters",
  navLabel: "Dead letters",
  title: () => "Dead letters",
  create({ api, query, navigate, refreshNow }) {
    const queue = query.get("queue") ?? "";
    const pageToken = query.get("page") ?? "";
    const selected = new Set<string>();
    let shown: readonly Task[] = [];
    const status = statusLine();
    const list = h("div", { "aria-busy": "true" }, "Loading…");
    const paging = h("div", { class: "paging" });

    const queueInput = h("input", { id: "dead-queue", name: "queue", type: "text", value: queue, placeholder: "every queue" });
    const filter = filterForm(
      () => navigate(withQuery("/dead-letters", { queue: queueInput.value.trim() || undefined })),
      "Show",
      h("label", { for: "dead-queue" }, "Queue"),
      queueInput,
    );

    const redriveSelected = h("button", { type: "button", onclick: () => void act("redrive", [...selected]) }, "Redrive selected");
    const purgeSelected = h("button", { type: "button", class: "danger", onclick: () => void act("purge", [...selected]) }, "Purge selected");
    const redriveAll = h("button", { type: "button", onclick: () => void act("redrive", undefined) }, "Redrive all in queue");
    const purgeAll = h("button", { type: "button", class: "danger", onclick: () => void act("purge", undefined) }, "Purge all in queue");
    const buttons = [redriveSelected, purgeSelected, redriveAll, purgeAll];

    function updateButtons(): void {
      redriveSelected.disabled = purgeSelected.disabled = selected.size === 0;
      redriveSelected.textContent = `Redrive selected (${selected.size})`;
      purgeSelected.textContent = `Purge selected (${selected.size})`;
      redriveAll.hidden = purgeAll.hidden = queue === "";
    }

    /** Redrives or purges `ids`, or every dead task of the queue when undefined. */
    async function act(action: "redrive" | "purge", ids: string[] | undefined): Promise<void> {
      const what = ids ? `${ids.length} selected dead task${ids.length === 1 ? "" : "s"}` : `every dead task of queue ${queue}`;
      const verb = action === "redrive" ? "Redrive (queue again)" : "Purge (delete for good)";
      if (!window.confirm(`${verb} ${what}?`)) return;
      for (const b of buttons) b.disabled = true;
      try {
        const target = ids ? { ids } : { queue };
        if (action === "redrive") {
          const answer = await api.deadLetters.redriveDeadTasks(target);
          const skipped = answer.skippedIds.length > 0 ? `, ${answer.skippedIds.length} skipped (no longer dead)` : "";
          status.show(`Redrove ${answer.tasks.length} task${answer.tasks.length === 1 ? "" : "s"}${skipped}.`);
        } else {
          const answer = await api.deadLetters.purgeDeadTasks(target);
          status.show(`Purged ${answer.purged} task${answer.purged === 1n ? "" : "s"}.`);
        }
        selected.clear();
      } catch (error) {
        status.show(`Failed: ${errorMessage(error)}`, true);
      } finally {
        for (const b of buttons) b.disabled = false;
        updateButtons();
        refreshNow();
      }
    }

    function render(): void {
      const allChecked = shown.length > 0 && shown.every((t) => selected.has(t.id));
      const selectAll = h("input", {
        type: "checkbox",
        "aria-label": "Select every task on this page",
        "data-key": "select-all",
        checked: allChecked,
        onchange: (event: Event) => {
          for (const t of shown) {
            if ((event.target as HTMLInputElement).checked) selected.add(t.id);
            else selected.delete(t.id);
          }
          render();
        },
      });
      const rows = shown.map((t) =>
        row(
          h(
            "td",
            {},
            h("input", {
              type: "checkbox",
              "aria-label": `Select task ${t.id}`,
              "data-key": t.id,
              checked: selected.has(t.id),
              onchange: (event: Event) => {
                if ((event.target as HTMLInputElement).checked) selected.add(t.id);
                else selected.delete(t.id);
                render();
              },
            }),
          ),
          h("td", { class: "mono" }, link(pathOf("tasks", t.id), t.id)),
          link(pathOf("queues", t.queue), t.queue),
          t.type,
          `${t.attempt} / ${t.maxAttempts}`,
          formatTime(t.finishedAt),
          t.lastError ? `${t.lastError.type ? `${t.lastError.type}: ` : ""}${t.lastError.message}` : "",
        ),
      );
      list.removeAttribute("aria-busy");
      replaceKeepingFocus(
        list,
        shown.length > 0 ? h("p", {}, h("label", {}, selectAll, " Select every task on this page")) : null,
        table("Dead tasks", ["", "Task", "Queue", "Type", "Attempts", "Died", "Last error"], rows, queue ? `No dead tasks in queue ${queue}.` : "No dead tasks."),
      );
      updateButtons();
    }

    const element = h(
      "section",
      {},
      h("h1", {}, "Dead letters"),
      filter,
      h("div", { class: "actions" }, buttons),
      status.element,
      list,
      paging,
    );
    updateButtons();
    return {
      element,
      async refresh() {
        const page = await api.deadLetters.listDeadTasks({ queue, pageSize: PAGE_SIZE, pageToken });
        shown = page.tasks;
        // A selected task that left the list (redriven elsewhere, purged) is no longer selected.
        for (const id of selected) if (!shown.some((t) => t.id === id)) selected.delete(id);
        render();
        const here = (token: string) => withQuery("/dead-letters", { queue: queue || undefined, page: token || undefined });
        replaceKeepingFocus(
          paging,
          pagingLinks(pageToken !== "" ? here("") : undefined, page.nextPageToken !== "" ? here(page.nextPageToken) : undefined),
        );
      },
    };
  },
};

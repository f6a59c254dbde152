import { Code, ConnectError } from "@connectrpc/connect";
import type { TaskState } from "../../../gen/taskqueue/v1/task_pb.js";
import { h, link, type Child } from "./dom.js";
import { stateName } from "./format.js";

/** A task state as a coloured badge. */
export function stateBadge(state: TaskState): HTMLElement {
  const name = stateName(state);
  return h("span", { class: `badge state-${name.toLowerCase()}` }, name);
}

/** The "paused" badge of a queue, with the reason as its tooltip. */
export function pausedBadge(reason: string): HTMLElement {
  return h("span", { class: "badge paused", title: reason || "paused" }, "paused");
}

/** True when a call failed because the thing asked for does not exist. */
export function isNotFound(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.NotFound;
}

/** The message of a failed call, for a status line. */
export function errorMessage(error: unknown): string {
  if (error instanceof ConnectError) return `${Code[error.code]}: ${error.rawMessage}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * A live region announcing the outcome of an action ("Paused", "Redrove 3 tasks"); `show`
 * replaces its text, marking errors.
 */
export function statusLine(): { element: HTMLElement; show(text: string, isError?: boolean): void } {
  const element = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  return {
    element,
    show(text, isError = false) {
      element.textContent = text;
      element.classList.toggle("error", isError);
    },
  };
}

/** A definition list of label → value pairs. */
export function facts(entries: readonly (readonly [string, Node | string])[]): HTMLElement {
  return h(
    "dl",
    { class: "facts" },
    entries.map(([label, value]) => h("div", {}, h("dt", {}, label), h("dd", {}, value))),
  );
}

/** A search form of labelled filter controls whose submit (button or Enter) calls `apply`. */
export function filterForm(apply: () => void, buttonText: string, ...controls: Child[]): HTMLFormElement {
  return h(
    "form",
    {
      class: "inline-form",
      role: "search",
      onsubmit: (event: Event) => {
        event.preventDefault();
        apply();
      },
    },
    controls,
    h("button", { type: "submit" }, buttonText),
  );
}

/** "First page" (when not on it) and "Next page" (when there is one) links of a paged list. */
export function pagingLinks(firstHref: string | undefined, nextHref: string | undefined): Child[] {
  return [firstHref !== undefined ? link(firstHref, "First page") : null, nextHref !== undefined ? link(nextHref, "Next page") : null];
}

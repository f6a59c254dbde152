/**
 * The dashboard's entry point: the shell (navigation, the error banner, the page region), the
 * router (URLs per page and filter, the back button) and the poller that refreshes the shown
 * page while the tab is visible.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { createApi } from "./api.js";
import { h } from "./dom.js";
import type { PageView } from "./page.js";
import { pages } from "./pages/index.js";
import { notFoundPage } from "./pages/not-found.js";
import { Poller } from "./poller.js";
import { matchRoute } from "./router.js";
import { storeToken } from "./token.js";
import "./styles.css";

/** Pause between two refreshes of the shown page, ms (see the README for the server cost). */
export const POLL_INTERVAL_MS = 5_000;

const api = createApi();
const banner = h("div", { class: "banner", role: "alert", hidden: true });
const main = h("main", { id: "main", tabindex: -1 });
const nav = h(
  "nav",
  { "aria-label": "Main" },
  h(
    "ul",
    {},
    pages.filter((p) => p.navLabel !== undefined).map((p) => h("li", {}, h("a", { href: p.path }, p.navLabel!))),
  ),
);
document.body.replaceChildren(
  h("a", { class: "skip-link", href: "#main" }, "Skip to content"),
  h("header", {}, h("a", { class: "brand", href: "/" }, "taskqueue"), nav),
  banner,
  main,
);

let poller: Poller | undefined;
let view: PageView | undefined;

function showOutcome(error: unknown): void {
  if (error === undefined) {
    banner.hidden = true;
    banner.textContent = "";
    return;
  }
  const message = error instanceof ConnectError ? error.rawMessage : error instanceof Error ? error.message : String(error);
  if (error instanceof ConnectError && (error.code === Code.Unauthenticated || error.code === Code.PermissionDenied)) {
    showTokenForm(message);
    return;
  }
  banner.textContent = `Cannot load data from the server (${message}). Retrying every ${POLL_INTERVAL_MS / 1000} s.`;
  banner.hidden = false;
}

/** Asks for an API token (a viewer's at least), kept for this tab only (sessionStorage). */
function showTokenForm(message: string): void {
  if (banner.querySelector("form") && !banner.hidden) return;
  const input = h("input", { type: "password", name: "token", autocomplete: "off", "aria-label": "API token" });
  const form = h(
    "form",
    { class: "token-form" },
    h("p", {}, `The server needs an API token (${message}). Ask an admin for one (tq token create --role viewer) and paste it here; it is kept for this tab only.`),
    input,
    h("button", { type: "submit" }, "Use token"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    storeToken((input as HTMLInputElement).value.trim());
    banner.hidden = true;
    banner.replaceChildren();
    poller?.now();
  });
  banner.replaceChildren(form);
  banner.hidden = false;
}

/** Shows the page of the current URL. */
function render(focus: boolean): void {
  poller?.stop();
  const url = new URL(window.location.href);
  const match = matchRoute(pages, url.pathname) ?? { page: notFoundPage, params: {} };
  document.title = `${match.page.title(match.params)} · taskqueue`;
  for (const a of nav.querySelectorAll("a")) {
    const current = a.getAttribute("href") === (url.pathname === "/" ? "/" : `/${url.pathname.split("/")[1]}`);
    if (current) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  view = match.page.create({
    api,
    params: match.params,
    query: url.searchParams,
    navigate,
    refreshNow: () => poller?.now(),
  });
  main.replaceChildren(view.element);
  if (focus) main.focus({ preventScroll: true });
  const shown = view;
  poller = new Poller({ run: () => shown.refresh(), intervalMs: POLL_INTERVAL_MS, onOutcome: showOutcome });
  poller.start();
}

function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  render(!options.replace);
  if (!options.replace) window.scrollTo(0, 0);
}

// Links inside the application change the page without a reload.
document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const anchor = (event.target as Element).closest?.("a");
  if (!anchor || anchor.target !== "" || anchor.hasAttribute("download")) return;
  const href = anchor.getAttribute("href");
  if (!href || !href.startsWith("/") || href.startsWith("//")) return;
  event.preventDefault();
  navigate(href);
});
window.addEventListener("popstate", () => render(true));
render(false);

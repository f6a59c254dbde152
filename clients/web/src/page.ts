import type { Api } from "./api.js";

/** What a page gets from the application. */
export interface PageContext {
  /** The services. */
  readonly api: Api;
  /** The route's parameters, decoded: `{ name: "emails" }` for `/queues/emails`. */
  readonly params: Readonly<Record<string, string>>;
  /** The URL's query (filters, page tokens). */
  readonly query: URLSearchParams;
  /** Goes to another URL of the application; `replace` keeps the history entry. */
  navigate(url: string, options?: { replace?: boolean }): void;
  /** Runs the page's refresh now (after an action), reporting errors like a poll. */
  refreshNow(): void;
}

/** One shown page. */
export interface PageView {
  /** The page's content; shown once, updated in place by {@link PageView.refresh}. */
  readonly element: HTMLElement;
  /**
   * Reads the data and updates the content; called at once, then on every poll while the tab
   * is visible. A rejection shows the "server unreachable" banner until a refresh succeeds.
   */
  refresh(): Promise<void>;
}

/**
 * A page of the dashboard: one module under `pages/`, listed once in `pages/index.ts`.
 */
export interface PageModule {
  /** URL pattern: `/`, `/queues/:name` (a `:param` matches one segment). */
  readonly path: string;
  /** The navigation bar's label, for pages reachable from it. */
  readonly navLabel?: string;
  /** The document title for these parameters. */
  title(params: Readonly<Record<string, string>>): string;
  /** Builds the page. */
  create(context: PageContext): PageView;
}

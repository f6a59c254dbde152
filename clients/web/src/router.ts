import type { PageModule } from "./page.js";

/** A page matched by a URL. */
export interface RouteMatch {
  readonly page: PageModule;
  readonly params: Record<string, string>;
}

/**
 * The first page whose pattern matches `pathname`, with its parameters decoded; undefined
 * when none does. A `:param` segment matches one non-empty path segment.
 */
export function matchRoute(pages: readonly PageModule[], pathname: string): RouteMatch | undefined {
  const segments = splitPath(pathname);
  for (const page of pages) {
    const pattern = splitPath(page.path);
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let matched = true;
    for (let i = 0; i < pattern.length && matched; i++) {
      const want = pattern[i]!;
      const got = segments[i]!;
      if (want.startsWith(":")) {
        try {
          params[want.slice(1)] = decodeURIComponent(got);
        } catch {
          matched = false;
        }
      } else {
        matched = want === got;
      }
    }
    if (matched) return { page, params };
  }
  return undefined;
}

function splitPath(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

/** A URL path with each parameter encoded: `pathOf("queues", name)` → `/queues/a%2Fb`. */
export function pathOf(...segments: string[]): string {
  return `/${segments.map(encodeURIComponent).join("/")}`;
}

/** A URL with query parameters, leaving out empty ones. */
export function withQuery(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value) params.set(key, value);
  const text = params.toString();
  return text === "" ? path : `${path}?${text}`;
}

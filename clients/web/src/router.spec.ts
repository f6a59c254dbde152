import { describe, expect, it } from "vitest";
import type { PageModule } from "./page.js";
import { matchRoute, pathOf, withQuery } from "./router.js";

const page = (path: string): PageModule => ({ path, title: () => path, create: () => ({ element: undefined as never, refresh: () => Promise.resolve() }) });
const pages = [page("/"), page("/queues/:name"), page("/tasks/:id"), page("/dead-letters")];

describe("the router", () => {
  it("matches a page by its pattern and decodes its parameters", () => {
    expect(matchRoute(pages, "/")?.page.path).toBe("/");
    expect(matchRoute(pages, "/queues/a%2Fb%3Ac")).toMatchObject({ page: { path: "/queues/:name" }, params: { name: "a/b:c" } });
    expect(matchRoute(pages, "/dead-letters/")?.page.path).toBe("/dead-letters");
    expect(matchRoute(pages, "/queues")).toBeUndefined();
    expect(matchRoute(pages, "/queues/a/b")).toBeUndefined();
    expect(matchRoute(pages, "/queues/%E0%A4%A")).toBeUndefined();
  });

  it("builds addresses that match back", () => {
    const name = "emails/eu:1 ü";
    expect(matchRoute(pages, pathOf("queues", name))?.params).toEqual({ name });
    expect(withQuery("/queues/x", { state: "QUEUED", type: "", page: undefined })).toBe("/queues/x?state=QUEUED");
    expect(withQuery("/dead-letters", {})).toBe("/dead-letters");
  });
});

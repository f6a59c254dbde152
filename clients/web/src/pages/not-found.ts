import { h, link } from "../dom.js";
import type { PageModule } from "../page.js";

/** Shown for a URL no page matches. */
export const notFoundPage: PageModule = {
  path: "/*",
  title: () => "Not found",
  create() {
    return {
      element: h("section", {}, h("h1", {}, "Page not found"), h("p", {}, "No dashboard page has this address. ", link("/", "Go to the overview"), ".")),
      refresh: () => Promise.resolve(),
    };
  },
};

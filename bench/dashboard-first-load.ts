/**
 * How long the dashboard's first load takes from a cold browser cache: headless Chromium
 * (Debian's `chromium`, through playwright-core) opens the address in a fresh context, `--runs`
 * times, and times each from navigation until the page has drawn its data (no region marked
 * `aria-busy` left). Prints the time of each run and the bytes transferred.
 *
 *   npx tsx bench/dashboard-first-load.ts [--runs 5] http://localhost:8080/
 */
import { parseArgs } from "node:util";
import { launchChromium } from "../test/support/browser.js";

const { values, positionals } = parseArgs({ options: { runs: { type: "string", default: "5" } }, allowPositionals: true });
const address = positionals[0] ?? "http://localhost:8080/";
const browser = await launchChromium();
try {
  for (let run = 1; run <= Number(values.runs); run++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    let bytes = 0;
    page.on("requestfinished", (request) => {
      void request.sizes().then((sizes) => (bytes += sizes.responseBodySize + sizes.responseHeadersSize), () => undefined);
    });
    const started = Date.now();
    await page.goto(address);
    await page.waitForFunction(() => document.querySelector("main h1") !== null && document.querySelector('main [aria-busy="true"]') === null, undefined, {
      timeout: 30_000,
    });
    const ms = Date.now() - started;
    await context.close();
    console.log(`run ${run}: ${address} drawn with its data in ${ms} ms, ${(bytes / 1024).toFixed(1)} KiB transferred`);
  }
} finally {
  await browser.close();
}

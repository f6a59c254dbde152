import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser } from "playwright-core";
import { buildWeb } from "../../scripts/build-web.js";
import { launchChromium } from "./browser.js";
import { startTestServer, type TestServer } from "./test-server.js";

/** What a dashboard test file runs against: the built dashboard, a server serving it, a browser. */
export interface DashboardStack {
  /** The server, serving the dashboard at its HTTP base URL. */
  ts: TestServer;
  /** Where the dashboard was built (to serve it from another server too). */
  dashboardDir: string;
  /** Headless Chromium. */
  browser: Browser;
  /** Closes the browser, stops the server and removes the build. */
  stop(): Promise<void>;
}

/**
 * Builds the dashboard into a temporary directory while Chromium starts, then starts a test
 * server serving it with `serverOptions` on top.
 */
export async function startDashboardStack(serverOptions: Parameters<typeof startTestServer>[0] = {}): Promise<DashboardStack> {
  const dir = await mkdtemp(path.join(tmpdir(), "tq-dashboard-"));
  const [built, browser] = await Promise.all([buildWeb(path.join(dir, "dist")), launchChromium()]);
  const ts = await startTestServer({ ...serverOptions, dashboardDir: built.outdir }).catch(async (error: unknown) => {
    await browser.close();
    throw error;
  });
  return {
    ts,
    dashboardDir: built.outdir,
    browser,
    async stop() {
      await browser.close();
      await ts.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

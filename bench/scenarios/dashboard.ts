import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import { BenchVerificationError } from "../errors.js";
import { bracketedThroughput } from "./bracketed.js";
import type { Scenario, ScenarioContext } from "./context.js";
import { throughputBatch } from "./throughput.js";

/** Where Debian's `chromium` package puts the browser (as the browser tests look for it). */
const CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** Path of the RPC the overview polls, to count the page's refreshes. */
const LIST_QUEUES_PATH = "/taskqueue.v1.QueueService/ListQueues";

async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH || CHROMIUM_CANDIDATES.find((p) => existsSync(p));
  if (!executablePath) {
    throw new BenchVerificationError("dashboard_polling: no Chromium found (install Debian's chromium package, or set CHROMIUM_PATH)");
  }
  // --no-sandbox: these machines run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
}

/**
 * Runs throughput_batch with the dashboard's overview open in headless Chromium, polling the
 * server as it does for a user (every 5 s: ListQueues and GetSystemHealth over Connect).
 */
async function throughputWithDashboard(context: ScenarioContext) {
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    let refreshes = 0;
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === LIST_QUEUES_PATH) refreshes++;
    });
    const response = await page.goto(`${context.stack.server.httpUrl}/`);
    if (!response?.ok()) {
      throw new BenchVerificationError(`dashboard_polling: GET / answered ${response?.status()}: build the dashboard first (npm run build:web)`);
    }
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor({ timeout: 30_000 });
    await page.locator("table").first().waitFor({ timeout: 30_000 });
    const before = refreshes;
    const result = await throughputBatch(context);
    return { result, refreshes: refreshes - before };
  } finally {
    await browser.close();
  }
}

/**
 * dashboard_polling: throughput_batch alone, then with the dashboard's overview open in a
 * headless Chromium page (polling as for a user), then alone again; `change_pct` compares the
 * run with the page open with the mean of the two alone. The browser runs on the same machine,
 * so its own CPU counts too (reported in `cpu_other_pct`).
 */
export const dashboardPolling: Scenario = async (context) => {
  const run = await bracketedThroughput(context, () => throughputWithDashboard(context));
  const open = run.during;
  return {
    metrics: { ...run.metrics, tasks_per_s_dashboard: run.tasksPerS, dashboard_refreshes: open.refreshes },
    windowUs: open.result.windowUs,
    notes: [
      `dashboard_polling: throughput_batch of ${context.options.tasks} tasks alone, with the dashboard's overview open in headless Chromium ` +
        `(${open.refreshes} refreshes during the run, one per 5 s: a run shorter than that measures little), alone again; ` +
        "change_pct = with the page vs the mean of the two alone",
    ],
  };
};

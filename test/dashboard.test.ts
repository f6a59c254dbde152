import { createClient, type Client } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { QueueService } from "../gen/taskqueue/v1/queue_service_pb.js";
import { TaskState } from "../gen/taskqueue/v1/task_pb.js";
import { createLogger } from "../server/observability/logger.js";
import { exampleHandlers } from "../worker/example/handlers.js";
import { findFreePort } from "../tools/local-services/free-port.js";
import { createWorker, type TaskContext, type Worker } from "../worker/index.js";
import { keepScreenshot, openDashboardPage } from "./support/browser.js";
import { startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import { RawWorker } from "./support/raw-worker.js";
import { jsonPayload, waitForState } from "./support/tasks.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * The dashboard in headless Chromium (Debian's package, driven by playwright-core) against a
 * real server on the run's Redis and Postgres, built for the test into a temporary directory.
 */
const UI_TIMEOUT_MS = 10_000;
/** Deadline of what the page shows only at its next poll (every 5 s): three polls' worth. */
const NEXT_POLL_TIMEOUT_MS = 30_000;

let stack: DashboardStack | undefined;
let dashboardDir: string;
let ts: TestServer;
let queues: Client<typeof QueueService>;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const workers: Worker[] = [];
const rawWorkers: RawWorker[] = [];

beforeAll(async () => {
  stack = await startDashboardStack({ defaultInitialBackoffMs: 20, defaultMaxBackoffMs: 50 });
  ({ ts, browser, dashboardDir } = stack);
  queues = createClient(QueueService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
});

afterAll(async () => {
  for (const w of rawWorkers) w.cancel();
  for (const w of workers) await w.stop({ timeoutMs: 2_000 }).catch(() => undefined);
  await stack?.stop();
});

let pageErrors: string[] = [];
beforeEach(async () => {
  ({ context, page, errors: pageErrors } = await openDashboardPage(browser, UI_TIMEOUT_MS));
});

afterEach(async () => {
  await context?.close();
  expect(pageErrors).toEqual([]);
});

function url(pathAndQuery: string): string {
  return `${ts.httpBaseUrl}${pathAndQuery}`;
}

/** Accepts the next confirmation dialog the page opens. */
function acceptNextDialog(): void {
  page.once("dialog", (dialog) => void dialog.accept());
}

describe("dashboard", () => {
  it("overview shows a queue's counts after submits, and its link opens the queue page (a deep link that reloads)", async () => {
    const queue = uniqueQueue("overview");
    for (let i = 0; i < 3; i++) await ts.grpc.submitTask({ queue, type: "echo", payloadData: jsonPayload({ i }) });
    await ts.grpc.submitTask({ queue, type: "echo", runAt: { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 } });
    await page.goto(url("/"));
    const row = page.locator(`tr[data-queue="${queue}"]`);
    await row.locator('td[data-count="queued"]', { hasText: /^3$/ }).waitFor();
    await row.locator('td[data-count="scheduled"]', { hasText: /^1$/ }).waitFor();
    await page.locator(".health-line", { hasText: "SERVING" }).waitFor();
    await keepScreenshot(page, "overview");

    await row.getByRole("link", { name: queue }).click();
    await page.waitForURL(url(`/queues/${queue}`));
    await page.getByRole("heading", { level: 1, name: `Queue ${queue}` }).waitFor();
    await page.locator("tbody tr").nth(3).waitFor();
    expect(await page.locator("tbody tr").count()).toBe(4);

    // A filter is part of the URL: it survives a reload, and the back button undoes it.
    await page.getByLabel("State").selectOption("SCHEDULED");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(url(`/queues/${queue}?state=SCHEDULED`));
    await page.reload();
    await page.locator("tbody tr .badge", { hasText: "SCHEDULED" }).waitFor();
    await waitFor(async () => (await page.locator("tbody tr").count()) === 1, { timeoutMs: UI_TIMEOUT_MS, message: "one SCHEDULED task listed" });
    await page.goBack();
    await page.waitForURL(url(`/queues/${queue}`));
    await page.locator("tbody tr").nth(3).waitFor();
  });

  it("overview shows a queue's depth falling as a worker drains it", { timeout: 90_000 }, async () => {
    const queue = uniqueQueue("drain");
    await ts.grpc.submitTasks({ tasks: Array.from({ length: 5 }, (_, i) => ({ queue, type: "echo", payloadData: jsonPayload({ i }) })) });
    await page.goto(url("/"));
    const row = page.locator(`tr[data-queue="${queue}"]`);
    await row.locator('td[data-count="queued"]', { hasText: /^5$/ }).waitFor();
    const worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    workers.push(worker);
    await worker.start();
    // The next poll (within POLL_INTERVAL_MS, 5 s) shows the queue empty and the successes.
    await row.locator('td[data-count="queued"]', { hasText: /^0$/ }).waitFor({ timeout: NEXT_POLL_TIMEOUT_MS });
    // The sparkline of the last 15 minutes says in words what it draws: the 5 successes (in
    // whichever minutes they fell; the 1-minute rate alone would miss some across a minute's end).
    const successes = async () => {
      const label = (await row.locator("svg.sparkline").getAttribute("aria-label")) ?? "";
      return /succeeded ([\d, ]+);/.exec(label)?.[1]?.split(", ").map(Number) ?? [];
    };
    const succeeded = await waitFor(async () => {
      const perMinute = await successes();
      return perMinute.reduce((a, b) => a + b, 0) === 5 ? perMinute : undefined;
    }, { timeoutMs: NEXT_POLL_TIMEOUT_MS, message: "the sparkline to show the 5 successes" });
    expect(succeeded).toHaveLength(15);
  });

  it("shows a banner while the server is unreachable, and drops it when the server is back", async () => {
    const httpPort = await findFreePort();
    const first = await startTestServer({ dashboardDir: dashboardDir, httpPort });
    let second: TestServer | undefined;
    try {
      await page.goto(`http://127.0.0.1:${httpPort}/workers`);
      await page.getByRole("heading", { level: 1, name: "Workers" }).waitFor();
      const banner = page.getByRole("alert");
      await banner.waitFor({ state: "hidden" });
      await first.stop();
      await banner.filter({ hasText: "Cannot load data from the server" }).waitFor({ timeout: NEXT_POLL_TIMEOUT_MS });
      await keepScreenshot(page, "server-unreachable");
      second = await startTestServer({ dashboardDir, httpPort }, { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix });
      await banner.waitFor({ state: "hidden", timeout: NEXT_POLL_TIMEOUT_MS });
      await page.getByText("No workers connected").waitFor();
    } finally {
      await first.stop().catch(() => undefined);
      await second?.stop();
    }
  });

  it("pauses and resumes a queue from its page, as GetQueue shows", async () => {
    const queue = uniqueQueue("pause");
    await ts.grpc.submitTask({ queue, type: "echo" });
    await page.goto(url(`/queues/${encodeURIComponent(queue)}`));
    await page.getByLabel("Pause reason").fill("maintenance window");
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("status").filter({ hasText: `Paused queue ${queue}.` }).waitFor();
    await page.locator("h1 .badge", { hasText: "paused" }).waitFor();
    const paused = (await queues.getQueue({ name: queue })).queue!;
    expect([paused.paused, paused.pauseReason]).toEqual([true, "maintenance window"]);
    await keepScreenshot(page, "queue");

    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("status").filter({ hasText: `Resumed queue ${queue}.` }).waitFor();
    expect((await queues.getQueue({ name: queue })).queue!.paused).toBe(false);
    await page.getByRole("button", { name: "Pause" }).waitFor();
    // The limits in force show with the settings.
    await queues.updateQueue({
      name: queue,
      settings: { maxConcurrency: 5, rateLimit: { limit: 100, period: { seconds: 1n, nanos: 0 } }, maxConcurrencyPerKey: 2 },
      updateMask: { paths: ["max_concurrency", "rate_limit", "max_concurrency_per_key"] },
    });
    await page.reload();
    await page.locator(".facts", { hasText: "Max concurrency" }).filter({ hasText: /Max concurrency\s*5/ }).waitFor();
    await page.locator(".facts").filter({ hasText: /Rate limit\s*100 per 1 s/ }).waitFor();
    await page.locator(".facts").filter({ hasText: /Max per concurrency key\s*2/ }).waitFor();
  });

  it("shows a task's JSON payload and state, bytes as base64 with their size, and cancels it", async () => {
    const queue = uniqueQueue("task");
    const { task } = await ts.grpc.submitTask({ queue, type: "email", payloadData: jsonPayload({ to: "a@b.c", n: 2 }), labels: { tenant: "t1" }, concurrencyKey: "customer-7" });
    await page.goto(url(`/tasks/${task!.id}`));
    await page.locator("h1 .badge", { hasText: "QUEUED" }).waitFor();
    expect(await page.locator("pre.data-payload").textContent()).toBe(JSON.stringify({ to: "a@b.c", n: 2 }, null, 2));
    await page.locator(".facts", { hasText: "tenant=t1" }).waitFor();
    await page.locator(".facts").filter({ hasText: /Concurrency key\s*customer-7/ }).waitFor();
    await keepScreenshot(page, "task");

    acceptNextDialog();
    await page.getByRole("button", { name: "Cancel task" }).click();
    await page.locator("h1 .badge", { hasText: "CANCELLED" }).waitFor();
    expect((await ts.grpc.getTask({ id: task!.id })).task!.state).toBe(TaskState.CANCELLED);
    await page.getByRole("button", { name: "Cancel task" }).waitFor({ state: "hidden" });

    const bytes = await ts.grpc.submitTask({ queue, type: "blob", payloadData: { case: "payloadBytes", value: new Uint8Array([0, 1, 2, 250, 251]) } });
    await page.goto(url(`/tasks/${bytes.task!.id}`));
    await page.getByText("Bytes, 5 B, shown as base64:").waitFor();
    expect(await page.locator("pre.data-payload").textContent()).toBe(Buffer.from([0, 1, 2, 250, 251]).toString("base64"));
  });

  it("shows a running task's progress, and cancelling it from its page aborts its handler", async () => {
    const queue = uniqueQueue("running");
    let aborted = false;
    const worker = createWorker({
      address: ts.grpcAddress,
      queues: [queue],
      concurrency: 1,
      logger: createLogger({ level: "silent" }),
      handlers: {
        // Reports progress, then waits until the task is cancelled.
        resize: (task: TaskContext) =>
          new Promise((_, reject) => {
            task.progress(40, "resized 2 of 5");
            task.signal.addEventListener("abort", () => {
              aborted = true;
              reject(task.signal.reason as Error);
            });
          }),
      },
    });
    workers.push(worker);
    await worker.start();
    const { task } = await ts.grpc.submitTask({ queue, type: "resize", payloadData: jsonPayload({ images: 5 }) });
    // Progress reaches Postgres in batches: wait until GetTask has it, then open the page.
    await waitFor(async () => (await ts.grpc.getTask({ id: task!.id })).task?.progress?.percent === 40, {
      timeoutMs: UI_TIMEOUT_MS,
      intervalMs: 50,
      message: "the task's progress to be recorded",
    });
    await page.goto(url(`/tasks/${task!.id}`));
    await page.locator("h1 .badge", { hasText: "RUNNING" }).waitFor();
    const bar = page.getByRole("progressbar");
    await bar.waitFor();
    expect(await bar.getAttribute("value")).toBe("40");
    expect(await page.getByText("Progress: 40% — resized 2 of 5").count()).toBe(1);
    await keepScreenshot(page, "task-running");

    acceptNextDialog();
    await page.getByRole("button", { name: "Cancel task" }).click();
    await page.locator("h1 .badge", { hasText: "CANCELLED" }).waitFor();
    await waitFor(() => aborted, { timeoutMs: UI_TIMEOUT_MS, message: "the handler to see its signal abort" });
    expect(await page.locator("tbody tr .badge").allTextContents()).toEqual(["CANCELLED"]);
  });

  it("shows a retried task's attempts, and redrives a dead task from the dead-letter page until it succeeds", async () => {
    const queue = uniqueQueue("dead");
    const worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    workers.push(worker);
    await worker.start();
    // Fails attempts 1 and 2, so it dies with 2 attempts allowed and succeeds on the third.
    const { task } = await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times: 2 }), retryPolicy: { maxAttempts: 2 } });
    await waitForState(ts.grpc, task!.id, TaskState.DEAD);

    await page.goto(url(`/tasks/${task!.id}`));
    await page.locator("h1 .badge", { hasText: "DEAD" }).waitFor();
    await page.locator("tbody tr").nth(1).waitFor();
    expect(await page.locator("tbody tr .badge").allTextContents()).toEqual(["FAILED", "FAILED"]);

    await page.goto(url(`/dead-letters?queue=${queue}`));
    await page.getByLabel(`Select task ${task!.id}`).check();
    await keepScreenshot(page, "dead-letters");
    acceptNextDialog();
    await page.getByRole("button", { name: "Redrive selected (1)" }).click();
    await page.getByRole("status").filter({ hasText: "Redrove 1 task." }).waitFor();
    await page.getByText(`No dead tasks in queue ${queue}.`).waitFor();
    await waitForState(ts.grpc, task!.id, TaskState.SUCCEEDED);
  });

  it("purges every dead task of a queue after a confirmation", async () => {
    const queue = uniqueQueue("purge");
    const worker = createWorker({ address: ts.grpcAddress, queues: [queue], concurrency: 4, handlers: exampleHandlers(), logger: createLogger({ level: "silent" }) });
    workers.push(worker);
    await worker.start();
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { task } = await ts.grpc.submitTask({ queue, type: "fail", payloadData: jsonPayload({ times: 1, retryable: false }) });
      ids.push(task!.id);
    }
    for (const id of ids) await waitForState(ts.grpc, id, TaskState.DEAD);
    await page.goto(url(`/dead-letters?queue=${queue}`));
    await page.getByLabel(`Select task ${ids[1]}`).waitFor();
    page.once("dialog", (dialog) => void dialog.dismiss());
    await page.getByRole("button", { name: "Purge all in queue" }).click();
    await page.getByLabel(`Select task ${ids[0]}`).waitFor();
    acceptNextDialog();
    await page.getByRole("button", { name: "Purge all in queue" }).click();
    await page.getByRole("status").filter({ hasText: "Purged 2 tasks." }).waitFor();
    await page.getByText(`No dead tasks in queue ${queue}.`).waitFor();
  });

  it("lists a connected worker on the workers page", async () => {
    const queue = uniqueQueue("workers");
    const worker = new RawWorker(ts.grpcAddress);
    rawWorkers.push(worker);
    await worker.hello([queue], "dashboard-worker-1", 7);
    await page.goto(url("/workers"));
    const row = page.locator('tr[data-worker="dashboard-worker-1"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(queue);
    expect(await row.locator("td.num").textContent()).toBe("0 / 7");
    await keepScreenshot(page, "workers");

    // From the queue page, the workers of that queue only.
    await page.goto(url(`/queues/${queue}`));
    await page.locator("main").getByRole("link", { name: "Workers", exact: true }).click();
    await page.waitForURL(url(`/workers?queue=${queue}`));
    await row.waitFor();
    await page.goto(url(`/workers?queue=${uniqueQueue("nobody")}`));
    await page.getByText(/^No worker serves queue nobody-/).waitFor();
  });

  it("works at a phone's width and from the keyboard", async () => {
    await page.setViewportSize({ width: 380, height: 800 });
    const queue = uniqueQueue("phone");
    const { task } = await ts.grpc.submitTask({ queue, type: "a-rather-long-task-type-name", payloadData: jsonPayload({ text: "x".repeat(300) }) });
    // Wide tables scroll inside their box; the page itself never scrolls sideways.
    const horizontalOverflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    for (const [address, ready] of [
      [`/tasks/${task!.id}`, "pre.data-payload"],
      [`/queues/${queue}`, "tbody tr"],
      ["/", ".health-line"],
    ] as const) {
      await page.goto(url(address));
      await page.locator(ready).first().waitFor();
      expect([address, await horizontalOverflow()]).toEqual([address, 0]);
    }
    await keepScreenshot(page, "overview-phone");
    // Tab from the top reaches the skip link, then the navigation; Enter follows a link.
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workers" }).focus();
    await page.keyboard.press("Enter");
    await page.waitForURL(url("/workers"));
    await page.getByRole("heading", { level: 1, name: "Workers" }).waitFor();
  });
});

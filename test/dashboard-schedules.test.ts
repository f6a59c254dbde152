import type { Client } from "@connectrpc/connect";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { ScheduleService } from "../gen/taskqueue/v1/schedule_service_pb.js";
import { keepScreenshot, openDashboardPage } from "./support/browser.js";
import { startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import { jsonPayload } from "./support/tasks.js";
import { scheduleClient } from "./support/schedules.js";
import { uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * The dashboard's Schedules pages in headless Chromium against a real server: the list shows
 * a created schedule; trigger, pause, resume and delete from a schedule's page, checked
 * through GetSchedule; a triggered firing's link opens its task.
 */
const UI_TIMEOUT_MS = 10_000;

let stack: DashboardStack | undefined;
let ts: TestServer;
let schedules: Client<typeof ScheduleService>;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  stack = await startDashboardStack();
  ({ ts, browser } = stack);
  schedules = scheduleClient(ts.grpcAddress);
});

afterAll(async () => {
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

/** A schedule that fires once a day in New York: nothing fires on its own during a test. */
async function createSchedule(prefix: string): Promise<{ id: string; queue: string }> {
  const id = uniqueQueue(prefix);
  const queue = uniqueQueue(`${prefix}-q`);
  await schedules.createSchedule({
    schedule: { id, spec: { case: "cron", value: "30 2 * * *" }, timeZone: "America/New_York", task: { queue, type: "report.nightly", payloadData: jsonPayload({ format: "pdf" }) } },
  });
  return { id, queue };
}

describe("dashboard: schedules", () => {
  it("lists a created schedule with its spec, next fire time and paused badge, and links to its page", async () => {
    const { id, queue } = await createSchedule("ui-list");
    const paused = await createSchedule("ui-list-paused");
    await schedules.pauseSchedule({ id: paused.id });
    await page.goto(url("/"));
    await page.getByRole("link", { name: "Schedules", exact: true }).click();
    await page.waitForURL(url("/schedules"));
    const row = page.locator(`tr[data-schedule="${id}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain("cron 30 2 * * * (America/New_York)");
    await row.getByRole("link", { name: queue }).waitFor();
    await row.locator(".badge", { hasText: "active" }).waitFor();
    await row.getByText("never fired").waitFor();
    await page.locator(`tr[data-schedule="${paused.id}"] .badge`, { hasText: "paused" }).waitFor();
    await keepScreenshot(page, "schedules");

    await row.getByRole("link", { name: id }).click();
    await page.waitForURL(url(`/schedules/${id}`));
    await page.getByRole("heading", { level: 1, name: `Schedule ${id}` }).waitFor();
    await page.locator("ol.fire-times li").nth(4).waitFor();
    expect(await page.locator("ol.fire-times li").count()).toBe(5);
    await page.getByText("No firings yet.").waitFor();
  });

  it("triggers a schedule from its page: the firing's link opens the task, and the list shows the firing", async () => {
    const { id, queue } = await createSchedule("ui-trigger");
    await page.goto(url(`/schedules/${id}`));
    await page.getByRole("button", { name: "Trigger now" }).click();
    const status = page.getByRole("status").filter({ hasText: "Triggered: task" });
    await status.waitFor();
    const taskId = (await status.locator("a").textContent())!;
    const got = await schedules.getSchedule({ id });
    expect(got.recentFirings.map((f) => f.taskId)).toEqual([taskId]);
    const firingRow = page.locator("tbody tr", { hasText: taskId });
    await firingRow.locator(".badge", { hasText: "TRIGGERED" }).waitFor();
    await keepScreenshot(page, "schedule");

    await firingRow.getByRole("link", { name: taskId }).click();
    await page.waitForURL(url(`/tasks/${taskId}`));
    await page.getByRole("heading", { level: 1, name: `Task ${taskId}` }).waitFor();
    await page.locator(".facts", { hasText: `schedule=${id}` }).waitFor();
    expect(await page.locator(".facts").first().textContent()).toContain(queue);

    await page.goBack();
    await page.waitForURL(url(`/schedules/${id}`));
    await page.goto(url("/schedules"));
    await page.locator(`tr[data-schedule="${id}"]`).getByRole("link", { name: taskId }).waitFor();
  });

  it("pauses and resumes a schedule from its page, as GetSchedule shows, and deletes it after a confirmation", async () => {
    const { id } = await createSchedule("ui-pause");
    await page.goto(url(`/schedules/${id}`));
    await page.getByRole("button", { name: "Pause" }).click();
    await page.getByRole("status").filter({ hasText: `Paused schedule ${id}.` }).waitFor();
    await page.locator("h1 .badge", { hasText: "paused" }).waitFor();
    expect((await schedules.getSchedule({ id })).schedule!.paused).toBe(true);
    await page.getByText("None while paused.").waitFor();

    await page.getByRole("button", { name: "Resume" }).click();
    await page.getByRole("status").filter({ hasText: `Resumed schedule ${id}.` }).waitFor();
    await page.locator("h1 .badge", { hasText: "active" }).waitFor();
    const resumed = await schedules.getSchedule({ id });
    expect(resumed.schedule!.paused).toBe(false);
    expect(resumed.nextFireTimes).toHaveLength(5);
    await page.locator("ol.fire-times li").nth(4).waitFor();

    // Declining the confirmation keeps it; accepting deletes it and goes back to the list.
    page.once("dialog", (dialog) => void dialog.dismiss());
    await page.getByRole("button", { name: "Delete" }).click();
    expect((await schedules.getSchedule({ id })).schedule!.id).toBe(id);
    page.once("dialog", (dialog) => void dialog.accept());
    await page.getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(url("/schedules"));
    await waitFor(
      async () => (await schedules.getSchedule({ id }).then(() => false, () => true)),
      { timeoutMs: UI_TIMEOUT_MS, message: "the schedule to be deleted" },
    );
    await page.getByRole("heading", { level: 1, name: "Schedules" }).waitFor();
    expect(await page.locator(`tr[data-schedule="${id}"]`).count()).toBe(0);
  });
});

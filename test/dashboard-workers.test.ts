import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterService } from "../gen/taskqueue/v1/cluster_service_pb.js";
import { keepScreenshot, openDashboardPage } from "./support/browser.js";
import { startExampleWorker, type ClientPrograms } from "./support/client-programs.js";
import { buildGoExamples, clientToolchains } from "./support/client-toolchains.js";
import { startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import type { ExampleProcess } from "./support/example-process.js";
import { jsonPayload } from "./support/tasks.js";
import { uniqueQueue } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * The dashboard's workers page with real Go and Python SDK workers connected (the example
 * workers of clients/go and clients/python, as separate processes), in headless Chromium.
 */
const UI_TIMEOUT_MS = 10_000;
/** Deadline of what the page shows only at a later poll (every 5 s) of a directory refresh. */
const NEXT_POLL_TIMEOUT_MS = 30_000;

let stack: DashboardStack | undefined;
let programs: ClientPrograms;
let buildDir: string;
const started: ExampleProcess[] = [];

beforeAll(async () => {
  const toolchains = await clientToolchains();
  buildDir = await mkdtemp(join(tmpdir(), "tq-dashboard-go-"));
  const [go, dashboard] = await Promise.all([buildGoExamples(toolchains, buildDir), startDashboardStack()]);
  stack = dashboard;
  programs = { toolchains, go };
}, 300_000);

afterAll(async () => {
  await Promise.all(started.splice(0).map((p) => p.stop(5_000)));
  await stack?.stop();
  if (buildDir) await rm(buildDir, { recursive: true, force: true });
});

describe("dashboard workers page", () => {
  it("lists a Go and a Python worker with their SDK, queues, capacity and the task in flight", { timeout: 120_000 }, async () => {
    const { ts, browser } = stack!;
    const queue = uniqueQueue("polyglot");
    const ids = { go: `go-worker-${randomBytes(3).toString("hex")}`, python: `python-worker-${randomBytes(3).toString("hex")}` };
    const procs = (["go", "python"] as const).map((language) => {
      const proc = startExampleWorker(programs, language, { server: ts.grpcAddress, queue, workerId: ids[language] });
      started.push(proc);
      return proc;
    });
    await Promise.all(procs.map((p) => p.waitForEvent((e) => e.event === "connected", "its welcome", 30_000)));
    const cluster = createClient(ClusterService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    const sessions = new Map((await cluster.listWorkers({ queue })).workers.map((w) => [w.workerId, w]));
    expect([...sessions.keys()].sort()).toEqual([ids.go, ids.python].sort());

    const { context, page, errors } = await openDashboardPage(browser, UI_TIMEOUT_MS);
    try {
      await page.goto(`${ts.httpBaseUrl}/workers?queue=${queue}`);
      const rows = {
        go: page.locator(`tr[data-worker="${ids.go}"]`),
        python: page.locator(`tr[data-worker="${ids.python}"]`),
      };
      const sdk = { go: "taskqueue-go 0.1.0", python: "taskqueue-python 0.1.0" };
      const language = { go: "Go", python: "Python" };
      for (const name of ["go", "python"] as const) {
        const row = rows[name];
        await row.waitFor();
        const cells = await row.locator("th, td").allTextContents();
        const { capacity, taskTypes } = sessions.get(ids[name])!;
        expect(capacity).toBeGreaterThan(0);
        expect(taskTypes).toEqual(expect.arrayContaining(["echo", "sleep"]));
        expect(cells).toEqual([
          ids[name],
          queue,
          taskTypes.join(", "),
          `0 / ${capacity}`,
          "",
          `${language[name]} (${sdk[name]})`,
          ts.server.serverId,
          expect.any(String),
          expect.any(String),
        ]);
      }
      await keepScreenshot(page, "workers-go-python");

      // A sleep task taken by one of them shows in flight on its row, linked to the task's page.
      const { task } = await ts.grpc.submitTask({ queue, type: "sleep", payloadData: jsonPayload({ ms: 60_000 }) });
      const taskLink = page.locator(`tr[data-worker] a[href="/tasks/${task!.id}"]`);
      await taskLink.waitFor({ timeout: NEXT_POLL_TIMEOUT_MS });
      const holder = page.locator("tr[data-worker]", { has: page.locator(`a[href="/tasks/${task!.id}"]`) });
      const holderId = (await holder.getAttribute("data-worker"))!;
      expect([ids.go, ids.python]).toContain(holderId);
      expect(await holder.locator("td.num").textContent()).toBe(`1 / ${sessions.get(holderId)!.capacity}`);
      await keepScreenshot(page, "workers-go-python-busy");

      await ts.grpc.cancelTask({ id: task!.id });
      const holderBusy = page.locator(`tr[data-worker="${holderId}"] td.num`);
      await waitFor(async () => ((await holderBusy.textContent())?.startsWith("0 / ") ? true : undefined), {
        timeoutMs: NEXT_POLL_TIMEOUT_MS,
        intervalMs: 200,
        message: "the cancelled task to leave the worker's row",
      });
      expect(errors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

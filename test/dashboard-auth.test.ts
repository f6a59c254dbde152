import { mkdtemp, rm } from "node:fs/promises";
import http from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../gen/taskqueue/v1/auth_service_pb.js";
import { buildWeb } from "../scripts/build-web.js";
import { launchChromium } from "./support/browser.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AuthService } from "../gen/taskqueue/v1/auth_service_pb.js";

/**
 * The dashboard and the gateway's CORS policy in headless Chromium, against a server that
 * requires API tokens: the dashboard asks for a token and keeps it for the tab; a page of
 * another origin cannot call the gateway.
 */
const ADMIN_TOKEN = "dashboard-admin-token-0123456789abcdef";
const UI_TIMEOUT_MS = 10_000;

let dir: string;
let ts: TestServer;
let browser: Browser;
let foreign: http.Server;
let foreignOrigin: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "tq-dashboard-auth-"));
  const [built, launched] = await Promise.all([buildWeb(path.join(dir, "dist")), launchChromium()]);
  browser = launched;
  ts = await startTestServer({ dashboardDir: built.outdir, adminToken: ADMIN_TOKEN });
  // A page of another origin (another port), as any web site a user visits.
  foreign = http.createServer((_, res) => res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>elsewhere</title>"));
  await new Promise<void>((resolve) => foreign.listen(0, "127.0.0.1", resolve));
  foreignOrigin = `http://127.0.0.1:${(foreign.address() as { port: number }).port}`;
});

afterAll(async () => {
  await browser?.close();
  foreign?.close();
  await ts?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  return page;
}

describe("dashboard with API tokens", () => {
  it("asks for a token when the server answers UNAUTHENTICATED and keeps it for the tab", async () => {
    const queue = uniqueQueue("auth-dash");
    await ts.grpc.submitTask({ queue, type: "echo" }, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const auth = createClient(AuthService, createGrpcTransport({ baseUrl: `http://${ts.grpcAddress}` }));
    const { secret } = await auth.createToken({ name: "dashboard", role: Role.VIEWER }, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const page = await newPage();
    await page.goto(`${ts.httpBaseUrl}/`);
    const input = page.getByLabel("API token");
    await input.waitFor();
    expect(await page.locator(".banner").textContent()).toMatch(/missing API token/);
    await input.fill(secret);
    await page.getByRole("button", { name: "Use token" }).click();
    await page.locator(`tr[data-queue="${queue}"]`).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("taskqueue.token"))).toBe(secret);
    // A reload keeps the token (same tab).
    await page.reload();
    await page.locator(`tr[data-queue="${queue}"]`).waitFor();
    await page.context().close();
  });

  it("refuses a page of a foreign origin (CORS_ORIGINS unset: same origin only)", async () => {
    const page = await newPage();
    await page.goto(foreignOrigin);
    const outcome = await page.evaluate(
      async ({ gateway, token }) => {
        try {
          const res = await fetch(`${gateway}/taskqueue.v1.DeadLetterService/PurgeDeadTasks`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify({ queue: "anything" }),
          });
          return `answered ${res.status}`;
        } catch (error) {
          return `refused: ${String(error)}`;
        }
      },
      { gateway: ts.httpBaseUrl, token: ADMIN_TOKEN },
    );
    expect(outcome).toMatch(/^refused: TypeError/);
    await page.context().close();
  });
});

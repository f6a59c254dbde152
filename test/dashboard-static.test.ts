import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { gzipSync } from "node:zlib";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawHttpRequest } from "./support/raw-http.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";

/**
 * The gateway's static file server (the dashboard at `/`), over a directory of known files:
 * content types, caching, deep links, traversal refused, a missing build, and the API routes
 * left alone.
 */
let dir: string;
let root: string;
let ts: TestServer;
const servers: TestServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "tq-static-"));
  root = path.join(dir, "site");
  await mkdir(path.join(root, "assets"), { recursive: true });
  await writeFile(path.join(root, "index.html"), "<!doctype html><title>index</title>");
  await writeFile(path.join(root, "assets", "main-ABC123.js"), "console.log('app');");
  await writeFile(path.join(root, "assets", "main-ABC123.css"), "body{}");
  await writeFile(path.join(root, "assets", "main-ABC123.css.gz"), gzipSync("body{}"));
  await writeFile(path.join(root, "robots.txt"), "User-agent: *");
  await writeFile(path.join(dir, "secret.txt"), "TOP SECRET");
  ts = await startTestServer({ dashboardDir: root });
  servers.push(ts);
});

afterAll(async () => {
  for (const s of servers) await s.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe("the dashboard's static files", () => {
  it("serves index.html at / with no-cache, and hashed assets as immutable with their content types", async () => {
    const index = await fetch(`${ts.httpBaseUrl}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(await index.text()).toContain("<title>index</title>");
    expect(index.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(index.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");

    const script = await fetch(`${ts.httpBaseUrl}/assets/main-ABC123.js`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(await script.text()).toBe("console.log('app');");
    const style = await fetch(`${ts.httpBaseUrl}/assets/main-ABC123.css`);
    expect(style.headers.get("content-type")).toBe("text/css; charset=utf-8");
    const robots = await fetch(`${ts.httpBaseUrl}/robots.txt`);
    expect([robots.headers.get("content-type"), robots.headers.get("cache-control")]).toEqual(["text/plain; charset=utf-8", "no-cache"]);
  });

  it("sends the gzipped twin of a file to a client that accepts gzip, and the file itself to others", async () => {
    const gzipped = await rawHttpRequest(ts.server.httpPort, "/assets/main-ABC123.css", { headers: { "accept-encoding": "gzip, deflate, br" } });
    expect([gzipped.status, gzipped.headers["content-encoding"], gzipped.headers["content-type"], gzipped.headers.vary]).toEqual([
      200,
      "gzip",
      "text/css; charset=utf-8",
      "accept-encoding",
    ]);
    expect(gzipped.headers["content-length"]).toBe(String(gzipSync("body{}").byteLength));
    const viaFetch = await fetch(`${ts.httpBaseUrl}/assets/main-ABC123.css`);
    expect([viaFetch.headers.get("content-encoding"), await viaFetch.text()]).toEqual(["gzip", "body{}"]);
    const plain = await rawHttpRequest(ts.server.httpPort, "/assets/main-ABC123.css");
    expect([plain.headers["content-encoding"], plain.body]).toEqual([undefined, "body{}"]);
    expect(plain.headers.etag).not.toBe(gzipped.headers.etag);
  });

  it("answers 304 to a matching ETag and headers only to HEAD", async () => {
    const first = await fetch(`${ts.httpBaseUrl}/`);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await fetch(`${ts.httpBaseUrl}/`, { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const head = await rawHttpRequest(ts.server.httpPort, "/assets/main-ABC123.js", { method: "HEAD" });
    expect([head.status, head.headers["content-length"], head.body]).toEqual([200, "19", ""]);
  });

  it("answers index.html for deep links, and 404 for a missing hashed asset", async () => {
    for (const deepLink of ["/queues/emails", "/queues/a.b:c", "/tasks/0190f1e2-aaaa-7bbb-8ccc-123456789abc", "/dead-letters?queue=x"]) {
      const answer = await fetch(`${ts.httpBaseUrl}${deepLink}`);
      expect([deepLink, answer.status, answer.headers.get("content-type")]).toEqual([deepLink, 200, "text/html; charset=utf-8"]);
      expect(await answer.text()).toContain("<title>index</title>");
    }
    const missing = await fetch(`${ts.httpBaseUrl}/assets/main-OLD.js`);
    expect(missing.status).toBe(404);
  });

  it("refuses every path that would leave the directory, reading nothing outside it", async () => {
    const attempts = [
      "/../secret.txt",
      "/assets/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/%2E%2E%2Fsecret.txt",
      "/assets/..%2f..%2fsecret.txt",
      "/..%5csecret.txt",
      "/assets/%2e%2e/%2e%2e/secret.txt",
      "/index.html%00.js",
      "/%ff%fe",
      "/./index.html",
    ];
    for (const target of attempts) {
      const answer = await rawHttpRequest(ts.server.httpPort, target);
      expect([target, answer.status]).toEqual([target, 400]);
      expect(answer.body).not.toContain("TOP SECRET");
    }
  });

  it("leaves the API, the probes and the metrics to their routes", async () => {
    const queue = uniqueQueue("static");
    const { task } = await ts.connect.submitTask({ queue, type: "echo" });
    expect((await ts.connect.getTask({ id: task!.id })).task?.queue).toBe(queue);
    expect(await (await fetch(`${ts.httpBaseUrl}/healthz`)).json()).toEqual({ status: "ok" });
    expect((await fetch(`${ts.httpBaseUrl}/metrics`)).headers.get("content-type")).toMatch(/^text\/plain/);
    // A GET on a service path is the RPC router's, never the dashboard's index.html.
    const rpcGet = await fetch(`${ts.httpBaseUrl}/taskqueue.v1.TaskService/GetTask`);
    expect(rpcGet.headers.get("content-type") ?? "").not.toMatch(/text\/html/);
  });

  it("answers 503 naming npm run build:web while the directory has no index.html", async () => {
    const empty = await startTestServer({ dashboardDir: path.join(dir, "not-built") });
    servers.push(empty);
    const answer = await fetch(`${empty.httpBaseUrl}/queues/x`);
    expect(answer.status).toBe(503);
    expect(answer.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await answer.text()).toContain("<code>npm run build:web</code>");
    expect((await fetch(`${empty.httpBaseUrl}/healthz`)).status).toBe(200);
  });

  it("serves no dashboard when DASHBOARD_DIR is empty", async () => {
    const off = await startTestServer({ dashboardDir: "" });
    servers.push(off);
    const answer = await fetch(`${off.httpBaseUrl}/`);
    expect(answer.status).toBe(404);
  });
});

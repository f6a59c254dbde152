import { copyFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import { makeTestCertificates, type TestCertificates } from "../../test/support/test-certificates.js";
import { readTlsMaterial, type TlsMaterial } from "./tls-material.js";
import { TlsReloader } from "./tls-reload.js";

let certs: TestCertificates;
beforeAll(() => {
  certs = makeTestCertificates();
  certs.issue("other", { server: true });
});
afterAll(() => certs?.remove());

describe("TlsReloader.check", () => {
  it("announces new files only once they make a valid pair, and only when they changed", () => {
    copyFileSync(certs.file("server.pem"), certs.file("live.pem"));
    copyFileSync(certs.file("server.key"), certs.file("live.key"));
    const files = { certFile: certs.file("live.pem"), keyFile: certs.file("live.key"), clientCaFile: "" };
    const reloader = new TlsReloader({ files, material: readTlsMaterial(files)!, intervalMs: 60_000, logger: createLogger({ name: "t", level: "silent" }) });
    const seen: TlsMaterial[] = [];
    reloader.subscribe((m) => seen.push(m));
    expect(reloader.check()).toBe(false);
    copyFileSync(certs.file("other.key"), certs.file("live.key"));
    expect(reloader.check()).toBe(false);
    expect(seen).toHaveLength(0);
    copyFileSync(certs.file("other.pem"), certs.file("live.pem"));
    expect(reloader.check()).toBe(true);
    expect(seen.map((m) => m.cert.equals(certs.pem("other.pem")))).toEqual([true]);
    expect(reloader.check()).toBe(false);
  });
});

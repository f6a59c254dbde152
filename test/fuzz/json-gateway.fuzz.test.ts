import { readdirSync } from "node:fs";
import { toJson, type DescMessage, type DescService, type JsonValue } from "@bufbuild/protobuf";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/test-server.js";
import { fuzzBudget, fuzzTimeoutMs, message } from "./arbitrary-message.js";

/**
 * Random JSON against every unary RPC of the Connect gateway (found from the generated
 * service descriptors, so a new RPC is fuzzed too): well-formed requests with fields replaced
 * by random JSON, and random JSON documents. Every answer must be a clean refusal or a
 * success — never a 5xx, an INTERNAL or UNKNOWN code — and the server must stay up.
 */

const ADMIN_TOKEN = "fuzz-admin-token-0123456789abcdef";

async function apiServices(): Promise<DescService[]> {
  const dir = new URL("../../gen/taskqueue/v1/", import.meta.url);
  const services: DescService[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith("_service_pb.ts"))) {
    const module = (await import(new URL(file, dir).href)) as Record<string, unknown>;
    for (const value of Object.values(module)) {
      if (typeof value === "object" && value !== null && (value as { kind?: string }).kind === "service") services.push(value as DescService);
    }
  }
  return services;
}

/** A request's JSON: valid JSON of a random message, some fields replaced by random JSON values. */
function requestJson(desc: DescMessage): fc.Arbitrary<unknown> {
  const names = desc.fields.map((f) => f.jsonName);
  const valid = message(desc, 2).map((m) => {
    try {
      return toJson(desc, m) as Record<string, JsonValue>;
    } catch {
      return {};
    }
  });
  const replaced = names.length === 0 ? fc.constant({}) : fc.dictionary(fc.constantFrom(...names), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 });
  return fc.oneof(
    { weight: 4, arbitrary: fc.tuple(valid, replaced).map(([base, changes]) => ({ ...base, ...changes })) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}

let ts: TestServer;

beforeAll(async () => {
  ts = await startTestServer({ adminToken: ADMIN_TOKEN });
});

afterAll(async () => {
  await ts?.stop();
});

/** More than the API's unary RPCs, to bound the test's time. */
const RPC_COUNT_BOUND = 60;

/** Codes that blame the server. */
const SERVER_FAULTS = new Set(["internal", "unknown", "data_loss"]);

describe("the JSON gateway under random JSON", () => {
  it("answers every unary RPC with success or a clean error code, never a server fault", async () => {
    const faults: string[] = [];
    let calls = 0;
    for (const service of await apiServices()) {
      for (const method of service.methods.filter((m) => m.methodKind === "unary")) {
        const path = `/${service.typeName}/${method.name}`;
        await fc.assert(
          fc.asyncProperty(requestJson(method.input), async (body) => {
            calls++;
            const response = await fetch(`${ts.httpBaseUrl}${path}`, {
              method: "POST",
              headers: { "content-type": "application/json", authorization: `Bearer ${ADMIN_TOKEN}` },
              body: JSON.stringify(body),
            });
            const text = await response.text();
            let code = "";
            if (response.status !== 200) {
              try {
                code = (JSON.parse(text) as { code?: string }).code ?? "";
              } catch {
                code = "(not JSON)";
              }
            }
            if (response.status >= 500 && response.status !== 503 && response.status !== 504) faults.push(`${path} ${JSON.stringify(body).slice(0, 300)} → ${response.status} ${text.slice(0, 200)}`);
            else if (SERVER_FAULTS.has(code) || code === "(not JSON)") faults.push(`${path} ${JSON.stringify(body).slice(0, 300)} → ${code} ${text.slice(0, 200)}`);
          }),
          // In CI 40 requests or 2 s per RPC; `npm run fuzz` as long as the decoders' properties.
          process.env.FUZZ_LONG === "1" || process.env.FUZZ_RUNS || process.env.FUZZ_SECONDS ? fuzzBudget : { ...fuzzBudget, numRuns: 40, interruptAfterTimeLimit: 2_000 },
        );
      }
    }
    expect(faults).toEqual([]);
    expect(calls).toBeGreaterThan(100);
    expect((await fetch(`${ts.httpBaseUrl}/healthz`)).status).toBe(200);
  }, fuzzTimeoutMs(RPC_COUNT_BOUND));
});

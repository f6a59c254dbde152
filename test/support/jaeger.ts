import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { findFreePort } from "../../tools/local-services/free-port.js";
import type { TraceSpan } from "./otlp-receiver.js";
import { waitFor } from "./wait-for.js";

/** The command that installs the `jaeger` binary the tracing tests run. */
export const JAEGER_INSTALL_COMMAND = "bash scripts/install-jaeger.sh";

/** Where the `jaeger` binary is: `JAEGER_BIN`, else on PATH, else in Go's bin folder; undefined when none. */
export function findJaegerBinary(): string | undefined {
  if (process.env.JAEGER_BIN) return process.env.JAEGER_BIN;
  const onPath = spawnSync("sh", ["-c", "command -v jaeger"], { encoding: "utf8" }).stdout.trim();
  if (onPath) return onPath;
  const go = existsSync("/usr/local/go/bin/go") ? "/usr/local/go/bin/go" : "go";
  const env = spawnSync(go, ["env", "GOBIN", "GOPATH"], { encoding: "utf8" });
  if (env.status !== 0) return undefined;
  const [gobin, gopath] = env.stdout.split("\n");
  const candidate = gobin ? path.join(gobin, "jaeger") : path.join(gopath ?? "", "bin", "jaeger");
  return existsSync(candidate) ? candidate : undefined;
}

/** Jaeger v2's configuration (an OpenTelemetry Collector's): OTLP/HTTP in, memory storage, query API. */
function jaegerConfig(ports: { otlpHttp: number; queryHttp: number; queryGrpc: number }): string {
  return `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:${ports.queryHttp}
    grpc:
      endpoint: 127.0.0.1:${ports.queryGrpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${ports.otlpHttp}
processors:
  batch:
    timeout: 50ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`;
}

/** A span as Jaeger's query API (`/api/traces/<id>`) returns it. */
interface JaegerApiSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references?: Array<{ refType: string; traceID: string; spanID: string }>;
  /** Microseconds since the epoch. */
  startTime: number;
  /** Microseconds. */
  duration: number;
  tags?: Array<{ key: string; type: string; value: string | number | boolean }>;
  logs?: Array<{ timestamp: number; fields: Array<{ key: string; value: unknown }> }>;
  processID: string;
}

interface JaegerApiTrace {
  traceID: string;
  spans: JaegerApiSpan[];
  processes: Record<string, { serviceName: string }>;
}

const KINDS: Record<string, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };
/** Tags Jaeger derives from OTLP fields, not attributes of the span. */
const DERIVED_TAGS = new Set(["span.kind", "otel.status_code", "otel.status_description", "otel.scope.name", "otel.scope.version", "error", "internal.span.format"]);

/** Jaeger's form of a trace, as a list of {@link TraceSpan}s (kind, status and events back in OTLP terms). */
export function spansOfJaegerTrace(t: JaegerApiTrace): TraceSpan[] {
  return t.spans.map((s) => {
    const tags = new Map((s.tags ?? []).map((tag) => [tag.key, tag.value]));
    const attributes: TraceSpan["attributes"] = {};
    for (const [key, value] of tags) if (!DERIVED_TAGS.has(key)) attributes[key] = value;
    const status = tags.get("otel.status_code");
    const parent = (s.references ?? []).find((r) => r.refType === "CHILD_OF" && r.traceID === s.traceID);
    return {
      traceId: s.traceID,
      spanId: s.spanID,
      parentSpanId: parent?.spanID ?? "",
      name: s.operationName,
      kind: KINDS[String(tags.get("span.kind") ?? "internal")] ?? 0,
      attributes,
      service: t.processes[s.processID]?.serviceName ?? "",
      status: status === "ERROR" ? 2 : status === "OK" ? 1 : 0,
      events: (s.logs ?? []).map((log) => String(log.fields.find((f) => f.key === "event")?.value ?? "")),
      startMs: s.startTime / 1000,
      endMs: (s.startTime + s.duration) / 1000,
    };
  });
}

/**
 * A real Jaeger v2 process for tests (scripts/install-jaeger.sh builds it): in-memory storage,
 * the OTLP/HTTP receiver on a free port ({@link endpoint}: set it as
 * `OTEL_EXPORTER_OTLP_ENDPOINT`) and the query API on another ({@link queryUrl}), both on
 * 127.0.0.1. Traces are read back through the query API, as a user's tools would.
 */
export class JaegerProcess {
  private readonly logLines: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** `http://127.0.0.1:PORT` of the OTLP/HTTP receiver. */
    readonly endpoint: string,
    /** `http://127.0.0.1:PORT` of the query API (and the UI, when the binary has its assets). */
    readonly queryUrl: string,
  ) {
    const keep = (line: string) => {
      this.logLines.push(line);
      if (this.logLines.length > 200) this.logLines.shift();
    };
    createInterface({ input: child.stdout! }).on("line", keep);
    createInterface({ input: child.stderr! }).on("line", keep);
  }

  /** Starts Jaeger on free ports and waits until both its receiver and its query API answer. */
  static async start(): Promise<JaegerProcess> {
    const binary = findJaegerBinary();
    if (!binary) throw new Error(`no jaeger binary: install it with \`${JAEGER_INSTALL_COMMAND}\` (or set JAEGER_BIN)`);
    for (let attempt = 1; ; attempt++) {
      const ports = { otlpHttp: await findFreePort(), queryHttp: await findFreePort(), queryGrpc: await findFreePort() };
      const dir = await mkdtemp(path.join(tmpdir(), "tq-jaeger-"));
      const config = path.join(dir, "config.yaml");
      await writeFile(config, jaegerConfig(ports));
      const child = spawn(binary, ["--config", config], { stdio: ["ignore", "pipe", "pipe"] });
      const jaeger = new JaegerProcess(child, dir, `http://127.0.0.1:${ports.otlpHttp}`, `http://127.0.0.1:${ports.queryHttp}`);
      let exited = false;
      child.on("exit", () => (exited = true));
      try {
        const ready = await waitFor(
          async () => exited || ((await answers(`${jaeger.queryUrl}/api/services`)) && (await answers(`${jaeger.endpoint}/v1/traces`))),
          { timeoutMs: 30_000, intervalMs: 100, message: "jaeger to answer on its query and OTLP ports" },
        );
        if (ready && !exited) return jaeger;
        throw new Error(`jaeger exited at start:\n${jaeger.log}`);
      } catch (error) {
        await jaeger.stop();
        if (attempt >= 3 || !/address already in use/i.test(jaeger.log)) throw error;
      }
    }
  }

  /** The last lines of Jaeger's log, for failure messages. */
  get log(): string {
    return this.logLines.join("\n");
  }

  /** GETs `pathAndQuery` of the query API as JSON; undefined on 404. */
  async query<T>(pathAndQuery: string): Promise<T | undefined> {
    const response = await fetch(`${this.queryUrl}${pathAndQuery}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`jaeger ${pathAndQuery}: HTTP ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  }

  /** Ids of the traces of `service` holding a span with attribute `key` = `value` (`/api/traces?service=…&tags=…`). */
  async findTraceIds(service: string, key: string, value: string): Promise<string[]> {
    const query = new URLSearchParams({ service, tags: JSON.stringify({ [key]: value }), lookback: "1h", limit: "20" });
    const found = await this.query<{ data: JaegerApiTrace[] | null }>(`/api/traces?${query}`);
    return (found?.data ?? []).map((t) => t.traceID);
  }

  /** Trace `traceId` as Jaeger holds it now (`/api/traces/<id>`); empty when it has none. */
  async trace(traceId: string): Promise<TraceSpan[]> {
    const found = await this.query<{ data: JaegerApiTrace[] | null }>(`/api/traces/${traceId}`);
    return found?.data?.[0] ? spansOfJaegerTrace(found.data[0]) : [];
  }

  /**
   * Waits until Jaeger holds a trace of `service` with a span whose `key` attribute is `value`,
   * of which `complete` holds (spans arrive as each process exports them); resolves with it.
   */
  waitForTrace(
    search: { service: string; key: string; value: string },
    complete: (spans: TraceSpan[]) => boolean,
    message: string,
    timeoutMs = 30_000,
  ): Promise<TraceSpan[]> {
    return waitFor(
      async () => {
        for (const id of await this.findTraceIds(search.service, search.key, search.value)) {
          const spans = await this.trace(id);
          if (spans.length > 0 && complete(spans)) return spans;
        }
        return undefined;
      },
      { timeoutMs, intervalMs: 200, message },
    );
  }

  /** Stops Jaeger (SIGTERM, then SIGKILL after 5 s) and removes its configuration. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Whether an HTTP server answers at `url` (any status). */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url);
    await response.arrayBuffer();
    return response.status === 200 || url.endsWith("/v1/traces");
  } catch {
    return false;
  }
}

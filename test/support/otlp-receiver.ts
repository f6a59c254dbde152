import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { ProtoReader, WireType } from "../../wire/proto-reader.js";
import { waitFor } from "./wait-for.js";

/** A span of a trace (ids in lowercase hex, as W3C trace context writes them), whatever backend held it. */
export interface TraceSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  /** `service.name` of the resource that sent it. */
  service: string;
  /** Status code: 0 unset, 1 ok, 2 error. */
  status: number;
  /** Names of the span's events, in order. */
  events: string[];
  /** Start and end, ms since the epoch (fractional). */
  startMs: number;
  endMs: number;
}

/** A span as the receiver got it. */
export interface ReceivedSpan extends TraceSpan {
  /** The encoding it came in: protobuf or json. */
  encoding: "protobuf" | "json";
}

/**
 * A real OTLP/HTTP trace receiver for tests: `POST /v1/traces` with `application/x-protobuf`
 * (decoded by hand from the OTLP proto definitions: ExportTraceServiceRequest → ResourceSpans
 * → ScopeSpans → Span, KeyValue/AnyValue) or `application/json` (OTLP JSON), answering as
 * a collector does. Spans are kept in arrival order.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:PORT`: set as `OTEL_EXPORTER_OTLP_ENDPOINT`. */
    readonly endpoint: string,
  ) {}

  /** Starts listening on a free port. */
  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        if (req.method !== "POST" || req.url !== "/v1/traces") {
          res.writeHead(404).end();
          return;
        }
        // Exporters may compress (OTEL_EXPORTER_OTLP_COMPRESSION=gzip).
        const raw = Buffer.concat(chunks);
        const body = req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
        const json = (req.headers["content-type"] ?? "").includes("json");
        try {
          receiver!.spans.push(...(json ? decodeJson(body) : decodeProtobuf(body)));
        } catch (error) {
          res.writeHead(400).end(String(error));
          return;
        }
        res.writeHead(200, { "content-type": json ? "application/json" : "application/x-protobuf" });
        res.end(json ? "{}" : Buffer.alloc(0));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    receiver = new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return receiver;
  }

  /** Waits until `predicate` holds of the spans received so far; resolves with its value. */
  waitFor<T>(predicate: (spans: ReceivedSpan[]) => T, message: string, timeoutMs = 20_000) {
    return waitFor(() => predicate(this.spans), { timeoutMs, message, intervalMs: 50 });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const LEN = WireType.lengthDelimited;

/** Calls `onField(fieldNumber, wireType)` for each field of the message ending at `end`. */
function fields(reader: ProtoReader, end: number, onField: (field: number, wireType: number) => boolean): void {
  while (reader.pos < end) {
    const tag = reader.tag();
    if (!onField(tag >>> 3, tag & 7)) reader.skip(tag & 7);
  }
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function decodeProtobuf(body: Uint8Array): ReceivedSpan[] {
  const reader = new ProtoReader(body);
  const spans: ReceivedSpan[] = [];
  fields(reader, body.length, (f, w) => {
    if (f !== 1 || w !== LEN) return false; // resource_spans
    const resourceEnd = reader.delimitedEnd();
    let service = "";
    const mine: ReceivedSpan[] = [];
    fields(reader, resourceEnd, (rf, rw) => {
      if (rf === 1 && rw === LEN) {
        // resource: attributes = 1
        const attrs: Record<string, string | number | boolean> = {};
        const end = reader.delimitedEnd();
        fields(reader, end, (af, aw) => (af === 1 && aw === LEN ? (readKeyValue(reader, attrs), true) : false));
        service = String(attrs["service.name"] ?? "");
        return true;
      }
      if (rf === 2 && rw === LEN) {
        // scope_spans: spans = 2
        const end = reader.delimitedEnd();
        fields(reader, end, (sf, sw) => (sf === 2 && sw === LEN ? (mine.push(readSpan(reader, body)), true) : false));
        return true;
      }
      return false;
    });
    for (const s of mine) spans.push({ ...s, service });
    return true;
  });
  return spans;
}

/** A fixed64 count of nanoseconds since the epoch, as ms. */
function fixed64Ms(reader: ProtoReader, body: Uint8Array): number {
  const ns = Buffer.from(body.buffer, body.byteOffset, body.byteLength).readBigUInt64LE(reader.pos);
  reader.pos += 8;
  return Number(ns / 1000n) / 1000;
}

function readSpan(reader: ProtoReader, body: Uint8Array): ReceivedSpan {
  const end = reader.delimitedEnd();
  const span: ReceivedSpan = {
    traceId: "",
    spanId: "",
    parentSpanId: "",
    name: "",
    kind: 0,
    attributes: {},
    service: "",
    status: 0,
    events: [],
    encoding: "protobuf",
    startMs: 0,
    endMs: 0,
  };
  fields(reader, end, (f, w) => {
    if (f === 1 && w === LEN) span.traceId = hex(reader.bytes());
    else if (f === 2 && w === LEN) span.spanId = hex(reader.bytes());
    else if (f === 4 && w === LEN) span.parentSpanId = hex(reader.bytes());
    else if (f === 5 && w === LEN) span.name = reader.string();
    else if (f === 6 && w === WireType.varint) span.kind = reader.int32();
    else if (f === 7 && w === WireType.fixed64) span.startMs = fixed64Ms(reader, body);
    else if (f === 8 && w === WireType.fixed64) span.endMs = fixed64Ms(reader, body);
    else if (f === 9 && w === LEN) readKeyValue(reader, span.attributes);
    else if (f === 11 && w === LEN) {
      // Event { time_unix_nano = 1; name = 2; attributes = 3 }
      const eventEnd = reader.delimitedEnd();
      fields(reader, eventEnd, (ef, ew) => (ef === 2 && ew === LEN ? (span.events.push(reader.string()), true) : false));
    }
    else if (f === 15 && w === LEN) {
      const statusEnd = reader.delimitedEnd();
      fields(reader, statusEnd, (sf, sw) => (sf === 3 && sw === WireType.varint ? ((span.status = reader.int32()), true) : false));
    } else return false;
    return true;
  });
  return span;
}

/** KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string 1, bool 2, int64 3, double 4 }. */
function readKeyValue(reader: ProtoReader, into: Record<string, string | number | boolean>): void {
  const end = reader.delimitedEnd();
  let key = "";
  let value: string | number | boolean = "";
  fields(reader, end, (f, w) => {
    if (f === 1 && w === LEN) key = reader.string();
    else if (f === 2 && w === LEN) {
      const valueEnd = reader.delimitedEnd();
      fields(reader, valueEnd, (vf, vw) => {
        if (vf === 1 && vw === LEN) value = reader.string();
        else if (vf === 2 && vw === WireType.varint) value = reader.bool();
        else if (vf === 3 && vw === WireType.varint) value = reader.int64();
        else if (vf === 4 && vw === WireType.fixed64) value = reader.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  into[key] = value;
}

interface JsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
interface JsonKeyValue {
  key: string;
  value: JsonAnyValue;
}

function jsonAttributes(list: JsonKeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    out[key] = value.stringValue ?? value.boolValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? ""));
  }
  return out;
}

/** OTLP JSON's nanoseconds since the epoch (a string, or a number), as ms. */
function nanosToMs(value: string | number | undefined): number {
  return value === undefined ? 0 : Number(BigInt(value) / 1000n) / 1000;
}

function decodeJson(body: Buffer): ReceivedSpan[] {
  const request = JSON.parse(body.toString("utf8")) as {
    resourceSpans?: Array<{
      resource?: { attributes?: JsonKeyValue[] };
      scopeSpans?: Array<{
        spans?: Array<{
          traceId: string;
          spanId: string;
          parentSpanId?: string;
          name: string;
          kind?: number;
          attributes?: JsonKeyValue[];
          status?: { code?: number };
          events?: Array<{ name: string }>;
          startTimeUnixNano?: string | number;
          endTimeUnixNano?: string | number;
        }>;
      }>;
    }>;
  };
  const spans: ReceivedSpan[] = [];
  for (const rs of request.resourceSpans ?? []) {
    const service = String(jsonAttributes(rs.resource?.attributes)["service.name"] ?? "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId.toLowerCase(),
          spanId: s.spanId.toLowerCase(),
          parentSpanId: (s.parentSpanId ?? "").toLowerCase(),
          name: s.name,
          kind: s.kind ?? 0,
          attributes: jsonAttributes(s.attributes),
          service,
          status: s.status?.code ?? 0,
          events: (s.events ?? []).map((e) => e.name),
          encoding: "json",
          startMs: nanosToMs(s.startTimeUnixNano),
          endMs: nanosToMs(s.endTimeUnixNano),
        });
      }
    }
  }
  return spans;
}

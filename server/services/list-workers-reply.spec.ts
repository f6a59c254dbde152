import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ListWorkersResponseSchema, WorkerSessionSchema } from "../../gen/taskqueue/v1/cluster_service_pb.js";
import type { PublishedSession } from "../redis/cluster-directory.js";
import { ENCODE_BINARY } from "../transport/fast-message.js";
import { workerSessionOf } from "./cluster-service.js";
import { ListWorkersReply, WorkerSessionBytes } from "./list-workers-reply.js";

const full: PublishedSession = {
  workerId: "w-1",
  sessionId: "s-1",
  queues: ["emails", "reports"],
  taskTypes: ["send", "render"],
  capacity: 300,
  inFlight: 2,
  held: ["01J0000000000000000000000A", "01J0000000000000000000000B"],
  labels: { region: "eu", "": "empty key", empty: "" },
  sdk: "taskqueue-go/0.3.1",
  connectedAt: 1_765_000_000_123,
  lastHeartbeatAt: 1_765_000_004_567,
  draining: true,
};

const bare: PublishedSession = {
  workerId: "w-2",
  sessionId: "s-2",
  queues: ["q"],
  taskTypes: [],
  capacity: 1,
  inFlight: 0,
  held: [],
  labels: {},
  sdk: "raw",
  connectedAt: 0,
  lastHeartbeatAt: 0,
  draining: false,
};

describe("ListWorkersReply", () => {
  it("writes the bytes protobuf-es writes for the same sessions", () => {
    const listed = [
      { serverId: "srv-a", session: full },
      { serverId: "srv-b", session: bare },
    ];
    const encoded = new WorkerSessionBytes();
    const reply = new ListWorkersReply(listed, encoded, (l) => workerSessionOf(l.serverId, l.session));
    const reflective = toBinary(ListWorkersResponseSchema, create(ListWorkersResponseSchema, { workers: reply.workers }));
    expect(Buffer.from(reply[ENCODE_BINARY]()).toString("hex")).toBe(Buffer.from(reflective).toString("hex"));
    // Again from the cache, and for a session that moved to another server.
    expect(Buffer.from(reply[ENCODE_BINARY]()).toString("hex")).toBe(Buffer.from(reflective).toString("hex"));
    const moved = new ListWorkersReply([{ serverId: "srv-c", session: bare }], encoded, (l) => workerSessionOf(l.serverId, l.session));
    const movedReflective = toBinary(ListWorkersResponseSchema, create(ListWorkersResponseSchema, { workers: moved.workers }));
    expect(Buffer.from(moved[ENCODE_BINARY]()).equals(Buffer.from(movedReflective))).toBe(true);
  });

  it("covers every WorkerSession field (a new field must be added to writeWorkerSession)", () => {
    const message = workerSessionOf("srv-a", full);
    const unset = WorkerSessionSchema.fields.filter((f) => {
      const value = (message as unknown as Record<string, unknown>)[f.localName];
      return value === undefined || value === "" || value === 0 || value === false || (Array.isArray(value) && value.length === 0);
    });
    expect(unset.map((f) => f.name)).toEqual([]);
  });
});

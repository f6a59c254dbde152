import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  type ConnectResponse,
  LeasedTaskSchema,
  ResultAckSchema,
  ResultAcksSchema,
  type ResultStatus,
  TaskAssignmentSchema,
} from "../../gen/taskqueue/v1/worker_service_pb.js";
import type { LeasedRecord } from "../redis/queue-store.js";
import { defineLazyField, ENCODE_BINARY, type SelfEncoding } from "../transport/wire/fast-message.js";
import { ProtoWriter } from "../transport/wire/proto-writer.js";
import { writeDuration, writeStoredData, writeStringMap, writeTimestamp } from "../transport/wire/well-known.js";
import { decodeData } from "./payload-codec.js";
import { durationFromMs, timestampFromEpochMs } from "./proto-time.js";

type ResponseCase = ConnectResponse["message"];

/** One acknowledgement of a result, as sent in `ResultAcks`. */
export interface AckEntry {
  taskId: string;
  leaseToken: string;
  status: ResultStatus;
  message?: string;
}

/**
 * A `ConnectResponse` on the dispatch hot path. Over gRPC it writes its own bytes straight
 * from the engine's records; anywhere else (the Connect gateway, JSON) it is read like any
 * protobuf-es message, whose fields it builds on first access.
 */
abstract class HotResponse implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.ConnectResponse" as const;
  /** The oneof, built on first read. */
  declare readonly message: ResponseCase;

  constructor() {
    defineLazyField(this, "message", () => this.build());
  }

  protected abstract build(): ResponseCase;

  abstract [ENCODE_BINARY](): Uint8Array;
}

/** `ConnectResponse.assignment`: tasks leased to the stream. */
export class AssignmentResponse extends HotResponse {
  constructor(private readonly tasks: LeasedRecord[]) {
    super();
  }

  protected build(): ResponseCase {
    return { case: "assignment", value: create(TaskAssignmentSchema, { tasks: this.tasks.map(leasedTaskMessage) }) };
  }

  [ENCODE_BINARY](): Uint8Array {
    const w = new ProtoWriter(64 + this.tasks.length * 160);
    const assignment = w.begin(2);
    for (const t of this.tasks) {
      const task = w.begin(1);
      w.string(1, t.id).string(2, t.queue).string(3, t.type);
      writeStoredData(w, 4, 5, t.payload, t.payloadFormat);
      w.int32(6, t.attempt).int32(7, t.maxAttempts).string(8, t.leaseToken);
      writeTimestamp(w, 9, t.deadlineMs);
      if (t.timeoutMs > 0) writeDuration(w, 10, t.timeoutMs);
      writeStringMap(w, 11, t.labels);
      writeTimestamp(w, 12, t.createdMs);
      w.end(task);
    }
    w.end(assignment);
    return w.finish();
  }
}

/** `ConnectResponse.acks`: verdicts on results. */
export class AcksResponse extends HotResponse {
  constructor(private readonly acks: AckEntry[]) {
    super();
  }

  protected build(): ResponseCase {
    return { case: "acks", value: create(ResultAcksSchema, { acks: this.acks.map((a) => create(ResultAckSchema, a)) }) };
  }

  [ENCODE_BINARY](): Uint8Array {
    const w = new ProtoWriter(16 + this.acks.length * 72);
    const acks = w.begin(3);
    for (const a of this.acks) {
      const ack = w.begin(1);
      w.string(1, a.taskId).string(2, a.leaseToken).int32(3, a.status).string(4, a.message ?? "");
      w.end(ack);
    }
    w.end(acks);
    return w.finish();
  }
}

function leasedTaskMessage(t: LeasedRecord) {
  return create(LeasedTaskSchema, {
    taskId: t.id,
    queue: t.queue,
    type: t.type,
    payloadData: decodeData(t.payload, t.payloadFormat, "payload", "payloadBytes"),
    attempt: t.attempt,
    maxAttempts: t.maxAttempts,
    leaseToken: t.leaseToken,
    leaseDeadline: timestampFromMs(t.deadlineMs),
    timeout: t.timeoutMs > 0 ? durationFromMs(t.timeoutMs) : undefined,
    labels: t.labels,
    createdAt: timestampFromEpochMs(t.createdMs),
  });
}

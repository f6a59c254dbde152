import { equals, fromBinary, toBinary, toJson, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SubmitTaskRequestSchema, SubmitTasksRequestSchema, SubmitTasksResultSchema } from "../../gen/taskqueue/v1/task_service_pb.js";
import { ConnectRequestSchema, ResultAcksSchema, TaskAssignmentSchema, type ConnectRequest, type LeasedTask } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { itemOfResult } from "../../clients/ts/submit-result-message.js";
import { decodeBasicResults, decodeFullResults } from "../../clients/ts/wire/submit-results-decoder.js";
import { decodeConnectRequest } from "../../server/services/connect-request-decoder.js";
import { decodeSubmitTaskRequest, decodeSubmitTasksRequest } from "../../server/services/submit-request-decoder.js";
import { decodeAssignment, PayloadKind, type AssignedTask } from "../../worker/wire/assignment.js";
import { decodeAcks } from "../../worker/wire/server-messages.js";
import { ProtoDecodeError } from "../../wire/decode-error.js";
import { decodeJsonValue } from "../../wire/json-value.js";
import { fuzzBudget, fuzzTimeoutMs, messageBytes } from "./arbitrary-message.js";

/**
 * Every hand-written protobuf decoder against protobuf-es, on valid, mutated and random
 * bytes: it must never crash with anything but a ProtoDecodeError, never hang, and never
 * return a different message than protobuf-es decodes from the same bytes.
 */

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

function attempt<T>(run: () => T): Outcome<T> {
  try {
    return { ok: true, value: run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * Checks one decoder on `bytes` against protobuf-es: both refuse, or both accept and
 * `same(ours, reference)` holds; ours may refuse what protobuf-es accepts only with a
 * ProtoDecodeError when `stricter` allows (e.g. a string that is not UTF-8).
 */
function agrees<T, R>(
  bytes: Uint8Array,
  ours: (bytes: Uint8Array) => T,
  reference: (bytes: Uint8Array) => R,
  same: (ours: T, reference: R) => void,
  stricter: (error: ProtoDecodeError, reference: R) => boolean = () => false,
  canonical?: DescMessage,
): void {
  const mine = attempt(() => ours(bytes));
  const theirs = attempt(() => reference(bytes));
  // Besides ProtoDecodeError, only protobuf-es' own error (a decoder that hands over to it) is a refusal.
  const referenceError = !theirs.ok && theirs.error instanceof Error ? theirs.error.message : undefined;
  if (!mine.ok && !(mine.error instanceof ProtoDecodeError) && !(mine.error instanceof Error && mine.error.message === referenceError)) {
    throw new Error(`the decoder crashed with ${String(mine.error)} (${(mine.error as Error).stack})`);
  }
  if (mine.ok && theirs.ok) {
    try {
      return same(mine.value, theirs.value);
    } catch (difference) {
      // A decoder that skips a field unread can differ from protobuf-es on malformed bytes
      // inside that field, which protobuf-es reads past their end: on protobuf-es' own
      // re-encoding of what it read, both must agree.
      if (!canonical) throw difference;
      const bytesOfReference = toBinary(canonical, fromBinary(canonical, bytes));
      return same(ours(bytesOfReference), reference(bytesOfReference));
    }
  }
  // Bytes protobuf-es refuses may still be a message: it refuses an unknown field in a map
  // entry, for one (it does not skip it). With no message of protobuf-es to differ from, the
  // decoder only had to return or throw a ProtoDecodeError.
  if (mine.ok && !theirs.ok) return;
  if (!mine.ok && theirs.ok) {
    if (mine.error instanceof ProtoDecodeError && stricter(mine.error, theirs.value)) return;
    throw new Error(`the decoder refused bytes protobuf-es accepts: ${String(mine.error)}`);
  }
}

/**
 * Refusals on purpose, of bytes protobuf-es reads on through: a string that is not UTF-8
 * (protobuf-es replaces the bytes, so a stored or compared string would change); a field sent
 * with another wire type than its own (protobuf-es reads it by its declared type regardless);
 * a nested message whose last field runs past the message's length (protobuf-es reads on
 * into the bytes after it, so that a tag or varint of ours is read differently there); proto2
 * groups, wire types 4, 6 and 7 and field number 0 where a field starts; a google.protobuf.Value with no
 * kind inside a payload (not JSON; protobuf-es keeps it, its toJson refuses it); in what the
 * server sends (assignments, submit results), a message field sent twice, which protobuf-es
 * merges (the server never sends one twice; the server's own decoders merge, by reflection).
 */
const strictOnPurpose = (error: ProtoDecodeError) => /not valid UTF-8|arrived with wire type|runs past|groups are not supported|must have a value|unknown wire type|illegal tag|malformed varint|appears more than once/.test(error.message);

/** Same message, as protobuf-es compares them; else the same proto3 JSON (a Value's null_value enum may differ). */
const sameMessage =
  <Desc extends DescMessage>(schema: Desc) =>
  (ours: MessageShape<Desc>, reference: MessageShape<Desc>) => {
    if (equals(schema, ours, reference)) return;
    const json = (m: MessageShape<Desc>) => {
      const outcome = attempt(() => toJson(schema, m));
      return outcome.ok ? outcome.value : `refused by toJson: ${String(outcome.error)}`;
    };
    expect(json(ours)).toEqual(json(reference));
  };

/** Runs `check` on bytes of `schema` with the fuzz budget; one property per decoder. */
function fuzz(schema: DescMessage, check: (bytes: Uint8Array) => void): void {
  fc.assert(
    fc.property(messageBytes(schema), (bytes) => {
      check(bytes);
    }),
    fuzzBudget,
  );
}

describe("the server's decoders", { timeout: fuzzTimeoutMs() }, () => {
  it("SubmitTaskRequest: the same message as protobuf-es", () => {
    fuzz(SubmitTaskRequestSchema, (bytes) => agrees(bytes, decodeSubmitTaskRequest, (b) => fromBinary(SubmitTaskRequestSchema, b), sameMessage(SubmitTaskRequestSchema)));
  });

  it("SubmitTasksRequest: the same message as protobuf-es", () => {
    fuzz(SubmitTasksRequestSchema, (bytes) => agrees(bytes, decodeSubmitTasksRequest, (b) => fromBinary(SubmitTasksRequestSchema, b), sameMessage(SubmitTasksRequestSchema)));
  });

  it("ConnectRequest (worker stream): the same message as protobuf-es, but whole varints for capacity and credits", () => {
    fuzz(ConnectRequestSchema, (bytes) =>
      agrees(bytes, decodeConnectRequest, (b) => fromBinary(ConnectRequestSchema, b), (ours, reference) => {
        sameMessage(ConnectRequestSchema)(withReferenceVarints(ours, reference), reference);
      }),
    );
  });
});

/**
 * `ours` with protobuf-es' reading of hello.capacity and credit.credits where ours kept a
 * value out of int32's range (documented: the stream then refuses it as out of range).
 */
function withReferenceVarints(ours: ConnectRequest, reference: ConnectRequest): ConnectRequest {
  const m = ours.message;
  const r = reference.message;
  const outOfRange = (v: number) => !Number.isSafeInteger(v) || v < -(2 ** 31) || v >= 2 ** 31;
  if (m.case === "hello" && r.case === "hello" && outOfRange(m.value.capacity)) return { ...ours, message: { case: "hello", value: { ...m.value, capacity: r.value.capacity } } };
  if (m.case === "credit" && r.case === "credit" && outOfRange(m.value.credits)) return { ...ours, message: { case: "credit", value: { ...m.value, credits: r.value.credits } } };
  return ours;
}

describe("the shared JSON value decoder", { timeout: fuzzTimeoutMs() }, () => {
  it("google.protobuf.Value: the same JSON as protobuf-es, refusing only what JSON cannot hold", () => {
    fuzz(ValueSchema, (bytes) =>
      agrees(
        bytes,
        (b) => decodeJsonValue(b),
        (b) => fromBinary(ValueSchema, b),
        (ours, reference) => expect(ours).toEqual(toJson(ValueSchema, reference)),
        // NaN/Infinity and a Value with no kind are not JSON: protobuf-es reads them, toJson refuses them.
        (error, reference) => strictOnPurpose(error) || attempt(() => toJson(ValueSchema, reference)).ok === false,
      ),
    );
  });
});

/** A LeasedTask as the worker's decoder presents it. */
function assignedOf(task: LeasedTask): AssignedTask {
  const ms = (t: { seconds: bigint; nanos: number } | undefined) => (t === undefined ? undefined : Number(t.seconds) * 1000 + Math.round(t.nanos / 1_000) / 1_000);
  const payload = task.payloadData;
  return {
    taskId: task.taskId,
    queue: task.queue,
    type: task.type,
    payloadKind: payload.case === "payload" ? PayloadKind.json : payload.case === "payloadBytes" ? PayloadKind.bytes : PayloadKind.none,
    payload: undefined,
    attempt: task.attempt,
    maxAttempts: task.maxAttempts,
    leaseToken: task.leaseToken,
    timeoutMs: ms(task.timeout) ?? 0,
    labels: { ...task.labels },
    createdAtMs: ms(task.createdAt),
    traceparent: task.traceparent,
    tracestate: task.tracestate,
  };
}

describe("the worker SDK's decoders", { timeout: fuzzTimeoutMs() }, () => {
  it("TaskAssignment: the same tasks as protobuf-es (payloads as their bytes)", () => {
    fuzz(TaskAssignmentSchema, (bytes) =>
      agrees(
        bytes,
        decodeAssignment,
        (b) => fromBinary(TaskAssignmentSchema, b).tasks,
        (ours, reference) => {
          expect(ours.length).toBe(reference.length);
          ours.forEach((task, i) => {
            const expected = reference[i]!;
            expect({ ...task, payload: undefined }).toEqual(assignedOf(expected));
            const data = expected.payloadData;
            if (data.case === "payloadBytes") expect(task.payload).toEqual(data.value);
            if (data.case === "payload") expect(equals(ValueSchema, fromBinary(ValueSchema, task.payload!), data.value as Value)).toBe(true);
          });
        },
        strictOnPurpose,
        TaskAssignmentSchema,
      ),
    );
  });

  it("ResultAcks: the same acks as protobuf-es", () => {
    fuzz(ResultAcksSchema, (bytes) =>
      agrees(bytes, decodeAcks, (b) => fromBinary(ResultAcksSchema, b).acks, (ours, reference) => {
        expect(ours).toEqual(reference.map((a) => ({ taskId: a.taskId, leaseToken: a.leaseToken, status: a.status, message: a.message })));
      }, strictOnPurpose),
    );
  });
});

/** A deep copy of `value` without protobuf-es' `$unknown` fields. */
function withoutUnknown(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUnknown);
  if (typeof value !== "object" || value === null || Object.getPrototypeOf(value) !== Object.prototype) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (key !== "$unknown") copy[key] = withoutUnknown(item);
  return copy;
}

describe("the TypeScript client's decoders", { timeout: fuzzTimeoutMs(2) }, () => {
  it("SubmitTasksResult, basic and full view: the same items as the protobuf-es path", () => {
    fuzz(SubmitTasksResultSchema, (bytes) => {
      const reference = (view: "full" | "basic") => (b: Uint8Array) => [itemOfResult(fromBinary(SubmitTasksResultSchema, b), view)];
      // Unknown fields protobuf-es keeps (`$unknown`) are not part of the message's meaning.
      const same = (ours: unknown, theirs: unknown) => expect(withoutUnknown(ours)).toEqual(withoutUnknown(theirs));
      agrees(bytes, (b) => decodeFullResults([b]), reference("full"), same, strictOnPurpose);
      // The basic view reads five fields of a task and skips the rest unread: it may accept
      // bytes whose other fields protobuf-es refuses, but never reads a field differently.
      if (attempt(() => fromBinary(SubmitTasksResultSchema, bytes)).ok) {
        agrees(bytes, (b) => decodeBasicResults([b]), reference("basic"), same, strictOnPurpose, SubmitTasksResultSchema);
      } else {
        const ours = attempt(() => decodeBasicResults([bytes]));
        if (!ours.ok && !(ours.error instanceof ProtoDecodeError)) throw ours.error;
      }
    });
  });
});

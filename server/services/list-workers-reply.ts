import { ListWorkersResponseSchema, WorkerSessionSchema, type WorkerSession } from "../../gen/taskqueue/v1/cluster_service_pb.js";
import type { PublishedSession } from "../redis/cluster-directory.js";
import { defineLazyField, ENCODE_BINARY, type SelfEncoding } from "../transport/fast-message.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { writeTimestamp } from "../../wire/proto-time.js";
import { ProtoWriter } from "../../wire/proto-writer.js";
import { writeStringMap } from "../../wire/string-map.js";

const LIST = fieldNumbers(ListWorkersResponseSchema);
const SESSION = fieldNumbers(WorkerSessionSchema);

/** A published session with the id of the server that holds it. */
export interface ListedSession {
  serverId: string;
  session: PublishedSession;
}

/** The name and version of the SDK a hello's `sdk` names (`"taskqueue-ts/0.1.0"`). */
export function sdkParts(sdk: string): { name: string; version: string } {
  const slash = sdk.lastIndexOf("/");
  return slash < 0 ? { name: sdk, version: "" } : { name: sdk.slice(0, slash), version: sdk.slice(slash + 1) };
}

/**
 * Writes a published session as a `taskqueue.v1.WorkerSession` message field, the same
 * message `workerSessionOf` builds, without building it (with 1,000 sessions, protobuf-es'
 * `create` and reflective encoding took most of a ListWorkers call).
 */
export function writeWorkerSession(w: ProtoWriter, field: number, serverId: string, s: PublishedSession): void {
  const mark = w.fork(field);
  w.stringIfSet(SESSION.workerId, s.workerId).stringIfSet(SESSION.sessionId, s.sessionId).stringIfSet(SESSION.serverId, serverId);
  for (const queue of s.queues) w.stringField(SESSION.queues, queue);
  for (const type of s.taskTypes) w.stringField(SESSION.taskTypes, type);
  w.int32IfSet(SESSION.capacity, s.capacity).int32IfSet(SESSION.inFlight, s.inFlight);
  for (const id of s.held) w.stringField(SESSION.inFlightTaskIds, id);
  writeStringMap(w, SESSION.labels, s.labels);
  const sdk = sdkParts(s.sdk);
  w.stringIfSet(SESSION.sdkName, sdk.name).stringIfSet(SESSION.sdkVersion, sdk.version);
  writeTimestamp(w, SESSION.connectedAt, s.connectedAt);
  if (s.lastHeartbeatAt > 0) writeTimestamp(w, SESSION.lastHeartbeatAt, s.lastHeartbeatAt);
  w.boolIfSet(SESSION.draining, s.draining);
  w.join(mark);
}

/**
 * The encoded `WorkerSession` of each published session, kept while the session object lives:
 * the cluster directory hands back the same (frozen) object for a session that did not change
 * since its last read, so an unchanged session is encoded once, not once per call.
 */
export class WorkerSessionBytes {
  private readonly cache = new WeakMap<PublishedSession, { serverId: string; bytes: Uint8Array }>();

  /** The `WorkerSession` message bytes of `session` held by `serverId`. */
  of(serverId: string, session: PublishedSession): Uint8Array {
    const cached = this.cache.get(session);
    if (cached !== undefined && cached.serverId === serverId) return cached.bytes;
    const w = new ProtoWriter(512);
    writeWorkerSession(w, LIST.workers, serverId, session);
    // The message without the field's tag and length (written again by the caller).
    const framed = w.finish();
    const bytes = framed.subarray(framedHeaderLength(framed));
    this.cache.set(session, { serverId, bytes });
    return bytes;
  }
}

/** Length of the tag and length prefix of a one-byte-tag length-delimited field. */
function framedHeaderLength(framed: Uint8Array): number {
  let at = 1;
  while ((framed[at]! & 0x80) !== 0) at++;
  return at + 1;
}

/**
 * A `ListWorkersResponse` that writes its own bytes over gRPC, from the sessions' cached
 * encodings, and reads like a protobuf-es message anywhere else (Connect, JSON).
 */
export class ListWorkersReply implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.ListWorkersResponse" as const;
  /** One entry per session; built on first read. */
  declare readonly workers: WorkerSession[];

  constructor(
    private readonly sessions: readonly ListedSession[],
    private readonly encoded: WorkerSessionBytes,
    build: (listed: ListedSession) => WorkerSession,
  ) {
    defineLazyField(this, "workers", () => sessions.map(build));
  }

  [ENCODE_BINARY](): Uint8Array {
    const parts = this.sessions.map(({ serverId, session }) => this.encoded.of(serverId, session));
    const w = new ProtoWriter(64 + parts.reduce((n, p) => n + p.length + 4, 0));
    for (const part of parts) w.bytesField(LIST.workers, part);
    return w.finish();
  }
}

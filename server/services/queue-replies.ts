import { toBinary } from "@bufbuild/protobuf";
import {
  GetQueueResponseSchema,
  ListQueuesResponseSchema,
  QueueInfoSchema,
  type QueueInfo,
} from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { QueueSnapshotEntry } from "../engine/queue-snapshots.js";
import { defineLazyField, ENCODE_BINARY, type SelfEncoding } from "../transport/fast-message.js";
import { fieldNumbers } from "../../wire/field-numbers.js";
import { ProtoWriter } from "../../wire/proto-writer.js";
import { queueInfoOf } from "./queue-mapper.js";

const LIST = fieldNumbers(ListQueuesResponseSchema);
const GET = fieldNumbers(GetQueueResponseSchema);

/** A queue's API view and its bytes, built once per snapshot entry and shared by every call it answers. */
interface EntryView {
  info: QueueInfo;
  bytes?: Uint8Array;
}

/**
 * The API views of snapshot entries, kept as long as their entry lives: a snapshot that
 * answers many calls maps and encodes each queue once (protobuf-es' reflective encoding of
 * ~100 QueueInfos costs milliseconds). Entries are immutable, so a view never goes stale.
 */
export class QueueViews {
  private readonly views = new WeakMap<QueueSnapshotEntry, EntryView>();

  /** The `QueueInfo` of an entry (shared: callers must not modify it). */
  info(entry: QueueSnapshotEntry): QueueInfo {
    return this.view(entry).info;
  }

  /** The encoded `QueueInfo` of an entry. */
  bytes(entry: QueueSnapshotEntry): Uint8Array {
    const view = this.view(entry);
    view.bytes ??= toBinary(QueueInfoSchema, view.info);
    return view.bytes;
  }

  private view(entry: QueueSnapshotEntry): EntryView {
    let view = this.views.get(entry);
    if (view === undefined) {
      view = { info: queueInfoOf(entry.item, entry.at) };
      this.views.set(entry, view);
    }
    return view;
  }
}

/**
 * A `ListQueuesResponse` over snapshot entries: over gRPC it writes the entries' cached
 * bytes one after the other; anywhere else (Connect, JSON) it reads like a protobuf-es
 * message whose `queues` are the entries' shared QueueInfos.
 */
export class ListQueuesReply implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.ListQueuesResponse" as const;
  /** The queues of the page; built on first read. */
  declare readonly queues: QueueInfo[];

  constructor(
    private readonly views: QueueViews,
    private readonly entries: readonly QueueSnapshotEntry[],
    readonly nextPageToken: string,
  ) {
    defineLazyField(this, "queues", () => entries.map((e) => views.info(e)));
  }

  [ENCODE_BINARY](): Uint8Array {
    const parts = this.entries.map((e) => this.views.bytes(e));
    const w = new ProtoWriter(64 + parts.reduce((n, p) => n + p.length + 6, 0));
    for (const part of parts) w.bytesField(LIST.queues, part);
    w.stringIfSet(LIST.nextPageToken, this.nextPageToken);
    return w.finish();
  }
}

/** A `GetQueueResponse` over one snapshot entry, written from its cached bytes over gRPC. */
export class GetQueueReply implements SelfEncoding {
  readonly $typeName = "taskqueue.v1.GetQueueResponse" as const;
  /** The queue; built on first read. */
  declare readonly queue: QueueInfo;

  constructor(
    private readonly views: QueueViews,
    private readonly entry: QueueSnapshotEntry,
  ) {
    defineLazyField(this, "queue", () => views.info(entry));
  }

  [ENCODE_BINARY](): Uint8Array {
    const part = this.views.bytes(this.entry);
    return new ProtoWriter(part.length + 8).bytesField(GET.queue, part).finish();
  }
}

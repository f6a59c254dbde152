import type { WorkerHello } from "../../gen/taskqueue/v1/worker_service_pb.js";
import { toStorableText } from "../db/storable-text.js";

/** What a hello tells that is shown only (ClusterService.ListWorkers), never acted on. */
export interface HelloDescription {
  taskTypes: string[];
  labels: Record<string, string>;
  /** e.g. "taskqueue-ts/0.1.0". */
  sdk: string;
}

/**
 * The informational part of a hello, bounded (at most 256 task types, 64 labels, each text
 * cut to a few hundred characters) and made storable text, so a worker cannot make its
 * directory entry large or unreadable. Nothing here is refused.
 */
export function describeHello(hello: WorkerHello): HelloDescription {
  return {
    taskTypes: hello.taskTypes.slice(0, 256).map((t) => toStorableText(t.slice(0, 128))),
    labels: Object.fromEntries(
      Object.entries(hello.labels)
        .slice(0, 64)
        .map(([k, v]) => [toStorableText(k.slice(0, 128)), toStorableText(v.slice(0, 1024))]),
    ),
    sdk: toStorableText(hello.sdk.slice(0, 128)),
  };
}

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { DeadLetterService } from "../../gen/taskqueue/v1/dead_letter_service_pb.js";
import type { Task } from "../../gen/taskqueue/v1/task_pb.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { callOptionsOf, type RequestOptions } from "./request-options.js";
import type { TaskPage } from "./task-client.js";

/** Filters and paging of {@link DeadLetterClient.listDeadTasks}. */
export interface ListDeadTasksOptions extends RequestOptions {
  /** Only this queue. */
  queue?: string;
  /** Page size, 1-1000. Default 100. */
  pageSize?: number;
  /** `nextPageToken` of the previous page. */
  pageToken?: string;
}

/** Which dead letters a redrive or purge takes: by ids, or a whole queue. */
export type DeadTaskSelection = { ids: readonly string[]; queue?: undefined } | { queue: string; ids?: undefined };

/** What {@link DeadLetterClient.redriveDeadTasks} did. */
export interface Redrive {
  /** The tasks now QUEUED again. */
  tasks: Task[];
  /** Ids asked for that were not DEAD (not found, or in another state). */
  skippedIds: string[];
}

/** The dead-letter API (`taskqueue.v1.DeadLetterService`); calls fail with the server's `ConnectError`. */
export interface DeadLetterClient {
  /** One page of DEAD tasks, newest first. */
  listDeadTasks(options?: ListDeadTasksOptions): Promise<TaskPage>;
  /** Puts DEAD tasks back to QUEUED with a fresh attempt budget; `limit` bounds a queue-wide call. */
  redriveDeadTasks(selection: DeadTaskSelection, options?: RequestOptions & { limit?: number }): Promise<Redrive>;
  /** Deletes DEAD tasks for good; with a queue, `finishedBefore` keeps those that died later. Resolves with the count. */
  purgeDeadTasks(selection: DeadTaskSelection, options?: RequestOptions & { finishedBefore?: Date }): Promise<number>;
  /** The generated Connect client, for requests this API does not cover. */
  readonly service: Client<typeof DeadLetterService>;
  /** Closes the connection the client opened (nothing for a given transport). */
  close(): void;
}

/** Creates a dead-letter client; options as for `createTaskClient`. */
export function createDeadLetterClient(options: TaskClientOptions = {}): DeadLetterClient {
  const compiled = compileTaskClientOptions(options);
  const service = createClient(DeadLetterService, compiled.transport);
  const call = (request: RequestOptions | undefined) => callOptionsOf(compiled.timeoutMs, request);
  return {
    service,
    async listDeadTasks(request = {}) {
      const response = await service.listDeadTasks(
        { queue: request.queue ?? "", pageSize: request.pageSize ?? 0, pageToken: request.pageToken ?? "" },
        call(request),
      );
      return { tasks: response.tasks, nextPageToken: response.nextPageToken };
    },
    async redriveDeadTasks(selection, request) {
      const response = await service.redriveDeadTasks(
        { ids: [...(selection.ids ?? [])], queue: selection.queue ?? "", limit: request?.limit ?? 0 },
        call(request),
      );
      return { tasks: response.tasks, skippedIds: response.skippedIds };
    },
    async purgeDeadTasks(selection, request) {
      const finishedBefore = request?.finishedBefore === undefined ? undefined : timestampFromDate(request.finishedBefore);
      const response = await service.purgeDeadTasks({ ids: [...(selection.ids ?? [])], queue: selection.queue ?? "", finishedBefore }, call(request));
      return Number(response.purged);
    },
    close() {
      compiled.sessionManager?.abort();
    },
  };
}

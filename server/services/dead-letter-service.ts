import type { ServiceImpl } from "@connectrpc/connect";
import { DeadLetterService } from "../../gen/taskqueue/v1/dead_letter_service_pb.js";
import type { TaskRepository } from "../db/task-repository.js";
import type { DeadLetters } from "../engine/dead-letters.js";
import { InvalidArgumentError } from "../errors.js";
import { checkTaskId, decodePageToken, encodePageToken, pageSizeOf } from "./page-token.js";
import { checkedDateOf } from "./proto-time.js";
import { checkQueueName } from "./submit-validation.js";
import { taskOfRow } from "./task-mapper.js";

/** Dependencies of the DeadLetterService implementation. */
export interface DeadLetterServiceDeps {
  repository: TaskRepository;
  deadLetters: DeadLetters;
  /** Told the queues whose dead letters changed (`"all"`: not known, tasks chosen by id). */
  changed?: (queues: Iterable<string> | "all") => void;
}

const MAX_IDS = 1000;

/** Either ids or a queue, not both; checks each. */
function selectorOf(ids: string[], queue: string): { ids: string[] } | { queue: string } {
  if (ids.length > 0 && queue !== "") throw new InvalidArgumentError("ids", "give ids or queue, not both");
  if (ids.length === 0 && queue === "") throw new InvalidArgumentError("ids", "give ids or queue");
  if (ids.length > MAX_IDS) throw new InvalidArgumentError("ids", `at most ${MAX_IDS} ids per call, got ${ids.length}`);
  ids.forEach((id, i) => checkTaskId(id, `ids[${i}]`));
  if (queue !== "") checkQueueName(queue);
  return ids.length > 0 ? { ids: [...new Set(ids)] } : { queue };
}

/** Lists, re-drives and purges dead-lettered tasks. */
export function createDeadLetterService(deps: DeadLetterServiceDeps): ServiceImpl<typeof DeadLetterService> {
  return {
    async listDeadTasks(req) {
      if (req.queue !== "") checkQueueName(req.queue);
      const limit = pageSizeOf(req.pageSize);
      const rows = await deps.repository.list({
        queue: req.queue || undefined,
        states: ["DEAD"],
        beforeId: req.pageToken ? decodePageToken(req.pageToken) : undefined,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return {
        tasks: page.map((row) => taskOfRow(row)),
        nextPageToken: rows.length > limit ? encodePageToken(page[page.length - 1]!.id) : "",
      };
    },

    async redriveDeadTasks(req) {
      const selector = selectorOf(req.ids, req.queue);
      if (req.limit < 0 || req.limit > 10_000) throw new InvalidArgumentError("limit", `must be between 0 and 10000, got ${req.limit}`);
      const rows = await deps.deadLetters.redrive("ids" in selector ? selector : { queue: selector.queue, limit: req.limit || 1000 });
      if (rows.length > 0) deps.changed?.(new Set(rows.map((r) => r.queue)));
      const redriven = new Set(rows.map((r) => r.id));
      return {
        tasks: rows.map((row) => taskOfRow(row)),
        skippedIds: "ids" in selector ? selector.ids.filter((id) => !redriven.has(id)) : [],
      };
    },

    async purgeDeadTasks(req) {
      const selector = selectorOf(req.ids, req.queue);
      if (req.finishedBefore && "ids" in selector) {
        throw new InvalidArgumentError("finished_before", "applies to a queue, not to ids");
      }
      const purged = await deps.deadLetters.purge(
        "ids" in selector ? selector : { queue: selector.queue, finishedBefore: req.finishedBefore ? checkedDateOf(req.finishedBefore, "finished_before") : undefined },
      );
      if (purged > 0) deps.changed?.("ids" in selector ? "all" : [selector.queue]);
      return { purged: BigInt(purged) };
    },
  };
}

import { callerMaySee } from "../auth/caller.js";
import type { ServiceImpl } from "@connectrpc/connect";
import { QueueService } from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { QueueOverview } from "../engine/queue-overview.js";
import type { QueuePauses } from "../engine/queue-pauses.js";
import type { QueueSettingsCache } from "../engine/queue-settings-cache.js";
import type { QueueSnapshots } from "../engine/queue-snapshots.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { decodeKeyToken, encodeKeyToken, pageSizeOf } from "./page-token.js";
import { queueInfoOf } from "./queue-mapper.js";
import { GetQueueReply, ListQueuesReply, QueueViews } from "./queue-replies.js";
import { queueSettingsUpdateOf } from "./queue-settings-update.js";
import { checkQueueName, checkStorableText } from "./submit-validation.js";

/** Dependencies of the QueueService implementation. */
export interface QueueServiceDeps {
  overview: QueueOverview;
  pauses: QueuePauses;
  settings: Pick<QueueSettingsCache, "update">;
  /** The shared snapshot ListQueues answers from (and GetQueue while it is fresh); writes here invalidate their queues. */
  snapshots: Pick<QueueSnapshots, "get" | "peek" | "invalidate">;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
}

/** Longest pause reason, in characters. */
const MAX_REASON_CHARS = 1024;

/** Opaque page token naming the last queue of a page. */
const encodeQueueToken = (lastName: string) => encodeKeyToken("q1", lastName);
/** The last queue name a page token names; InvalidArgumentError("page_token") if it is not ours. */
const decodeQueueToken = (token: string) => decodeKeyToken("q1", token, "ListQueues");

/** Lists and describes queues, and pauses and resumes their dispatch. */
export function createQueueService(deps: QueueServiceDeps): ServiceImpl<typeof QueueService> {
  const now = deps.now ?? Date.now;
  const views = new QueueViews();

  async function describeOne(name: string) {
    const [item] = await deps.overview.describe([name]);
    return item!;
  }

  return {
    async listQueues(req, ctx) {
      const limit = pageSizeOf(req.pageSize);
      const after = req.pageToken ? decodeQueueToken(req.pageToken) : undefined;
      const snapshot = await deps.snapshots.get();
      // A token scoped to some queues sees those only.
      const maySee = callerMaySee(ctx.values);
      const names = snapshot.names.filter((n) => (after === undefined || n > after) && maySee(n));
      const page = names.slice(0, limit);
      return new ListQueuesReply(
        views,
        page.map((name) => snapshot.entries.get(name)!),
        names.length > limit ? encodeQueueToken(page[page.length - 1]!) : "",
      );
    },

    async getQueue(req) {
      checkQueueName(req.name, "name");
      // From a fresh snapshot when there is one; else this queue alone (not a read of every queue).
      const entry = deps.snapshots.peek(req.name);
      if (entry !== undefined) return new GetQueueReply(views, entry);
      const item = await describeOne(req.name);
      if (!(await deps.overview.exists(item))) throw new NotFoundError(`queue "${req.name}" not found`);
      return { queue: queueInfoOf(item, now()) };
    },

    async pauseQueue(req) {
      checkQueueName(req.name, "name");
      if (req.reason.length > MAX_REASON_CHARS) {
        throw new InvalidArgumentError("reason", `at most ${MAX_REASON_CHARS} characters, got ${req.reason.length}`);
      }
      checkStorableText(req.reason, "reason");
      await deps.pauses.pause(req.name, req.reason);
      deps.snapshots.invalidate([req.name]);
      return { queue: queueInfoOf(await describeOne(req.name), now()) };
    },

    async resumeQueue(req) {
      checkQueueName(req.name, "name");
      const item = await describeOne(req.name);
      if (!(await deps.overview.exists(item))) throw new NotFoundError(`queue "${req.name}" not found`);
      await deps.pauses.resume(req.name);
      deps.snapshots.invalidate([req.name]);
      return { queue: queueInfoOf(await describeOne(req.name), now()) };
    },

    async updateQueue(req) {
      checkQueueName(req.name, "name");
      const { set, clear } = queueSettingsUpdateOf(req.settings, req.updateMask);
      await deps.settings.update(req.name, set, clear, (record) => {
        const inForce = deps.overview.settingsInForce(req.name, record.settings);
        if (inForce.maxBackoffMs < inForce.initialBackoffMs) {
          throw new InvalidArgumentError(
            "settings.max_backoff",
            `must be at least initial_backoff: the queue would have ${inForce.maxBackoffMs} ms < ${inForce.initialBackoffMs} ms`,
          );
        }
      });
      deps.snapshots.invalidate([req.name]);
      return { queue: queueInfoOf(await describeOne(req.name), now()) };
    },
  };
}

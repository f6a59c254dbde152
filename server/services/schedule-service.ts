import type { ContextValues, ServiceImpl } from "@connectrpc/connect";
import { ScheduleService } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import type { TaskRepository } from "../db/task-repository.js";
import type { TraceContext } from "../engine/task-records.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import type { ScheduleFirer } from "../schedules/schedule-firer.js";
import type { ScheduleRepository } from "../schedules/schedule-repository.js";
import { Ticker } from "../schedules/schedule-spec.js";
import { boundsOf, type ScheduleDefinition, type StoredSchedule } from "../schedules/schedule-record.js";
import { decodeKeyToken, encodeKeyToken, pageSizeOf } from "./page-token.js";
import { checkScheduleId, definitionOf } from "./schedule-input.js";
import { firingOf, scheduleOf } from "./schedule-mapper.js";
import { updatedSchedule } from "./schedule-update.js";
import type { SubmitPolicy } from "./submit-validation.js";
import { taskOfRow } from "./task-mapper.js";
import { timestampOf } from "./proto-time.js";

/** Dependencies of the ScheduleService implementation. */
export interface ScheduleServiceDeps {
  schedules: ScheduleRepository;
  firer: Pick<ScheduleFirer, "trigger">;
  tasks: Pick<TaskRepository, "get">;
  /** Limits and defaults a template is validated with (as SubmitTask's). */
  policy: SubmitPolicy;
  /** Told after every change, so that every server's timer is armed anew. */
  changed: () => void;
  /** Clock in ms (injected so tests can control time). */
  now?: () => number;
  /** With tracing on: the trace context of a call, which the task a trigger creates carries. */
  traceContext?: (values: ContextValues) => TraceContext | undefined;
}

/** Fire times GetSchedule shows. */
const NEXT_FIRE_TIMES = 5;
/** Firings GetSchedule shows. */
const RECENT_FIRINGS = 20;

/** Opaque page token naming the last schedule of a page. */
const encodeScheduleToken = (lastId: string) => encodeKeyToken("s1", lastId);
/** The last schedule id a page token names; InvalidArgumentError("page_token") if it is not ours. */
const decodeScheduleToken = (token: string) => decodeKeyToken("s1", token, "ListSchedules");

/** Creates, shows, changes, pauses, resumes, deletes and triggers schedules. */
export function createScheduleService(deps: ScheduleServiceDeps): ServiceImpl<typeof ScheduleService> {
  const now = deps.now ?? Date.now;

  async function found(id: string): Promise<StoredSchedule> {
    checkScheduleId(id);
    const s = await deps.schedules.get(id);
    if (!s) throw new NotFoundError(`schedule "${id}" not found`);
    return s;
  }

  async function change(id: string, make: (current: StoredSchedule) => ScheduleDefinition) {
    checkScheduleId(id);
    const s = await deps.schedules.update(id, now(), make);
    deps.changed();
    return { schedule: scheduleOf(s) };
  }

  return {
    async createSchedule(req) {
      if (!req.schedule) throw new InvalidArgumentError("schedule", "is required");
      const def = definitionOf(req.schedule, deps.policy, now());
      const s = await deps.schedules.create(def, now());
      deps.changed();
      return { schedule: scheduleOf(s) };
    },

    async getSchedule(req) {
      const s = await found(req.id);
      const upcoming = s.nextFireAt ? new Ticker(s.spec, boundsOf(s)).upcoming(s.nextFireAt.getTime(), NEXT_FIRE_TIMES) : [];
      const firings = await deps.schedules.firings(s.id, RECENT_FIRINGS);
      return {
        schedule: scheduleOf(s),
        nextFireTimes: upcoming.map((t) => timestampOf(new Date(t))!),
        recentFirings: firings.map(firingOf),
      };
    },

    async listSchedules(req) {
      const limit = pageSizeOf(req.pageSize);
      const after = req.pageToken ? decodeScheduleToken(req.pageToken) : undefined;
      const rows = await deps.schedules.list(after, limit + 1);
      const page = rows.slice(0, limit);
      return {
        schedules: page.map(scheduleOf),
        nextPageToken: rows.length > limit ? encodeScheduleToken(page[page.length - 1]!.id) : "",
      };
    },

    async updateSchedule(req) {
      if (!req.schedule) throw new InvalidArgumentError("schedule", "is required");
      const given = req.schedule;
      return change(given.id, (current) => definitionOf(updatedSchedule(scheduleOf(current), given, req.updateMask), deps.policy, now()));
    },

    async deleteSchedule(req) {
      checkScheduleId(req.id);
      if (!(await deps.schedules.delete(req.id))) throw new NotFoundError(`schedule "${req.id}" not found`);
      deps.changed();
      return {};
    },

    async pauseSchedule(req) {
      return change(req.id, (current) => ({ ...current, paused: true }));
    },

    async resumeSchedule(req) {
      return change(req.id, (current) => ({ ...current, paused: false }));
    },

    async triggerSchedule(req, context) {
      checkScheduleId(req.id);
      const { taskId, firing, firedMs } = await deps.firer.trigger(req.id, deps.traceContext?.(context.values));
      const row = await deps.tasks.get(taskId);
      if (!row) throw new NotFoundError(`task ${taskId} vanished`);
      return {
        task: taskOfRow(row),
        firing: firingOf({
          tickAt: new Date(firing.tickMs),
          triggered: true,
          firedAt: new Date(firedMs),
          outcome: "TRIGGERED",
          taskId,
          taskState: row.state,
          missedTicks: 0,
          detail: null,
        }),
      };
    },
  };
}

import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { createClient, type Client } from "@connectrpc/connect";
import { ScheduleService, type GetScheduleResponse, type Schedule, type ScheduleFiring } from "../../gen/taskqueue/v1/schedule_service_pb.js";
import type { Task } from "../../gen/taskqueue/v1/task_pb.js";
import { allPages } from "./all-pages.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { callOptionsOf, type RequestOptions } from "./request-options.js";
import { scheduleMessageOf, scheduleUpdateOf, type ScheduleChanges, type ScheduleSpec } from "./schedule-spec.js";
import { requireField } from "./task-client.js";

/** Paging of {@link ScheduleClient.listSchedules}. */
export interface ListSchedulesOptions extends RequestOptions {
  /** Page size, 1-1000. Default 100. */
  pageSize?: number;
  /** `nextPageToken` of the previous page; leave out for the first. */
  pageToken?: string;
}

/** One page of schedules, in id order. */
export interface SchedulePage {
  /** The schedules. */
  schedules: Schedule[];
  /** Token of the next page; empty on the last one. */
  nextPageToken: string;
}

/** A schedule with what it will do and what it did. */
export interface ScheduleDetails {
  /** The schedule. */
  schedule: Schedule;
  /** Its next 5 fire times (none while paused). */
  nextFireTimes: GetScheduleResponse["nextFireTimes"];
  /** Its last 20 firings, latest first. */
  recentFirings: ScheduleFiring[];
}

/** What {@link ScheduleClient.triggerSchedule} submitted. */
export interface Trigger {
  /** The task submitted. */
  task: Task;
  /** The firing, as `getSchedule` lists it. */
  firing: ScheduleFiring;
}

/** The schedule API (`taskqueue.v1.ScheduleService`); calls fail with the server's `ConnectError`. */
export interface ScheduleClient {
  /** Stores a new schedule (`ALREADY_EXISTS` when the id is taken); resolves with it as stored. */
  createSchedule(spec: ScheduleSpec, options?: RequestOptions): Promise<Schedule>;
  /** One schedule with its next fire times and last firings (`NOT_FOUND` for an unknown id). */
  getSchedule(id: string, options?: RequestOptions): Promise<ScheduleDetails>;
  /** One page of schedules, in id order. */
  listSchedules(options?: ListSchedulesOptions): Promise<SchedulePage>;
  /** Every schedule, all pages. */
  listAllSchedules(options?: RequestOptions): Promise<Schedule[]>;
  /**
   * Changes the fields `changes` names (the update mask is built from them); resolves with
   * the schedule as stored. With `taskChanges` the schedule is read first and the merged
   * template written whole (a concurrent change of the template in between is overwritten).
   */
  updateSchedule(id: string, changes: ScheduleChanges, options?: RequestOptions): Promise<Schedule>;
  /** Deletes a schedule and its firing history; the tasks it created stay. */
  deleteSchedule(id: string, options?: RequestOptions): Promise<void>;
  /** Stops the schedule from firing. */
  pauseSchedule(id: string, options?: RequestOptions): Promise<Schedule>;
  /** Lets a paused schedule fire again from its first tick after now. */
  resumeSchedule(id: string, options?: RequestOptions): Promise<Schedule>;
  /** Fires the schedule once, now, whatever its spec, pause and overlap policy. */
  triggerSchedule(id: string, options?: RequestOptions): Promise<Trigger>;
  /** The generated Connect client, for requests this API does not cover. */
  readonly service: Client<typeof ScheduleService>;
  /** Closes the connection the client opened (nothing for a given transport). */
  close(): void;
}

/** Creates a schedule client; options as for `createTaskClient`. */
export function createScheduleClient(options: TaskClientOptions = {}): ScheduleClient {
  const compiled = compileTaskClientOptions(options);
  const service = createClient(ScheduleService, compiled.transport);
  const call = (request: RequestOptions | undefined) => callOptionsOf(compiled.timeoutMs, request);
  const schedule = (response: { schedule?: Schedule }) => requireField(response.schedule, "schedule");
  const client: ScheduleClient = {
    service,
    async createSchedule(spec, request) {
      return schedule(await service.createSchedule({ schedule: scheduleMessageOf(spec) }, call(request)));
    },
    async getSchedule(id, request) {
      const response = await service.getSchedule({ id }, call(request));
      return { schedule: schedule(response), nextFireTimes: response.nextFireTimes, recentFirings: response.recentFirings };
    },
    async listSchedules(request = {}) {
      const response = await service.listSchedules({ pageSize: request.pageSize ?? 0, pageToken: request.pageToken ?? "" }, call(request));
      return { schedules: response.schedules, nextPageToken: response.nextPageToken };
    },
    async listAllSchedules(request) {
      return allPages(async (pageToken) => {
        const page = await client.listSchedules({ ...request, pageSize: 1000, pageToken });
        return { items: page.schedules, nextPageToken: page.nextPageToken };
      });
    },
    async updateSchedule(id, changes, request) {
      const current = changes?.taskChanges !== undefined ? (await client.getSchedule(id, request)).schedule.task : undefined;
      const update = scheduleUpdateOf(id, changes, current);
      const updateMask = create(FieldMaskSchema, { paths: update.paths });
      return schedule(await service.updateSchedule({ schedule: update.schedule, updateMask }, call(request)));
    },
    async deleteSchedule(id, request) {
      await service.deleteSchedule({ id }, call(request));
    },
    async pauseSchedule(id, request) {
      return schedule(await service.pauseSchedule({ id }, call(request)));
    },
    async resumeSchedule(id, request) {
      return schedule(await service.resumeSchedule({ id }, call(request)));
    },
    async triggerSchedule(id, request) {
      const response = await service.triggerSchedule({ id }, call(request));
      return { task: requireField(response.task, "task"), firing: requireField(response.firing, "firing") };
    },
    close() {
      compiled.sessionManager?.abort();
    },
  };
  return client;
}

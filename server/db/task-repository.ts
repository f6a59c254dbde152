import { sql, type Kysely } from "kysely";
import { terminalStates, type Database, type TaskAttemptRow, type TaskRow, type TaskStateName } from "./schema.js";

/** Filter and page of {@link TaskRepository.list}. */
export interface TaskListQuery {
  queue?: string;
  type?: string;
  states?: TaskStateName[];
  /** Return tasks with ids below this one (keyset pagination, newest first). */
  beforeId?: string;
  limit: number;
}

const unfinished: TaskStateName[] = ["SCHEDULED", "QUEUED", "RUNNING", "FAILED"];

/** Observes one kind of read: called with its duration in seconds and whether it failed. */
export type QueryObserver = (query: "get_task" | "task_attempts" | "list_tasks") => (seconds: number, failed: boolean) => void;

/** Reads of tasks and attempts, plus the few direct writes that are not on the hot path. */
export class TaskRepository {
  private readonly observers: Record<"get_task" | "task_attempts" | "list_tasks", ((seconds: number, failed: boolean) => void) | undefined>;

  /** `observe` times the reads behind GetTask and ListTasks (the server's query latency metric). */
  constructor(
    private readonly db: Kysely<Database>,
    observe?: QueryObserver,
  ) {
    this.observers = { get_task: observe?.("get_task"), task_attempts: observe?.("task_attempts"), list_tasks: observe?.("list_tasks") };
  }

  /** Runs `read`, reporting its duration to the observer of `query`, if any. */
  private async timed<T>(query: keyof TaskRepository["observers"], read: () => Promise<T>): Promise<T> {
    const observe = this.observers[query];
    if (!observe) return read();
    const start = performance.now();
    try {
      const value = await read();
      observe((performance.now() - start) / 1000, false);
      return value;
    } catch (error) {
      observe((performance.now() - start) / 1000, true);
      throw error;
    }
  }

  /** One task, or undefined. */
  get(id: string): Promise<TaskRow | undefined> {
    return this.timed("get_task", async () => (await this.db.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst()) as TaskRow | undefined);
  }

  /** Several tasks by id (missing ids are absent from the map). */
  async getMany(ids: string[]): Promise<Map<string, TaskRow>> {
    if (ids.length === 0) return new Map();
    const rows = (await this.db.selectFrom("tasks").selectAll().where("id", "in", ids).execute()) as TaskRow[];
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * A page of tasks, newest first. The DEAD tasks of a queue are found through the
   * dead-letter list (`dead_tasks`), the others through the queue's index of ids.
   */
  list(query: TaskListQuery): Promise<TaskRow[]> {
    return this.timed("list_tasks", () => this.listPage(query));
  }

  private async listPage(query: TaskListQuery): Promise<TaskRow[]> {
    if (query.queue && query.states?.length === 1 && query.states[0] === "DEAD") return this.listDead(query, query.queue);
    let q = this.db.selectFrom("tasks").selectAll();
    if (query.queue) q = q.where("queue", "=", query.queue);
    if (query.type) q = q.where("type", "=", query.type);
    if (query.states && query.states.length > 0) q = q.where("state", "in", query.states);
    if (query.beforeId) q = q.where("id", "<", query.beforeId);
    return (await q.orderBy("id", "desc").limit(query.limit).execute()) as TaskRow[];
  }

  private async listDead(query: TaskListQuery, queue: string): Promise<TaskRow[]> {
    let q = this.db
      .selectFrom("dead_tasks as d")
      .innerJoin("tasks as t", "t.id", "d.id")
      .selectAll("t")
      .where("d.queue", "=", queue)
      .where("t.state", "=", "DEAD");
    if (query.type) q = q.where("t.type", "=", query.type);
    if (query.beforeId) q = q.where("d.id", "<", query.beforeId);
    return (await q.orderBy("d.id", "desc").limit(query.limit).execute()) as TaskRow[];
  }

  /**
   * Attempt history of a task, oldest first (the view `task_attempt_history`: the attempt
   * that ended a task in SUCCEEDED is recorded by the task row, not by an attempt row).
   */
  attempts(taskId: string): Promise<TaskAttemptRow[]> {
    return this.timed(
      "task_attempts",
      async () =>
        (await this.db
          .selectFrom("task_attempt_history")
          .selectAll()
          .where("task_id", "=", taskId)
          .orderBy("attempt", "asc")
          .execute()) as TaskAttemptRow[],
    );
  }

  /**
   * The ids and queues of a page of unfinished tasks after `afterId` (ascending), optionally only those whose id is
   * in [fromId, toId): task ids start with their creation time, so such a window is a range of
   * the primary key (tasks created in a time window). Without one, every task is read.
   */
  async unfinishedPage(
    afterId: string | null,
    limit: number,
    window?: { fromId: string; toId: string },
  ): Promise<Array<{ id: string; queue: string }>> {
    let q = this.db.selectFrom("tasks").select(["id", "queue"]).where("state", "in", unfinished);
    if (afterId) q = q.where("id", ">", afterId);
    if (window) q = q.where("id", ">=", window.fromId).where("id", "<", window.toId);
    return q.orderBy("id", "asc").limit(limit).execute();
  }

  /** The state and attempts of those of `ids` that are finished (terminal). */
  async finishedStates(ids: readonly string[]): Promise<Map<string, { state: TaskStateName; attempt: number }>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db.selectFrom("tasks").select(["id", "state", "attempt"]).where("id", "in", ids).where("state", "in", [...terminalStates]).execute();
    return new Map(rows.map((r) => [r.id, { state: r.state as TaskStateName, attempt: r.attempt }]));
  }

  /**
   * Cancels a task that is not finished and not running (nothing holds a lease on it).
   * Returns the updated row, or undefined if it was finished. An attempt row still open is
   * closed WORKER_LOST in the same statement: the server that ended that lease stopped
   * before writing how (a late write of its real outcome still replaces this one).
   */
  async markCancelled(id: string, reason: string): Promise<TaskRow | undefined> {
    const result = await sql<TaskRow>`
      WITH cancelled AS (
        UPDATE tasks SET state = 'CANCELLED', cancel_reason = ${reason}, finished_at = now(), updated_at = now()
        WHERE id = ${id}::uuid AND state NOT IN ('SUCCEEDED', 'DEAD', 'CANCELLED', 'EXPIRED')
        RETURNING *),
      closed AS (
        UPDATE task_attempts a SET
          outcome = 'WORKER_LOST',
          finished_at = GREATEST(a.started_at, now()),
          error = COALESCE(a.error, jsonb_build_object(
            'message', 'the end of this attempt was not recorded (its server stopped first)', 'type', 'LeaseLost', 'attempt', a.attempt))
        FROM cancelled c
        WHERE a.task_id = c.id AND a.outcome IS NULL)
      SELECT * FROM cancelled`.execute(this.db);
    return result.rows[0];
  }

  /** Records why a running task is being cancelled (its final state follows from its lease). */
  async setCancelReason(id: string, reason: string): Promise<TaskRow | undefined> {
    return (await this.db
      .updateTable("tasks")
      .set({ cancel_reason: reason, updated_at: sql`now()` })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirst()) as TaskRow | undefined;
  }

  /**
   * Puts DEAD tasks back to QUEUED with a fresh attempt budget: as many further attempts as
   * they were submitted with (kept in `attempt_budget` by the first re-drive), so `max_attempts`
   * becomes `attempt + budget`; attempt numbers keep counting up, and `max_attempts` stays the
   * one budget the API shows. Selects by ids, or by queue up to `limit`.
   */
  async redriveDead(selector: { ids: string[] } | { queue: string; limit: number }): Promise<TaskRow[]> {
    const where =
      "ids" in selector
        ? sql`id = ANY(${selector.ids}::uuid[])`
        : sql`id IN (SELECT id FROM dead_tasks WHERE queue = ${selector.queue} ORDER BY id LIMIT ${selector.limit})`;
    const result = await sql<TaskRow>`
      WITH redriven AS (
        UPDATE tasks SET
          state = 'QUEUED',
          attempt_budget = COALESCE(attempt_budget, max_attempts),
          max_attempts = attempt + COALESCE(attempt_budget, max_attempts),
          finished_at = NULL, scheduled_at = NULL, result = NULL, result_format = NULL,
          updated_at = now()
        WHERE state = 'DEAD' AND ${where}
        RETURNING *),
      listed AS (DELETE FROM dead_tasks d USING redriven r WHERE d.queue = r.queue AND d.id = r.id)
      SELECT * FROM redriven`.execute(this.db);
    return result.rows;
  }

  /**
   * Deletes DEAD tasks and their attempt rows in one statement; by ids, or by queue and
   * optional age. Returns how many tasks.
   */
  async purgeDead(selector: { ids: string[] } | { queue: string; finishedBefore?: Date }): Promise<number> {
    const which =
      "ids" in selector
        ? sql`id = ANY(${selector.ids}::uuid[])`
        : selector.finishedBefore
          ? sql`id IN (SELECT id FROM dead_tasks WHERE queue = ${selector.queue}) AND finished_at < ${selector.finishedBefore}`
          : sql`id IN (SELECT id FROM dead_tasks WHERE queue = ${selector.queue})`;
    const result = await sql<{ purged: string }>`
      WITH purged AS (DELETE FROM tasks WHERE state = 'DEAD' AND ${which} RETURNING id, queue),
        attempts AS (DELETE FROM task_attempts WHERE task_id IN (SELECT id FROM purged)),
        listed AS (DELETE FROM dead_tasks d USING purged p WHERE d.queue = p.queue AND d.id = p.id)
      SELECT count(*) AS purged FROM purged`.execute(this.db);
    return Number(result.rows[0]!.purged);
  }

  /** True when Postgres answers. */
  async ping(): Promise<boolean> {
    await sql`select 1`.execute(this.db);
    return true;
  }
}

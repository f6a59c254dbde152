import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTq, runTqOnTerminal } from "./support/cli.js";
import { startTestServer, uniqueQueue, type TestServer } from "./support/test-server.js";
import { waitFor } from "./support/wait-for.js";

/**
 * `tq schedule …` run as a real process (the built bin/tq.js) against a real server: every
 * subcommand, --json documents checked, exit codes for bad input and unknown ids, and a
 * 1-second schedule seen firing through `tq schedule get`.
 */

let ts: TestServer;
const tq = (...args: string[]) => runTq(args, { server: ts.grpcAddress });

beforeAll(async () => {
  ts = await startTestServer();
});

afterAll(async () => {
  await ts?.stop();
});

describe("tq schedule", () => {
  it("creates, lists, gets, updates, pauses, resumes, triggers and deletes a schedule", async () => {
    const id = uniqueQueue("cli-sched");
    const queue = uniqueQueue("cli-sched-q");
    const created = await tq(
      "--json", "schedule", "create", id, '{"format":"pdf"}',
      "--cron", "30 2 * * *", "--tz", "America/New_York", "--queue", queue, "--type", "report.nightly",
      "--priority", "high", "--timeout", "5m", "--max-retries", "4", "--label", "team=ops",
      "--overlap", "buffer-one", "--catch-up", "all", "--start", "2026-01-01T00:00:00Z", "--end", "2099-01-01T00:00:00Z", "--paused",
    );
    expect(created.code).toBe(0);
    expect(created.json().schedule).toMatchObject({
      id,
      cron: "30 2 * * *",
      timeZone: "America/New_York",
      task: { queue, type: "report.nightly", payload: { format: "pdf" }, priority: 90, timeout: "300s", retryPolicy: { maxAttempts: 5 }, labels: { team: "ops" } },
      overlapPolicy: "OVERLAP_POLICY_BUFFER_ONE",
      catchupPolicy: "CATCHUP_POLICY_ALL",
      startTime: "2026-01-01T00:00:00Z",
      endTime: "2099-01-01T00:00:00Z",
      paused: true,
    });
    const again = await tq("schedule", "create", id, "--every", "1h", "--type", "x");
    expect(again.code).toBe(4);
    expect(again.stderr).toMatch(/^error: ALREADY_EXISTS: /m);

    const list = await tq("--json", "schedule", "list");
    expect(list.code).toBe(0);
    expect(list.json().schedules.find((s: { id: string }) => s.id === id)).toMatchObject({ id, paused: true });
    expect(list.json().nextPageToken).toBe("");
    const table = await tq("schedule", "list");
    expect(table.stdout.split("\n")[0]).toMatch(/^ID\s+SPEC\s+QUEUE\s+TYPE\s+STATE\s+NEXT FIRE$/);
    expect(table.stdout).toMatch(new RegExp(`^${id}\\s+cron 30 2 \\* \\* \\* \\(America/New_York\\)\\s+${queue}\\s+report\\.nightly\\s+paused\\s+-$`, "m"));

    // Paused: no next fire times. Resume: five, the first the schedule's next fire time.
    expect((await tq("--json", "schedule", "get", id)).json()).toMatchObject({ schedule: { id, paused: true }, nextFireTimes: [], recentFirings: [] });
    const resumed = await tq("--json", "schedule", "resume", id);
    expect(resumed.code).toBe(0);
    expect(resumed.json().schedule.paused).toBe(false);
    const got = (await tq("--json", "schedule", "get", id)).json();
    expect(got.nextFireTimes).toHaveLength(5);
    expect(got.nextFireTimes[0]).toBe(got.schedule.nextFireTime);
    expect(got.nextFireTimes[0]).toMatch(/T0[67]:30:00Z$/); // 02:30 in New York
    const paused = await tq("schedule", "pause", id);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^State:\s+paused$/m);

    // Update: only the fields named change; template flags are merged into the stored template.
    const updated = await tq("--json", "schedule", "update", id, "--cron", "0 6 * * MON-FRI", "--tz", "Europe/Paris", "--priority", "low", "--no-paused");
    expect(updated.code).toBe(0);
    expect(updated.json().schedule).toMatchObject({
      cron: "0 6 * * MON-FRI",
      timeZone: "Europe/Paris",
      paused: false,
      task: { queue, type: "report.nightly", payload: { format: "pdf" }, priority: 10, timeout: "300s", labels: { team: "ops" } },
      overlapPolicy: "OVERLAP_POLICY_BUFFER_ONE",
    });
    const interval = await tq("--json", "schedule", "update", id, "--every", "1h", "--end", "none");
    expect(interval.json().schedule).toMatchObject({ interval: "3600s", overlapPolicy: "OVERLAP_POLICY_BUFFER_ONE" });
    expect(interval.json().schedule.cron).toBeUndefined();
    expect(interval.json().schedule.endTime).toBeUndefined();
    const human = await tq("schedule", "get", id);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^Spec:\s+every 1h$/m);
    expect(human.stdout).toMatch(/^Overlap:\s+buffer-one$/m);
    expect(human.stdout).toMatch(/^Next fire times:$/m);
    expect(human.stderr).toBe("no firings yet\n");

    // Trigger: prints the task id; the task carries the schedule's labels and shows in get.
    const triggered = await tq("schedule", "trigger", id);
    expect(triggered.code).toBe(0);
    const taskId = triggered.stdout.trim();
    expect(taskId).toMatch(/^[0-9a-f-]{36}$/);
    const task = (await tq("--json", "task", "get", taskId)).json().task;
    expect(task).toMatchObject({ queue, type: "report.nightly", priority: 10, labels: { schedule: id, team: "ops" } });
    const triggeredJson = await tq("--json", "schedule", "trigger", id);
    expect(triggeredJson.json()).toMatchObject({ task: { labels: { schedule: id } }, firing: { outcome: "FIRING_OUTCOME_TRIGGERED" } });
    const firings = (await tq("--json", "schedule", "get", id)).json().recentFirings;
    expect(firings.map((f: { taskId: string }) => f.taskId)).toEqual([triggeredJson.json().task.id, taskId]);
    const withFirings = await tq("schedule", "get", id);
    expect(withFirings.stdout).toMatch(/^TICK\s+FIRED\s+OUTCOME\s+TASK\s+TASK STATE\s+DETAIL$/m);
    expect(withFirings.stdout).toMatch(new RegExp(`\\sTRIGGERED\\s+${taskId}\\s+QUEUED\\s`, "m"));

    // Delete: refused without --yes when stdin is not a terminal; asks on a terminal.
    const refused = await tq("schedule", "delete", id);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^error: --yes: stdin is not a terminal/m);
    const declined = await runTqOnTerminal(["schedule", "delete", id], { server: ts.grpcAddress, input: "n\n" });
    expect(declined.stdout).toMatch(/Delete schedule .* and its firing history\? \[y\/N\]/);
    expect(declined.code).toBe(1);
    expect((await tq("schedule", "get", id)).code).toBe(0);
    const deleted = await tq("--json", "schedule", "delete", id, "--yes");
    expect(deleted.code).toBe(0);
    expect(deleted.json()).toEqual({});
    expect((await tq("schedule", "get", id)).code).toBe(3);
  });

  it("exits 2 naming the field for bad input, 3 for an unknown id", async () => {
    const badCron = await tq("schedule", "create", uniqueQueue("bad"), "--cron", "61 * * * *", "--type", "x");
    expect(badCron.code).toBe(2);
    expect(badCron.stderr).toMatch(/^error: INVALID_ARGUMENT: cron: "61 \* \* \* \*" is not a valid cron expression/m);
    const badJson = await tq("--json", "schedule", "create", uniqueQueue("bad"), "--cron", "61 * * * *", "--type", "x");
    expect(badJson.code).toBe(2);
    expect(badJson.json().error).toMatchObject({ code: "INVALID_ARGUMENT", field: "cron" });
    const badZone = await tq("--json", "schedule", "create", uniqueQueue("bad"), "--cron", "0 * * * *", "--tz", "Europe/Atlantis", "--type", "x");
    expect(badZone.json().error).toMatchObject({ code: "INVALID_ARGUMENT", field: "time_zone" });
    const shortInterval = await tq("--json", "schedule", "create", uniqueQueue("bad"), "--every", "500ms", "--type", "x");
    expect(shortInterval.json().error).toMatchObject({ code: "INVALID_ARGUMENT", field: "interval" });
    const badTemplate = await tq("--json", "schedule", "create", uniqueQueue("bad"), "--every", "1s", "--type", "x", "--queue", "no spaces");
    expect(badTemplate.code).toBe(2);
    expect(badTemplate.json().error.field).toBe("template.queue");
    const both = await tq("schedule", "create", "x", "--cron", "* * * * *", "--every", "5s", "--type", "x");
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/^error: --every: give --cron or --every, not both$/m);
    const noSpec = await tq("schedule", "create", "x", "--type", "x");
    expect(noSpec.stderr).toMatch(/^error: --cron: give --cron or --every$/m);
    const noType = await tq("schedule", "create", "x", "--every", "5s");
    expect(noType.stderr).toMatch(/^error: --type: is required/m);
    const badOverlap = await tq("schedule", "create", "x", "--every", "5s", "--type", "x", "--overlap", "never");
    expect(badOverlap.code).toBe(2);
    const nothing = await tq("schedule", "update", "x");
    expect(nothing.code).toBe(2);

    const unknown = uniqueQueue("nothing");
    for (const sub of ["get", "pause", "resume", "trigger"]) {
      const run = await tq("schedule", sub, unknown);
      expect(run.code, sub).toBe(3);
      expect(run.stderr, sub).toMatch(/^error: NOT_FOUND: schedule ".*" not found$/m);
    }
    expect((await tq("schedule", "update", unknown, "--every", "5s")).code).toBe(3);
    expect((await tq("schedule", "update", unknown, "--priority", "5")).code).toBe(3);
    const gone = await tq("--json", "schedule", "delete", unknown, "--yes");
    expect(gone.code).toBe(3);
    expect(gone.json().error.code).toBe("NOT_FOUND");
  });

  it("a 1-second schedule fires: its task shows in tq schedule get", async () => {
    const id = uniqueQueue("cli-every-second");
    const queue = uniqueQueue("cli-every-second-q");
    const created = await tq("schedule", "create", id, '{"n":1}', "--every", "1s", "--queue", queue, "--type", "echo");
    expect(created.code).toBe(0);
    const firing = await waitFor(
      async () => {
        const got = (await tq("--json", "schedule", "get", id)).json();
        return got.recentFirings.find((f: { outcome: string }) => f.outcome === "FIRING_OUTCOME_SUBMITTED");
      },
      { timeoutMs: 15_000, message: "the 1-second schedule's first firing" },
    );
    const task = (await tq("--json", "task", "get", firing.taskId)).json().task;
    expect(task).toMatchObject({ queue, type: "echo", payload: { n: 1 }, labels: { schedule: id } });
    expect(Date.parse(task.labels.tick)).toBe(Date.parse(firing.tickTime));
    expect((await tq("schedule", "delete", id, "--yes")).code).toBe(0);
  });

  it("completion knows the schedule group", async () => {
    const bash = await tq("completion", "bash");
    expect(bash.code).toBe(0);
    expect(bash.stdout).toMatch(/"schedule"\) echo 'create list get update delete pause resume trigger'/);
    expect(bash.stdout).toContain("--catch-up");
  });
});

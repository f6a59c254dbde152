import { create } from "@bufbuild/protobuf";
import type { Command } from "commander";
import { GetQueueResponseSchema, ListQueuesResponseSchema, type QueueInfo } from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { QueueSettingsSpec } from "../ts/queue-client.js";
import { action, type CliContext } from "./context.js";
import { usageError } from "./errors.js";
import { formatProtoDuration, formatRelative, formatTime, parseDurationMs, parseInteger } from "./format.js";
import { messageJson } from "./json.js";
import type { Colors } from "./output.js";
import { parsePriority, PRIORITIES } from "./task-options.js";

/** Registers the commands of the `tq queue` group: list, stats, pause, resume, set (QueueService). */
export function registerQueueCommands(queue: Command): void {

  queue
    .command("list")
    .description("list the queues with their depth by state")
    .action(
      action(async (ctx) => {
        const queues = await ctx.clients().queues.listAllQueues();
        if (ctx.out.json) return printQueues(ctx, queues);
        const rows = queues.map((q) => [
          q.name,
          pausedText(q, ctx.out.colors),
          String(q.counts?.queued ?? 0n),
          String(q.counts?.scheduled ?? 0n),
          String(q.counts?.running ?? 0n),
          deadText(q, ctx.out.colors),
          String(q.workers?.connected ?? 0),
        ]);
        ctx.out.table(["NAME", "STATE", "QUEUED", "SCHEDULED", "RUNNING", "DEAD", "WORKERS"], rows, "no queues");
      }),
    );

  queue
    .command("stats")
    .description("depth by state, lag, rates and workers of every queue, or everything about one")
    .argument("[NAME]", "one queue (exit 3 when nothing knows it)")
    .action(
      action(async (ctx, command) => {
        const [name] = command.processedArgs as [string | undefined];
        if (name !== undefined) return printQueue(ctx, await ctx.clients().queues.getQueue(name), true);
        const queues = await ctx.clients().queues.listAllQueues();
        if (ctx.out.json) return printQueues(ctx, queues);
        const rows = queues.map((q) => {
          const m1 = q.throughput?.last1m; // rates: per minute over the last minute, and over 15 minutes
          const w = q.workers;
          return [
            q.name,
            String(q.counts?.queued ?? 0n),
            String(q.counts?.scheduled ?? 0n),
            String(q.counts?.running ?? 0n),
            deadText(q, ctx.out.colors),
            formatProtoDuration(q.oldestQueuedAge),
            perMinute(m1?.succeeded, 1),
            perMinute(m1?.failed, 1),
            perMinute(q.throughput?.last15m?.succeeded, 15),
            `${w?.connected ?? 0} (${w?.inFlight ?? 0}/${w?.capacity ?? 0})`,
          ];
        });
        ctx.out.table(["NAME", "QUEUED", "SCHEDULED", "RUNNING", "DEAD", "LAG", "DONE/MIN", "FAILED/MIN", "DONE/MIN 15M", "WORKERS (BUSY/SLOTS)"], rows, "no queues");
      }),
    );

  queue
    .command("pause")
    .description("stop dispatch from a queue on every server (submits are still accepted)")
    .argument("<NAME>", "queue")
    .option("--reason <R>", "why, shown with the queue")
    .action(
      action(async (ctx, command) => {
        const [name] = command.processedArgs as [string];
        const { reason } = command.opts<{ reason?: string }>();
        return printQueue(ctx, await ctx.clients().queues.pauseQueue(name, { reason }), false);
      }),
    );

  queue
    .command("resume")
    .description("let a paused queue dispatch again")
    .argument("<NAME>", "queue")
    .action(
      action(async (ctx, command) => {
        const [name] = command.processedArgs as [string];
        return printQueue(ctx, await ctx.clients().queues.resumeQueue(name), false);
      }),
    );

  queue
    .command("set")
    .description("store defaults for the queue's new tasks; the word default puts a setting back to the server's")
    .argument("<NAME>", "queue (it need not exist yet)")
    .option("--max-attempts <N>", "attempts a task gets unless it sets its own: 1-100")
    .option("--initial-backoff <D>", "first retry back-off: 0-24h (e.g. 1s)")
    .option("--max-backoff <D>", "largest retry back-off: 0-7d (e.g. 5m)")
    .option("--backoff-multiplier <X>", "factor between consecutive back-offs: 1-100")
    .option("--default-priority <P>", `priority of tasks submitted without one: 1-100 or ${Object.keys(PRIORITIES).join(", ")}`)
    .option("--default-timeout <D>", "timeout per attempt of tasks submitted without one: 1ms-24h")
    .option("--finished-retention <D>", "how long succeeded and cancelled tasks are kept: 0s (forever) to 3650d")
    .option("--dead-retention <D>", "how long dead tasks are kept: 0s (forever) to 3650d")
    .option("--max-concurrency <N>", "most tasks of the queue running at once, across every server: 1-1000000")
    .option("--rate <N/PERIOD>", "most task starts per period, across every server (e.g. 100/s, 20/1m, 5/250ms)")
    .option("--max-per-key <N>", "most tasks running at once per concurrency key, across every server: 1-1000000")
    .option("--max-payload <SIZE>", "largest payload of a task: bytes, or with KiB/MiB (e.g. 64KiB); over it a submit fails")
    .addHelpText("after", "\nWithout a retention of its own a queue keeps finished tasks as the server's settings say.\n\nExample:\n  tq queue set emails --max-attempts 5 --initial-backoff 2s --default-timeout default")
    .action(
      action(async (ctx, command) => {
        const [name] = command.processedArgs as [string];
        const settings = settingsOfOptions(command.opts());
        if (Object.keys(settings).length === 0) throw usageError("options", "name at least one setting (see tq queue set --help)");
        return printQueue(ctx, await ctx.clients().queues.updateQueue(name, settings), true);
      }),
    );
}

interface SetOptions {
  maxAttempts?: string;
  initialBackoff?: string;
  maxBackoff?: string;
  backoffMultiplier?: string;
  defaultPriority?: string;
  defaultTimeout?: string;
  finishedRetention?: string;
  deadRetention?: string;
  maxConcurrency?: string;
  rate?: string;
  maxPerKey?: string;
  maxPayload?: string;
}

/** The settings `queue set`'s options name: a value, or null for "default". */
function settingsOfOptions(o: SetOptions): QueueSettingsSpec {
  const settings: QueueSettingsSpec = {};
  const read = <K extends Exclude<keyof QueueSettingsSpec, "rateLimit">>(key: K, text: string | undefined, parse: (t: string) => number) => {
    if (text !== undefined) settings[key] = text.trim().toLowerCase() === "default" ? null : parse(text);
  };
  read("maxAttempts", o.maxAttempts, (t) => parseInteger(t, "--max-attempts", 1, 100));
  read("initialBackoffMs", o.initialBackoff, (t) => parseDurationMs(t, "--initial-backoff"));
  read("maxBackoffMs", o.maxBackoff, (t) => parseDurationMs(t, "--max-backoff"));
  read("backoffMultiplier", o.backoffMultiplier, (t) => {
    const value = Number(t);
    if (!/^\d+(\.\d+)?$/.test(t.trim()) || value < 1 || value > 100) throw usageError("--backoff-multiplier", `must be a number from 1 to 100, got "${t}"`);
    return value;
  });
  read("defaultPriority", o.defaultPriority, (t) => parsePriority(t, "--default-priority"));
  read("defaultTimeoutMs", o.defaultTimeout, (t) => parseDurationMs(t, "--default-timeout"));
  read("finishedRetentionMs", o.finishedRetention, (t) => parseDurationMs(t, "--finished-retention"));
  read("deadRetentionMs", o.deadRetention, (t) => parseDurationMs(t, "--dead-retention"));
  read("maxConcurrency", o.maxConcurrency, (t) => parseInteger(t, "--max-concurrency", 1, 1_000_000));
  read("maxConcurrencyPerKey", o.maxPerKey, (t) => parseInteger(t, "--max-per-key", 1, 1_000_000));
  read("maxPayloadBytes", o.maxPayload, (t) => parseByteSize(t, "--max-payload"));
  if (o.rate !== undefined) settings.rateLimit = o.rate.trim().toLowerCase() === "default" ? null : parseRate(o.rate);
  return settings;
}

/** Largest `--max-payload` (the server's ceiling of a payload). */
const MAX_PAYLOAD_CEILING = 4_128_768;

/** Reads a size: bytes, or a number with B, KiB/KB or MiB/MB (binary units). */
function parseByteSize(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kib|kb|k|mib|mb|m)?\s*$/i.exec(text);
  const unit = { b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 * 1024, mb: 1024 * 1024, mib: 1024 * 1024 }[(match?.[2] ?? "b").toLowerCase() as "b"];
  const bytes = match ? Math.round(Number(match[1]) * unit) : Number.NaN;
  if (!(bytes >= 1 && bytes <= MAX_PAYLOAD_CEILING)) throw usageError(option, `must be a size from 1 to ${MAX_PAYLOAD_CEILING} bytes (e.g. 65536, 64KiB, 1MiB), got "${text}"`);
  return bytes;
}

/** Reads `--rate N/PERIOD` (`100/s`, `20/1m`, `5/250ms`; a bare unit means one of it). */
function parseRate(text: string): { limit: number; periodMs: number } {
  const match = /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text);
  if (!match) throw usageError("--rate", `"${text}" is not a rate (e.g. 100/s, 20/1m, 5/250ms)`);
  const limit = parseInteger(match[1]!, "--rate", 1, 1_000_000);
  const period = /^[a-z]+$/.test(match[2]!) ? `1${match[2]}` : match[2]!;
  return { limit, periodMs: parseDurationMs(period, "--rate") };
}

function printQueues(ctx: CliContext, queues: QueueInfo[]): void {
  ctx.out.document(messageJson(ListQueuesResponseSchema, create(ListQueuesResponseSchema, { queues })));
}

/** Prints one queue: `{"queue": …}` with --json; its state, and with `detail` its counts, rates and settings. */
function printQueue(ctx: CliContext, q: QueueInfo, detail: boolean): void {
  const { out } = ctx;
  if (out.json) {
    out.document(messageJson(GetQueueResponseSchema, create(GetQueueResponseSchema, { queue: q })));
    return;
  }
  const pairs: Array<[string, string]> = [
    ["Queue", q.name],
    ["State", q.paused ? `${out.colors.yellow("paused")} ${formatRelative(q.pausedTime)}${q.pauseReason ? `: ${q.pauseReason}` : ""}` : out.colors.green("active")],
  ];
  if (!detail) return out.fields(pairs);
  const c = q.counts;
  const w = q.workers;
  const s = q.settings;
  pairs.push(
    ["Tasks", `${c?.queued ?? 0n} queued, ${c?.scheduled ?? 0n} scheduled, ${c?.running ?? 0n} running, ${c?.dead ?? 0n} dead`],
    ["Lag", q.oldestQueuedAge ? `${formatProtoDuration(q.oldestQueuedAge)} (oldest queued task)` : "-"],
    ["Workers", `${w?.connected ?? 0} connected, ${w?.inFlight ?? 0} busy of ${w?.capacity ?? 0} slots`],
  );
  if (q.pausedTime) pairs.push(["Paused at", formatTime(q.pausedTime)]);
  out.fields(pairs);
  out.line();
  const windows = [
    ["1m", q.throughput?.last1m, 1],
    ["5m", q.throughput?.last5m, 5],
    ["15m", q.throughput?.last15m, 15],
  ] as const;
  out.table(
    ["LAST", "SUCCEEDED", "FAILED", "CANCELLED", "SUCCEEDED/MIN"],
    windows.map(([label, counts, minutes]) => [label, String(counts?.succeeded ?? 0n), String(counts?.failed ?? 0n), String(counts?.cancelled ?? 0n), perMinute(counts?.succeeded, minutes)]),
    "",
  );
  out.line();
  out.fields([
    ["Max attempts", String(s?.maxAttempts ?? "-")],
    ["Back-off", `${formatProtoDuration(s?.initialBackoff)} initial, x${s?.backoffMultiplier ?? "-"}, at most ${formatProtoDuration(s?.maxBackoff)}`],
    ["Default priority", s?.defaultPriority ? String(s.defaultPriority) : "0 (none set)"],
    ["Default timeout", s?.defaultTimeout ? formatProtoDuration(s.defaultTimeout) : "none"],
    ["Keep finished", retention(s?.finishedRetention)],
    ["Keep dead", retention(s?.deadRetention)],
    ["Max concurrency", s?.maxConcurrency ? String(s.maxConcurrency) : "unlimited"],
    ["Rate limit", s?.rateLimit ? `${s.rateLimit.limit} per ${formatProtoDuration(s.rateLimit.period)}` : "unlimited"],
    ["Max per key", s?.maxConcurrencyPerKey ? String(s.maxConcurrencyPerKey) : "unlimited"],
    ["Held back", heldBackText(q)],
    ["Max payload", s?.maxPayloadBytes ? `${s.maxPayloadBytes} bytes` : "-"],
  ]);
}

/** Ready tasks the dispatch limits hold back, by limit ("none" when nothing is held). */
function heldBackText(q: QueueInfo): string {
  const h = q.heldBack;
  const parts: string[] = [];
  if (h?.maxConcurrency) parts.push(`${h.maxConcurrency} by max concurrency`);
  if (h?.rateLimit) parts.push(`${h.rateLimit} by rate limit`);
  if (h?.perKey) parts.push(`${h.perKey} by max per key (${h.keysAtLimit} ${h.keysAtLimit === 1n ? "key" : "keys"} at their limit)`);
  return parts.length === 0 ? "none" : parts.join(", ");
}

function retention(d: QueueInfo["oldestQueuedAge"]): string {
  return d === undefined || (d.seconds === 0n && d.nanos === 0) ? "forever" : formatProtoDuration(d);
}

function pausedText(q: QueueInfo, colors: Colors): string {
  return q.paused ? colors.yellow("paused") : "active";
}

function deadText(q: QueueInfo, colors: Colors): string {
  const dead = q.counts?.dead ?? 0n;
  return dead > 0n ? colors.red(String(dead)) : "0";
}

/** Events per minute over a window of `minutes`: `12`, `0.4`. */
function perMinute(count: bigint | undefined, minutes: number): string {
  const value = Number(count ?? 0n) / minutes;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

import { readFile } from "node:fs/promises";
import cliProgress from "cli-progress";
import type { Command } from "commander";
import { ConnectError } from "@connectrpc/connect";
import { checkTaskSpec } from "../ts/spec-checks.js";
import type { TaskSpec } from "../ts/task-spec.js";
import { action, type CliContext } from "./context.js";
import { CliError, codeNameOf, usageError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { parseDurationMs, parseTime } from "./format.js";
import { maxAttemptsOfRetries, parsePriority } from "./task-options.js";
import { readStdin } from "./task-submit.js";

/** Tasks per SubmitTasks call (the server takes up to 1000). */
const BATCH_SIZE = 500;

/** The outcome of one line, as `--json` shows it. */
type LineResult = { line: number; id: string; existing: boolean } | { line: number; error: { code: string; field: string; message: string } };

/** The keys a line may hold. */
const LINE_KEYS = ["type", "payload", "queue", "priority", "timeout", "delay", "scheduledAt", "maxRetries", "idempotencyKey", "concurrencyKey", "labels"];

/** Registers `tq task submit-batch`. */
export function registerSubmitBatch(task: Command): void {
  task
    .command("submit-batch")
    .description("submit one task per line of a JSON Lines file, in batches; exit 1 if any line is refused")
    .argument("<FILE>", "JSON Lines file (- for stdin)")
    .option("-q, --queue <Q>", "queue of lines that name none", "default")
    .addHelpText(
      "after",
      `
Each non-empty line is one JSON object:
  {"type": "send", "payload": {"to": "a@b.c"}, "queue": "emails", "priority": "high",
   "timeout": "30s", "delay": "10s" | "scheduledAt": "2026-12-07T18:00:00Z",
   "maxRetries": 3, "idempotencyKey": "order-42", "labels": {"team": "mail"}}
Only "type" is required. A refused line is reported with its number; the others are submitted.`,
    )
    .action(action(submitBatch));
}

async function submitBatch(ctx: CliContext, command: Command): Promise<number> {
  const [file] = command.processedArgs as [string];
  const { queue } = command.opts<{ queue: string }>();
  const text = file === "-" ? await readStdin() : await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw usageError("FILE", `cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
  });
  const results: LineResult[] = [];
  const pending: Array<{ line: number; spec: TaskSpec }> = [];
  text.split("\n").forEach((raw, index) => {
    if (raw.trim() === "") return;
    const line = index + 1;
    try {
      pending.push({ line, spec: specOfLine(raw, queue) });
    } catch (error) {
      const e = error instanceof CliError ? error : ConnectError.from(error);
      const field = e instanceof CliError ? e.field : (/^([\w.[\]-]+): /.exec(e.rawMessage)?.[1] ?? "");
      results.push({ line, error: { code: e instanceof CliError ? e.codeName : codeNameOf(e.code), field, message: e instanceof CliError ? e.message : e.rawMessage } });
    }
  });
  const total = pending.length + results.length;
  const bar = !ctx.out.json && ctx.out.stderrIsTerminal && total > 0
    ? new cliProgress.SingleBar({ format: "submitting [{bar}] {value}/{total} lines", stream: process.stderr }, cliProgress.Presets.shades_classic)
    : undefined;
  bar?.start(total, results.length);
  let submitted = 0;
  try {
    for (let start = 0; start < pending.length; start += BATCH_SIZE) {
      const chunk = pending.slice(start, start + BATCH_SIZE);
      const items = await ctx.clients().tasks.submitTasks(chunk.map((p) => p.spec), { view: "basic" });
      items.forEach((item, i) => {
        const line = chunk[i]!.line;
        if (item.error) {
          const field = item.error.field.replace(/^tasks\[\d+\]\./, "");
          const message = item.error.rawMessage.replace(/^tasks\[\d+\]\./, "");
          results.push({ line, error: { code: codeNameOf(item.error.code), field, message } });
        } else {
          results.push({ line, id: item.task.id, existing: item.existing });
        }
      });
      submitted += chunk.length;
      bar?.increment(chunk.length);
    }
  } catch (error) {
    bar?.stop();
    if (submitted > 0) ctx.out.note(`the first ${submitted} valid lines were submitted before the failure`);
    throw error;
  }
  bar?.stop();
  results.sort((a, b) => a.line - b.line);
  return report(ctx, results);
}

function report(ctx: CliContext, results: LineResult[]): number {
  const refused = results.filter((r): r is Extract<LineResult, { error: unknown }> => "error" in r);
  const accepted = results.length - refused.length;
  const existing = results.filter((r) => "existing" in r && r.existing).length;
  if (ctx.out.json) {
    ctx.out.document({ accepted, existing, refused: refused.length, results });
  } else {
    for (const r of refused) process.stderr.write(`${ctx.out.errColors.red(`line ${r.line}:`)} ${r.error.code}: ${r.error.message}\n`);
    ctx.out.line(`submitted ${accepted} task${accepted === 1 ? "" : "s"} (${existing} existing), ${refused.length} line${refused.length === 1 ? "" : "s"} refused`);
  }
  return refused.length > 0 ? EXIT.failed : EXIT.ok;
}

/** One line as a task spec; throws a usage error naming the field. */
function specOfLine(raw: string, defaultQueue: string): TaskSpec {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw usageError("line", `not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw usageError("line", "must be a JSON object");
  const line = value as Record<string, unknown>;
  for (const key of Object.keys(line)) if (!LINE_KEYS.includes(key)) throw usageError(key, `is not a field of a line (${LINE_KEYS.join(", ")})`);
  if (typeof line.type !== "string") throw usageError("type", "is required, a string");
  const spec: TaskSpec = { type: line.type, queue: stringField(line, "queue") ?? defaultQueue };
  if (line.payload !== undefined) spec.payload = line.payload as TaskSpec["payload"];
  if (line.priority !== undefined) spec.priority = parsePriority(String(line.priority), "priority");
  const timeout = stringField(line, "timeout");
  if (timeout !== undefined) spec.timeoutMs = parseDurationMs(timeout, "timeout");
  const delay = stringField(line, "delay");
  const scheduledAt = stringField(line, "scheduledAt");
  if (delay !== undefined && scheduledAt !== undefined) throw usageError("delay", "give delay or scheduledAt, not both");
  if (delay !== undefined) spec.runAt = Date.now() + parseDurationMs(delay, "delay");
  if (scheduledAt !== undefined) spec.runAt = parseTime(scheduledAt, "scheduledAt");
  if (line.maxRetries !== undefined) spec.retryPolicy = { maxAttempts: maxAttemptsOfRetries(String(line.maxRetries), "maxRetries") };
  const key = stringField(line, "idempotencyKey");
  if (key !== undefined) spec.idempotencyKey = key;
  const concurrencyKey = stringField(line, "concurrencyKey");
  if (concurrencyKey !== undefined) spec.concurrencyKey = concurrencyKey;
  if (line.labels !== undefined) spec.labels = line.labels as Record<string, string>;
  checkTaskSpec(spec);
  return spec;
}

function stringField(line: Record<string, unknown>, key: string): string | undefined {
  const value = line[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" && typeof value !== "number") throw usageError(key, "must be a string");
  return String(value);
}

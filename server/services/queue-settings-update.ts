import { create } from "@bufbuild/protobuf";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { type QueueSettings, QueueSettingsSchema } from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { StoredQueueSettings } from "../engine/queue-settings.js";
import { InvalidArgumentError } from "../errors.js";
import { RETRY_LIMITS } from "../settings/queue-retry-defaults.js";
import { checkedMsOfDuration } from "./proto-time.js";

/** What an UpdateQueue call changes: fields to store, and fields to clear (back to the server's). */
export interface QueueSettingsUpdate {
  set: StoredQueueSettings;
  clear: Array<keyof StoredQueueSettings>;
}

const DAY_MS = 24 * 3600 * 1000;

/** How one settable field is read from the request: undefined means "clear it". */
interface SettableField {
  /** The stored settings it sets (a rate limit is two). */
  keys: ReadonlyArray<keyof StoredQueueSettings>;
  isSet: (s: QueueSettings) => boolean;
  read: (s: QueueSettings, field: string) => StoredQueueSettings | undefined;
}

/** A field stored as one number under `key`. */
function single(
  key: keyof StoredQueueSettings,
  isSet: (s: QueueSettings) => boolean,
  read: (s: QueueSettings, field: string) => number | undefined,
): SettableField {
  return {
    keys: [key],
    isSet,
    read: (s, field) => {
      const value = read(s, field);
      return value === undefined ? undefined : { [key]: value };
    },
  };
}

function integerIn(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function durationIn(s: QueueSettings, name: "initialBackoff" | "maxBackoff" | "defaultTimeout", min: number, max: number, range: string, field: string) {
  const d = s[name];
  if (!d) return undefined;
  const ms = checkedMsOfDuration(d, field);
  if (ms < min || ms > max) throw new InvalidArgumentError(field, `must be between ${range}`);
  return ms;
}

/** The settable fields by mask path (snake_case, as in the proto). */
const SETTABLE: Readonly<Record<string, SettableField>> = {
  max_attempts: single(
    "maxAttempts",
    (s) => s.maxAttempts !== 0,
    (s, f) => (s.maxAttempts === 0 ? undefined : integerIn(s.maxAttempts, ...RETRY_LIMITS.maxAttempts, f)),
  ),
  initial_backoff: single(
    "initialBackoffMs",
    (s) => s.initialBackoff !== undefined,
    (s, f) => durationIn(s, "initialBackoff", 0, DAY_MS, "0 and 24h", f),
  ),
  max_backoff: single(
    "maxBackoffMs",
    (s) => s.maxBackoff !== undefined,
    (s, f) => durationIn(s, "maxBackoff", 0, 7 * DAY_MS, "0 and 7 days", f),
  ),
  backoff_multiplier: single(
    "backoffMultiplier",
    (s) => s.backoffMultiplier !== 0,
    (s, f) => {
      const v = s.backoffMultiplier;
      if (v === 0) return undefined;
      if (!(v >= 1 && v <= 100)) throw new InvalidArgumentError(f, `must be between 1 and 100, got ${v}`);
      return v;
    },
  ),
  default_priority: single(
    "defaultPriority",
    (s) => s.defaultPriority !== 0,
    (s, f) => (s.defaultPriority === 0 ? undefined : integerIn(s.defaultPriority, 1, 100, f)),
  ),
  default_timeout: single(
    "defaultTimeoutMs",
    (s) => s.defaultTimeout !== undefined,
    (s, f) => durationIn(s, "defaultTimeout", 1, DAY_MS, "1ms and 24h", f),
  ),
  max_concurrency: single(
    "maxConcurrency",
    (s) => s.maxConcurrency !== 0,
    (s, f) => (s.maxConcurrency === 0 ? undefined : integerIn(s.maxConcurrency, 1, MAX_CONCURRENCY_LIMIT, f)),
  ),
  rate_limit: {
    keys: ["rateLimit", "ratePeriodMs"],
    isSet: (s) => s.rateLimit !== undefined,
    read: (s, f) => rateLimitOf(s, f),
  },
};

/** Most task starts per second a rate limit may allow. */
const MAX_RATE_PER_SECOND = 1_000_000;

/** Reads a rate limit: unset clears it; `limit` 1.., `period` 1ms-24h, at most 1e6 per second. */
function rateLimitOf(s: QueueSettings, field: string): StoredQueueSettings | undefined {
  const r = s.rateLimit;
  if (!r) return undefined;
  if (r.limit < 1) throw new InvalidArgumentError(`${field}.limit`, `must be at least 1, got ${r.limit}`);
  if (!r.period) throw new InvalidArgumentError(`${field}.period`, "is required");
  const periodMs = checkedMsOfDuration(r.period, `${field}.period`);
  if (periodMs < 1 || periodMs > DAY_MS) throw new InvalidArgumentError(`${field}.period`, "must be between 1ms and 24h");
  if ((r.limit * 1000) / periodMs > MAX_RATE_PER_SECOND) {
    throw new InvalidArgumentError(field, `allows ${Math.round((r.limit * 1000) / periodMs)} starts per second, more than ${MAX_RATE_PER_SECOND}`);
  }
  return { rateLimit: r.limit, ratePeriodMs: periodMs };
}

/** Largest queue concurrency limit accepted. */
const MAX_CONCURRENCY_LIMIT = 1_000_000;

/** Fields QueueInfo shows that the server's settings decide alone. */
const NOT_SETTABLE = new Set(["finished_retention", "dead_retention"]);

/**
 * Reads an UpdateQueue request's settings and update_mask (AIP-134): the paths named (or
 * `*` for every settable field; with no mask, the fields set in `settings`) are stored, and
 * a named field left unset or 0 is cleared. Throws InvalidArgumentError naming the field.
 */
export function queueSettingsUpdateOf(settings: QueueSettings | undefined, mask: FieldMask | undefined): QueueSettingsUpdate {
  const given = settings ?? create(QueueSettingsSchema);
  let paths = mask?.paths ?? [];
  if (paths.length === 0) {
    if (settings?.finishedRetention || settings?.deadRetention) {
      throw new InvalidArgumentError(settings.finishedRetention ? "settings.finished_retention" : "settings.dead_retention", "is not settable per queue");
    }
    paths = Object.entries(SETTABLE).filter(([, f]) => settings !== undefined && f.isSet(settings)).map(([p]) => p);
    if (paths.length === 0) throw new InvalidArgumentError("update_mask", "is empty and settings sets no field: nothing to update");
  } else if (paths.includes("*")) {
    if (paths.length > 1) throw new InvalidArgumentError("update_mask", `"*" must be the only path`);
    paths = Object.keys(SETTABLE);
  }
  const update: QueueSettingsUpdate = { set: {}, clear: [] };
  for (const [i, path] of paths.entries()) {
    const field = SETTABLE[path];
    if (!field) {
      const problem = NOT_SETTABLE.has(path) ? "is not settable per queue" : `is not a field of QueueSettings (use ${Object.keys(SETTABLE).join(", ")} or *)`;
      throw new InvalidArgumentError(`update_mask.paths[${i}]`, `"${path.slice(0, 60)}" ${problem}`);
    }
    const value = field.read(given, `settings.${path}`);
    if (value === undefined) update.clear.push(...field.keys);
    else Object.assign(update.set, value);
  }
  return update;
}

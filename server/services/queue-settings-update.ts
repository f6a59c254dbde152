import { create } from "@bufbuild/protobuf";
import type { FieldMask } from "@bufbuild/protobuf/wkt";
import { type QueueSettings, QueueSettingsSchema } from "../../gen/taskqueue/v1/queue_service_pb.js";
import type { StoredQueueSettings } from "../engine/queue-settings.js";
import { InvalidArgumentError } from "../errors.js";
import { RETRY_LIMITS } from "../settings/queue-retry-defaults.js";
import { MAX_PAYLOAD_BYTES_CEILING } from "../message-limits.js";
import { checkedMsOfDuration } from "./proto-time.js";

/** What an UpdateQueue call changes: fields to store, and fields to clear (back to the server's). */
export interface QueueSettingsUpdate {
  set: StoredQueueSettings;
  clear: Array<keyof StoredQueueSettings>;
}

const DAY_MS = 24 * 3600 * 1000;

/** Longest retention a queue may set: ten years. */
const MAX_RETENTION_MS = 3650 * DAY_MS;

/** How one settable field is read from the request: undefined means "clear it". */
interface SettableField {
  key: keyof StoredQueueSettings;
  /** More stored settings the field sets and clears with `key` (a rate limit is two). */
  alsoKeys?: ReadonlyArray<keyof StoredQueueSettings>;
  isSet: (s: QueueSettings) => boolean;
  /** The value of `key`; with `alsoKeys`, every stored setting the field sets. */
  read: (s: QueueSettings, field: string) => number | StoredQueueSettings | undefined;
}

function integerIn(value: number, min: number, max: number, field: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new InvalidArgumentError(field, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

type DurationName = "initialBackoff" | "maxBackoff" | "defaultTimeout" | "finishedRetention" | "deadRetention";

/** A Duration field, stored in ms: present means set (`0s` included), and must lie in [min, max]. */
function durationField(key: keyof StoredQueueSettings, name: DurationName, min: number, max: number, range: string): SettableField {
  return {
    key,
    isSet: (s) => s[name] !== undefined,
    read: (s, field) => {
      const d = s[name];
      if (!d) return undefined;
      const ms = checkedMsOfDuration(d, field);
      if (ms < min || ms > max) throw new InvalidArgumentError(field, `must be between ${range}`);
      return ms;
    },
  };
}

/** The settable fields by mask path (snake_case, as in the proto). */
const SETTABLE: Readonly<Record<string, SettableField>> = {
  max_attempts: {
    key: "maxAttempts",
    isSet: (s) => s.maxAttempts !== 0,
    read: (s, f) => (s.maxAttempts === 0 ? undefined : integerIn(s.maxAttempts, ...RETRY_LIMITS.maxAttempts, f)),
  },
  initial_backoff: durationField("initialBackoffMs", "initialBackoff", 0, DAY_MS, "0 and 24h"),
  max_backoff: durationField("maxBackoffMs", "maxBackoff", 0, 7 * DAY_MS, "0 and 7 days"),
  backoff_multiplier: {
    key: "backoffMultiplier",
    isSet: (s) => s.backoffMultiplier !== 0,
    read: (s, f) => {
      const v = s.backoffMultiplier;
      if (v === 0) return undefined;
      if (!(v >= 1 && v <= 100)) throw new InvalidArgumentError(f, `must be between 1 and 100, got ${v}`);
      return v;
    },
  },
  default_priority: {
    key: "defaultPriority",
    isSet: (s) => s.defaultPriority !== 0,
    read: (s, f) => (s.defaultPriority === 0 ? undefined : integerIn(s.defaultPriority, 1, 100, f)),
  },
  default_timeout: durationField("defaultTimeoutMs", "defaultTimeout", 1, DAY_MS, "1ms and 24h"),
  // Retentions: unset goes back to the server's; an explicit 0s keeps the queue's tasks forever.
  finished_retention: durationField("finishedRetentionMs", "finishedRetention", 0, MAX_RETENTION_MS, "0s and 3650 days"),
  dead_retention: durationField("deadRetentionMs", "deadRetention", 0, MAX_RETENTION_MS, "0s and 3650 days"),
  max_concurrency: {
    key: "maxConcurrency",
    isSet: (s) => s.maxConcurrency !== 0,
    read: (s, f) => (s.maxConcurrency === 0 ? undefined : integerIn(s.maxConcurrency, 1, MAX_CONCURRENCY_LIMIT, f)),
  },
  max_concurrency_per_key: {
    key: "maxConcurrencyPerKey",
    isSet: (s) => s.maxConcurrencyPerKey !== 0,
    read: (s, f) => (s.maxConcurrencyPerKey === 0 ? undefined : integerIn(s.maxConcurrencyPerKey, 1, MAX_CONCURRENCY_LIMIT, f)),
  },
  max_payload_bytes: {
    key: "maxPayloadBytes",
    isSet: (s) => s.maxPayloadBytes !== 0,
    read: (s, f) => (s.maxPayloadBytes === 0 ? undefined : integerIn(s.maxPayloadBytes, 1, MAX_PAYLOAD_BYTES_CEILING, f)),
  },
  rate_limit: {
    key: "rateLimit",
    alsoKeys: ["ratePeriodMs"],
    isSet: (s) => s.rateLimit !== undefined,
    read: (s, f) => rateLimitOf(s, f),
  },
};

/** Largest queue concurrency limit accepted. */
const MAX_CONCURRENCY_LIMIT = 1_000_000;

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

/**
 * Reads an UpdateQueue request's settings and update_mask (AIP-134): the paths named (or
 * `*` for every settable field; with no mask, the fields set in `settings`) are stored, and
 * a named field left unset (or 0, for numbers) is cleared. Throws InvalidArgumentError naming the field.
 */
export function queueSettingsUpdateOf(settings: QueueSettings | undefined, mask: FieldMask | undefined): QueueSettingsUpdate {
  const given = settings ?? create(QueueSettingsSchema);
  let paths = mask?.paths ?? [];
  if (paths.length === 0) {
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
      const problem = `is not a field of QueueSettings (use ${Object.keys(SETTABLE).join(", ")} or *)`;
      throw new InvalidArgumentError(`update_mask.paths[${i}]`, `"${path.slice(0, 60)}" ${problem}`);
    }
    const value = field.read(given, `settings.${path}`);
    if (value === undefined) update.clear.push(field.key, ...(field.alsoKeys ?? []));
    else if (typeof value === "number") update.set[field.key] = value;
    else Object.assign(update.set, value);
  }
  return update;
}

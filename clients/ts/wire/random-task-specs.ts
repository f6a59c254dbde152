import type { JsonValue } from "@bufbuild/protobuf";
import type { TaskSpec } from "../task-spec.js";

/** A deterministic pseudo-random source (mulberry32) for reproducible spec inputs. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const WORDS = ["", "emails", "q.1:a-b", "ü", "\u{1F600}", "x".repeat(130), "é".repeat(70), "send/one"];
const NUMBERS = [0, -0, 1, -1, 0.5, -2.75, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, 1e300, -1e-300];

/**
 * A random task spec: every optional field present or not, with edge values (empty and
 * multi-byte strings, lengths around 128, negative and fractional numbers, big payloads).
 */
export function randomTaskSpec(random: () => number): TaskSpec {
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)];
  const maybe = () => random() < 0.5;
  const spec: TaskSpec = { queue: pick(WORDS), type: pick(WORDS) };
  if (maybe()) spec.payload = randomJson(random, 3);
  else if (maybe()) spec.payloadBytes = Uint8Array.from({ length: pick([0, 1, 127, 128, 300]) }, () => Math.floor(random() * 256));
  if (maybe()) spec.priority = pick([0, 1, 100, -1, 2 ** 31 - 1, -(2 ** 31)]);
  if (maybe()) {
    spec.retryPolicy = {};
    if (maybe()) spec.retryPolicy.maxAttempts = pick([0, 1, 5, -3]);
    if (maybe()) spec.retryPolicy.initialBackoffMs = pick([0, 1, 999, 1500, 86_400_000, -250]);
    if (maybe()) spec.retryPolicy.maxBackoffMs = pick([0, 1000, 60_000.5]);
    if (maybe()) spec.retryPolicy.backoffMultiplier = pick([0, 1, 2, 1.5, -0.5]);
  }
  if (maybe()) spec.idempotencyKey = pick(WORDS);
  if (maybe()) {
    const labels: Record<string, string> = {};
    const count = Math.floor(random() * 4);
    for (let i = 0; i < count; i++) labels[pick(WORDS) + String(i)] = pick(WORDS);
    spec.labels = labels;
  }
  if (maybe()) spec.runAt = maybe() ? new Date(pick([0, 1_700_000_000_123, -1_500, 8_000_000_000_000])) : pick([0, 1_700_000_000_000.5, -1, 2 ** 32 * 1000]);
  if (maybe()) spec.timeoutMs = pick([0, 1, 999, 1000, 1500, 86_400_000, -1500, 0.25]);
  if (maybe()) spec.startTimeoutMs = pick([0, 5000, 123_456_789, -1]);
  if (maybe()) spec.concurrencyKey = pick(WORDS);
  return spec;
}

/** A random JSON value nested at most `depth` levels. */
export function randomJson(random: () => number, depth: number): JsonValue {
  const kind = Math.floor(random() * (depth > 0 ? 6 : 4));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return NUMBERS[Math.floor(random() * NUMBERS.length)];
    case 2:
      return WORDS[Math.floor(random() * WORDS.length)];
    case 3:
      return random() < 0.5;
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => randomJson(random, depth - 1));
    default: {
      const object: Record<string, JsonValue> = {};
      const count = Math.floor(random() * 4);
      for (let i = 0; i < count; i++) object[WORDS[Math.floor(random() * WORDS.length)] + String(i)] = randomJson(random, depth - 1);
      return object;
    }
  }
}

import type { JsonValue } from "@bufbuild/protobuf";
import { usageError } from "./errors.js";
import { parseInteger } from "./format.js";

/** Named priorities of `--priority` (tasks run highest first; 0-100). */
export const PRIORITIES: Readonly<Record<string, number>> = { low: 10, normal: 50, high: 90 };

/** The `--priority` help text. */
export const PRIORITY_HELP = `priority: high (${PRIORITIES.high}), normal (${PRIORITIES.normal}), low (${PRIORITIES.low}) or 0-100; higher runs first. Default: the queue's default priority (0 unless set with tq queue set)`;

/** Parses a priority: a name of {@link PRIORITIES} or an integer 0-100. */
export function parsePriority(text: string, field: string): number {
  const named = PRIORITIES[text.trim().toLowerCase()];
  if (named !== undefined) return named;
  if (!/^\d+$/.test(text.trim())) throw usageError(field, `must be high, normal, low or 0-100, got "${text}"`);
  return parseInteger(text, field, 0, 100);
}

/** Parses repeated `--label k=v` options into a record. */
export function parseLabels(pairs: readonly string[], field: string): Record<string, string> | undefined {
  if (pairs.length === 0) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf("=");
    if (at <= 0) throw usageError(field, `"${pair}" is not key=value`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/** `--max-retries N`: retries after the first attempt, so the task gets N + 1 attempts (N 0-99). */
export function maxAttemptsOfRetries(text: string, field: string): number {
  return parseInteger(text, field, 0, 99) + 1;
}

/** Collects a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parses the PAYLOAD_JSON argument; a usage error naming it when it is not JSON. */
export function parsePayload(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw usageError("PAYLOAD_JSON", `not valid JSON: ${(error as Error).message}`);
  }
}

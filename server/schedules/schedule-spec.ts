import { CronExpressionParser, type CronExpression } from "cron-parser";

/** When a schedule ticks: a cron expression read in a time zone, or a fixed interval. */
export type ScheduleSpec = { kind: "cron"; cron: string; timeZone: string } | { kind: "interval"; intervalMs: number };

/** The window a schedule ticks in: no tick before `startMs` nor after `endMs` (null: open). */
export interface TickBounds {
  startMs: number | null;
  endMs: number | null;
}

/** Due ticks of a window: the latest few, ascending, and how many there are in all. */
export interface DueTicks {
  latest: number[];
  /** Ticks in the window; counting stops at {@link DUE_COUNT_CAP}. */
  count: number;
}

/** Shortest interval, ms. */
export const MIN_INTERVAL_MS = 1_000;
/** Longest interval, ms (a year). */
export const MAX_INTERVAL_MS = 366 * 24 * 3600 * 1000;
/**
 * Counting missed cron ticks stops here (a per-second cron down for days): each step costs
 * cron-parser about 0.25 ms, so the count yields to the event loop every {@link COUNT_SLICE}.
 */
export const DUE_COUNT_CAP = 1_000;
/** Cron steps between two yields to the event loop while counting. */
const COUNT_SLICE = 100;
/** Parsed cron expressions kept for reuse (parsing costs about 0.3 ms). */
const PARSED_CACHE_MAX = 1_000;
/** Most consecutive non-existent or repeated local times skipped while looking for a tick. */
const INVALID_TICKS_CAP = 10_000;

/** Why a spec cannot be used; `field` is "cron", "interval" or "time_zone". */
export class SpecProblem extends Error {
  constructor(
    readonly field: "cron" | "interval" | "time_zone",
    message: string,
  ) {
    super(message);
  }
}

/** Throws {@link SpecProblem} unless `timeZone` is an IANA zone this runtime knows. */
export function checkTimeZone(timeZone: string): void {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
  } catch {
    throw new SpecProblem("time_zone", `"${timeZone.slice(0, 60)}" is not a known IANA time zone`);
  }
}

/** Throws {@link SpecProblem} unless the spec is usable (5 or 6 cron fields, known zone, interval ≥ 1 s). */
export function checkSpec(spec: ScheduleSpec): void {
  if (spec.kind === "interval") {
    if (!Number.isInteger(spec.intervalMs) || spec.intervalMs < MIN_INTERVAL_MS || spec.intervalMs > MAX_INTERVAL_MS) {
      throw new SpecProblem("interval", `must be a whole number of ms between 1s and 366 days, got ${spec.intervalMs} ms`);
    }
    return;
  }
  checkTimeZone(spec.timeZone);
  const fields = spec.cron.trim().split(/\s+/).filter((f) => f !== "");
  if (fields.length !== 5 && fields.length !== 6) {
    throw new SpecProblem("cron", `"${spec.cron.slice(0, 60)}" has ${fields.length} fields; a cron expression has 5 (minute hour day month weekday) or 6 (seconds first)`);
  }
  try {
    CronExpressionParser.parse(spec.cron, { tz: spec.timeZone, strict: false });
  } catch (error) {
    throw new SpecProblem("cron", `"${spec.cron.slice(0, 60)}" is not a valid cron expression: ${(error as Error).message}`);
  }
}

/**
 * The ticks of a spec within its bounds. Cron ticks follow the wall clock of the zone: on the
 * day clocks go forward a local time that does not exist does not tick, and on the day they go
 * back a local time that occurs twice ticks once, the first time. Interval ticks fall at
 * `startMs + k × interval`, or at multiples of the interval since the epoch without a start.
 */
export class Ticker {
  constructor(
    private readonly spec: ScheduleSpec,
    private readonly bounds: TickBounds,
  ) {}

  /** The first tick at or after `fromMs`; null when none is left. */
  firstAtOrAfter(fromMs: number): number | null {
    return this.upcoming(fromMs, 1)[0] ?? null;
  }

  /** Up to `n` ticks from `fromMs` on (inclusive), ascending. */
  upcoming(fromMs: number, n: number): number[] {
    const from = Math.max(fromMs, this.bounds.startMs ?? Number.NEGATIVE_INFINITY);
    const end = this.bounds.endMs ?? Number.POSITIVE_INFINITY;
    const out: number[] = [];
    if (this.spec.kind === "interval") {
      const step = this.spec.intervalMs;
      const anchor = this.bounds.startMs ?? 0;
      for (let t = anchor + Math.ceil((from - anchor) / step) * step; out.length < n && t <= end; t += step) out.push(t);
      return out;
    }
    const expr = this.parse(Math.ceil(from) - 1);
    let skipped = 0;
    while (out.length < n && skipped < INVALID_TICKS_CAP) {
      const t = this.step(expr, "next");
      if (t === null || t > end) break;
      if (this.exists(expr, t)) out.push(t);
      else skipped++;
    }
    return out;
  }

  /**
   * The ticks in [fromMs, untilMs]: the latest `keep` of them and their count (cron ticks
   * counted up to {@link DUE_COUNT_CAP}).
   */
  async due(fromMs: number, untilMs: number, keep: number): Promise<DueTicks> {
    const from = Math.max(fromMs, this.bounds.startMs ?? Number.NEGATIVE_INFINITY);
    const until = Math.min(untilMs, this.bounds.endMs ?? Number.POSITIVE_INFINITY);
    if (until < from) return { latest: [], count: 0 };
    if (this.spec.kind === "interval") {
      const step = this.spec.intervalMs;
      const anchor = this.bounds.startMs ?? 0;
      const first = anchor + Math.ceil((from - anchor) / step) * step;
      const last = anchor + Math.floor((until - anchor) / step) * step;
      if (last < first) return { latest: [], count: 0 };
      const count = (last - first) / step + 1;
      const latest: number[] = [];
      for (let t = Math.max(first, last - (keep - 1) * step); t <= last; t += step) latest.push(t);
      return { latest, count };
    }
    // The latest ones walking back from the end; then the count walking forward (capped).
    const back = this.parse(Math.floor(until) + 1);
    const latest: number[] = [];
    let skipped = 0;
    while (latest.length < keep && skipped < INVALID_TICKS_CAP) {
      const t = this.step(back, "prev");
      if (t === null || t < from) break;
      if (this.exists(back, t)) latest.unshift(t);
      else skipped++;
    }
    if (latest.length < keep) return { latest, count: latest.length };
    // An expression of its own: the shared one may be used by others between the yields.
    const forward = this.parse(Math.ceil(from) - 1, { shared: false });
    let count = 0;
    for (let i = 1; count < DUE_COUNT_CAP && i <= DUE_COUNT_CAP + INVALID_TICKS_CAP; i++) {
      const t = this.step(forward, "next");
      if (t === null || t > until) break;
      if (this.exists(forward, t)) count++;
      if (i % COUNT_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return { latest, count: Math.max(count, latest.length) };
  }

  /**
   * The expression positioned at `currentMs`. The shared one (from a cache, reset) serves
   * synchronous walks only.
   */
  private parse(currentMs: number, options: { shared: boolean } = { shared: true }): CronExpression {
    const spec = this.spec as Extract<ScheduleSpec, { kind: "cron" }>;
    if (!options.shared) return CronExpressionParser.parse(spec.cron, { tz: spec.timeZone, currentDate: new Date(currentMs) });
    const key = `${spec.timeZone}\n${spec.cron}`;
    let expr = parsedCache.get(key);
    if (!expr) {
      if (parsedCache.size >= PARSED_CACHE_MAX) parsedCache.clear();
      expr = CronExpressionParser.parse(spec.cron, { tz: spec.timeZone, currentDate: new Date(currentMs) });
      parsedCache.set(key, expr);
    } else {
      expr.reset(new Date(currentMs));
    }
    return expr;
  }

  private step(expr: CronExpression, direction: "next" | "prev"): number | null {
    try {
      return expr[direction]().getTime();
    } catch {
      // Out of the range cron-parser iterates in.
      return null;
    }
  }

  /**
   * Whether the local time of `t` is a real, first occurrence of a time the expression names:
   * not a time moved forward out of a skipped hour, nor the second pass of a repeated one.
   */
  private exists(expr: CronExpression, t: number): boolean {
    if (!expr.includesDate(new Date(t))) return false;
    const zone = (this.spec as Extract<ScheduleSpec, { kind: "cron" }>).timeZone;
    const offset = zoneOffsetMs(zone, t);
    // Clocks went back within the last hours by `shift`: the same local time came `shift` earlier.
    const shift = zoneOffsetMs(zone, t - 6 * 3600_000) - offset;
    return !(shift > 0 && zoneOffsetMs(zone, t - shift) === offset + shift);
  }
}

/** Parsed expressions by zone and expression (see Ticker.parse). */
const parsedCache = new Map<string, CronExpression>();

const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at `t`, ms (local = UTC + offset). */
export function zoneOffsetMs(timeZone: string, t: number): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    offsetFormats.set(timeZone, format);
  }
  const parts: Record<string, number> = {};
  for (const p of format.formatToParts(new Date(t))) if (p.type !== "literal") parts[p.type] = Number(p.value);
  const local = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return local - Math.floor(t / 1000) * 1000;
}

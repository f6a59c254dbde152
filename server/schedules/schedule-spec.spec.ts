import { describe, expect, it } from "vitest";
import { checkSpec, SpecProblem, Ticker, zoneOffsetMs } from "./schedule-spec.js";

const ny = (cron: string) => new Ticker({ kind: "cron", cron, timeZone: "America/New_York" }, { startMs: null, endMs: null });
const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());
const at = (s: string) => Date.parse(s);

describe("Ticker", () => {
  it("does not fire a local time the spring-forward day skips", () => {
    // 2026-03-08: 02:00 EST becomes 03:00 EDT in New York.
    expect(iso(ny("30 2 * * *").upcoming(at("2026-03-07T12:00:00Z"), 2))).toEqual([
      "2026-03-09T06:30:00.000Z", // 02:30 EDT on the 9th: the 8th has no 02:30
      "2026-03-10T06:30:00.000Z",
    ]);
    // Every 30 minutes: 01:30 EST then 03:00 EDT, nothing in between.
    expect(iso(ny("*/30 * * * *").upcoming(at("2026-03-08T06:15:00Z"), 3))).toEqual([
      "2026-03-08T06:30:00.000Z",
      "2026-03-08T07:00:00.000Z",
      "2026-03-08T07:30:00.000Z",
    ]);
    expect(new Date(at("2026-03-08T07:00:00Z") + zoneOffsetMs("America/New_York", at("2026-03-08T07:00:00Z"))).toISOString()).toBe(
      "2026-03-08T03:00:00.000Z",
    );
  });

  it("fires a local time the fall-back day repeats once, the first time", async () => {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:30 happens at 05:30Z and again at 06:30Z.
    expect(iso(ny("30 1 * * *").upcoming(at("2026-10-31T12:00:00Z"), 2))).toEqual(["2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
    // Hourly: 01:00 EDT fires, 01:00 EST (the repeat) does not, 02:00 EST does.
    expect(iso(ny("0 * * * *").upcoming(at("2026-11-01T04:30:00Z"), 3))).toEqual([
      "2026-11-01T05:00:00.000Z",
      "2026-11-01T07:00:00.000Z",
      "2026-11-01T08:00:00.000Z",
    ]);
    // due() applies the same rule walking backwards.
    const due = await ny("0 * * * *").due(at("2026-11-01T04:30:00Z"), at("2026-11-01T07:30:00Z"), 10);
    expect(iso(due.latest)).toEqual(["2026-11-01T05:00:00.000Z", "2026-11-01T07:00:00.000Z"]);
    expect(due.count).toBe(2);
  });

  it("counts and keeps the latest due ticks", async () => {
    const every = new Ticker({ kind: "interval", intervalMs: 1000 }, { startMs: null, endMs: null });
    expect(await every.due(10_000, 19_500, 3)).toEqual({ latest: [17_000, 18_000, 19_000], count: 10 });
    const cron = new Ticker({ kind: "cron", cron: "* * * * * *", timeZone: "UTC" }, { startMs: null, endMs: null });
    expect(await cron.due(10_000, 19_500, 3)).toEqual({ latest: [17_000, 18_000, 19_000], count: 10 });
    expect(await cron.due(10_000, 11_500, 3)).toEqual({ latest: [10_000, 11_000], count: 2 });
  });

  it("honours start and end bounds", () => {
    const t = new Ticker({ kind: "interval", intervalMs: 10_000 }, { startMs: 5_000, endMs: 35_000 });
    expect(t.upcoming(0, 10)).toEqual([5_000, 15_000, 25_000, 35_000]);
    expect(t.firstAtOrAfter(35_001)).toBeNull();
  });
});

describe("checkSpec", () => {
  const problem = (f: () => void) => {
    try {
      f();
    } catch (error) {
      return error instanceof SpecProblem ? `${error.field}: ${error.message}` : String(error);
    }
    return "ok";
  };
  it("refuses bad cron expressions, zones and intervals", () => {
    expect(problem(() => checkSpec({ kind: "cron", cron: "61 * * * *", timeZone: "UTC" }))).toMatch(/^cron: .*61/);
    expect(problem(() => checkSpec({ kind: "cron", cron: "* * *", timeZone: "UTC" }))).toMatch(/^cron: .*3 fields/);
    expect(problem(() => checkSpec({ kind: "cron", cron: "* * * * *", timeZone: "Mars/Base" }))).toMatch(/^time_zone: /);
    expect(problem(() => checkSpec({ kind: "interval", intervalMs: 999 }))).toMatch(/^interval: /);
    expect(problem(() => checkSpec({ kind: "cron", cron: "0 9 * * MON-FRI", timeZone: "Europe/Paris" }))).toBe("ok");
  });
});

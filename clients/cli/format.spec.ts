import { describe, expect, it } from "vitest";
import { CliError } from "./errors.js";
import { formatDuration, formatRelative, parseDurationMs, parseInteger, parseTime } from "./format.js";
import { parsePriority } from "./task-options.js";

describe("parseDurationMs", () => {
  it("reads bare seconds, units and joined units", () => {
    expect(parseDurationMs("300", "--timeout")).toBe(300_000);
    expect(parseDurationMs("1.5", "--timeout")).toBe(1_500);
    expect(parseDurationMs("250ms", "--timeout")).toBe(250);
    expect(parseDurationMs("5m", "--timeout")).toBe(300_000);
    expect(parseDurationMs("1h30m", "--timeout")).toBe(5_400_000);
    expect(parseDurationMs("7d", "--before")).toBe(604_800_000);
  });

  it("refuses anything else, naming the option", () => {
    for (const bad of ["", "5 m", "5x", "m5", "-1s", "1h 30m"]) {
      expect(() => parseDurationMs(bad, "--timeout")).toThrow(CliError);
      expect(() => parseDurationMs(bad, "--timeout")).toThrow(/^--timeout: /);
    }
  });
});

describe("formatDuration and formatRelative", () => {
  it("shows at most two units", () => {
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(1_500)).toBe("1.5s");
    expect(formatDuration(12_000)).toBe("12s");
    expect(formatDuration(330_000)).toBe("5m30s");
    expect(formatDuration(3_600_000)).toBe("1h");
    expect(formatDuration(90_061_000)).toBe("1d1h");
  });

  it("says ago for the past and in for the future", () => {
    const now = 1_000_000_000_000;
    const at = (ms: number) => ({ $typeName: "google.protobuf.Timestamp" as const, seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });
    expect(formatRelative(at(now - 3_000), now)).toBe("3s ago");
    expect(formatRelative(at(now + 300_000), now)).toBe("in 5m");
    expect(formatRelative(at(now - 200), now)).toBe("just now");
    expect(formatRelative(undefined, now)).toBe("-");
  });
});

describe("parseTime, parseInteger, parsePriority", () => {
  it("reads RFC 3339 times and refuses others", () => {
    expect(parseTime("2026-12-07T18:00:00Z", "--scheduled-at").toISOString()).toBe("2026-12-07T18:00:00.000Z");
    expect(parseTime("2026-12-07T19:00:00+01:00", "--scheduled-at").toISOString()).toBe("2026-12-07T18:00:00.000Z");
    expect(() => parseTime("tomorrow", "--scheduled-at")).toThrow(/^--scheduled-at: "tomorrow" is not an RFC 3339 time/);
    expect(() => parseTime("2026-13-45T00:00:00Z", "--scheduled-at")).toThrow(CliError);
  });

  it("reads integers within bounds", () => {
    expect(parseInteger("42", "--limit", 1, 1000)).toBe(42);
    expect(() => parseInteger("0", "--limit", 1, 1000)).toThrow(/^--limit: must be an integer from 1 to 1000, got "0"/);
    expect(() => parseInteger("1.5", "--limit", 1, 1000)).toThrow(CliError);
  });

  it("maps named priorities and takes 0-100", () => {
    expect([parsePriority("high", "p"), parsePriority("Normal", "p"), parsePriority("low", "p"), parsePriority("0", "p"), parsePriority("100", "p")]).toEqual([90, 50, 10, 0, 100]);
    expect(() => parsePriority("101", "--priority")).toThrow(/^--priority: /);
    expect(() => parsePriority("urgent", "--priority")).toThrow(/^--priority: must be high, normal, low or 0-100/);
  });
});

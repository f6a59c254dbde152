import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { creditReserve, creditsToGrant } from "./credit-policy.js";
import { gate, leasedTask } from "./testing/fixtures.js";
import { WorkerHarness } from "./testing/harness.js";

describe("credit policy", () => {
  it("keeps an eighth of the capacity in reserve, at least one", () => {
    expect(creditReserve(1)).toBe(1);
    expect(creditReserve(15)).toBe(1);
    expect(creditReserve(16)).toBe(2);
    expect(creditReserve(200)).toBe(25);
  });

  it("grants every free slot while the server holds less than the reserve", () => {
    expect(creditsToGrant(200, 0, 0)).toBe(200);
    expect(creditsToGrant(200, 199, 0)).toBe(1);
    expect(creditsToGrant(200, 180, 24)).toBe(0);
    expect(creditsToGrant(200, 170, 24)).toBe(6);
  });

  it("gathers freed slots into grants of the reserve while the server holds enough", () => {
    expect(creditsToGrant(200, 1, 190)).toBe(0);
    expect(creditsToGrant(200, 0, 176)).toBe(0);
    expect(creditsToGrant(200, 0, 175)).toBe(25);
  });

  it("never grants beyond the capacity", () => {
    expect(creditsToGrant(4, 4, 0)).toBe(0);
    expect(creditsToGrant(4, 0, 4)).toBe(0);
    expect(creditsToGrant(4, 2, 3)).toBe(0);
  });
});

let harness: WorkerHarness;

beforeEach(async () => {
  harness = await WorkerHarness.start();
});

afterEach(async () => {
  await harness.close();
});

describe("credit grants on the stream", () => {
  it("grants freed slots once they make up the reserve while the server holds enough credit", async () => {
    const { stream } = await harness.connect({ concurrency: 16, handlers: { echo: async () => "ok" } });
    expect((await stream.expect("credit")).credits).toBe(16);
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "t1" })] } });
    await stream.expect("results");
    stream.send({ case: "assignment", value: { tasks: [leasedTask({ id: "t2" })] } });
    await stream.expect("results");
    // The first freed slot is held back (15 credits left), the second completes the reserve of 2.
    expect((await stream.expect("credit")).credits).toBe(2);
    const kinds = stream.received.map((r) => r.message.case).filter((k) => k !== "heartbeat");
    expect(kinds).toEqual(["hello", "credit", "results", "results", "credit"]);
  });

  it("grants a freed slot at once when the server holds less credit than the reserve", async () => {
    const release = gate();
    const { stream } = await harness.connect({
      concurrency: 16,
      handlers: { quick: async () => "ok", slow: async () => release.promise },
    });
    expect((await stream.expect("credit")).credits).toBe(16);
    const slow = Array.from({ length: 15 }, (_, i) => leasedTask({ id: `s${i}`, type: "slow" }));
    stream.send({ case: "assignment", value: { tasks: [...slow, leasedTask({ id: "q", type: "quick" })] } });
    await stream.expect("results");
    expect((await stream.expect("credit")).credits).toBe(1);
    release.open();
  });
});

import { describe, expect, it } from "vitest";
import { createLogger } from "../observability/logger.js";
import { Notifier, READY_PROBE_MS } from "./notifier.js";

/** A notifier whose PUBLISH reports `receivers()` listeners, on a clock set by hand. */
function notifierWith(receivers: () => number) {
  const published: string[] = [];
  let now = 0;
  const notifier = new Notifier({
    publisher: {
      publish: (_channel: string, message: string) => {
        published.push(JSON.parse(message).t as string);
        return Promise.resolve(receivers());
      },
    } as never,
    subscriber: { on: () => {}, subscribe: () => Promise.resolve(), unsubscribe: () => Promise.resolve() } as never,
    prefix: "tq:",
    serverId: "me",
    logger: createLogger({ level: "silent" }),
    onReady: () => {},
    onDue: () => {},
    onCancel: () => {},
    now: () => now,
  });
  return { notifier, published, advance: (ms: number) => (now += ms) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("Notifier", () => {
  it("stops announcing ready queues while no other server listens, probing once per interval", async () => {
    let listeners = 1; // only this server's own subscription
    const { notifier, published, advance } = notifierWith(() => listeners);
    notifier.ready(["q"]);
    await turn();
    await turn();
    expect(published).toEqual(["ready"]);
    notifier.ready(["q"]);
    await turn();
    expect(published).toEqual(["ready"]); // skipped: nobody else heard the last one
    notifier.due(5); // other events always go out
    notifier.cancel({ sessionId: "s", taskId: "t", leaseToken: "l", reason: "r" });
    expect(published).toEqual(["ready", "due", "cancel"]);
    listeners = 2; // another server started
    advance(READY_PROBE_MS);
    notifier.ready(["q"]);
    await turn();
    await turn();
    notifier.ready(["q"]);
    await turn();
    expect(published).toEqual(["ready", "due", "cancel", "ready", "ready"]);
  });
});

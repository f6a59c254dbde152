/**
 * The answer of `call`, or undefined when it fails or takes longer than `timeoutMs` (a Redis
 * node that is down, paused or failing over counts as no answer this time).
 */
export async function answerWithin<T>(timeoutMs: number, call: () => Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), timeoutMs);
  });
  try {
    return await Promise.race([timeout, call()]);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}

/** A field of an `INFO` reply (`name:value` lines), or "" when absent. */
export function infoField(info: string, name: string): string {
  return new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? "";
}

/**
 * Who a Redis node is now, from its `INFO server replication` reply: `run_id` (new at every
 * start, whether it came back empty or from an older snapshot or AOF) and `master_replid`
 * (new at every promotion of a replica).
 */
export function nodeIdentity(info: string): string {
  return `${infoField(info, "run_id")} ${infoField(info, "master_replid")}`;
}

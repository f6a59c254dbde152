import { createContextKey, type ContextValues } from "@connectrpc/connect";
import type { Principal } from "./principal.js";

/**
 * The authenticated caller of the current call, in a handler context's `values`: set by the
 * auth interceptor, read by handlers that narrow what they return to the caller's queues
 * (ListQueues). Undefined when no authentication ran (the services used as a library).
 */
export const callerKey = createContextKey<Principal | undefined>(undefined, { description: "the authenticated caller" });

/** Whether the call's caller may see `queue` (true when no caller is known or its scope is every queue). */
export function callerMaySee(values: ContextValues): (queue: string) => boolean {
  const caller = values.get(callerKey);
  if (caller === undefined || caller.scope.all) return () => true;
  return (queue) => caller.scope.allows(queue);
}

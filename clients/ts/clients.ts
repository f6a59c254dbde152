import { createAuthClient, type AuthClient } from "./auth-client.js";
import { compileTaskClientOptions, type TaskClientOptions } from "./client-options.js";
import { createClusterClient, type ClusterClient } from "./cluster-client.js";
import { createDeadLetterClient, type DeadLetterClient } from "./dead-letter-client.js";
import { createQueueClient, type QueueClient } from "./queue-client.js";
import { createScheduleClient, type ScheduleClient } from "./schedule-client.js";
import { createTaskClient, type TaskClient } from "./task-client.js";

/** A client of every service of the product, sharing one connection. */
export interface Clients {
  /** `TaskService`: submit, get, list, cancel. */
  tasks: TaskClient;
  /** `QueueService`: list, get, pause, resume, update. */
  queues: QueueClient;
  /** `ClusterService`: workers, servers, system health. */
  cluster: ClusterClient;
  /** `DeadLetterService`: list, redrive, purge. */
  deadLetters: DeadLetterClient;
  /** `ScheduleService`: create, get, list, update, delete, pause, resume, trigger. */
  schedules: ScheduleClient;
  /** `AuthService`: API tokens (admin only). */
  auth: AuthClient;
  /** Closes the shared connection. */
  close(): void;
}

/**
 * Creates the clients of every service over one transport (one HTTP/2 connection for the
 * built-in one); options as for `createTaskClient`.
 */
export function createClients(options: TaskClientOptions = {}): Clients {
  const compiled = compileTaskClientOptions(options);
  const shared: TaskClientOptions = {
    transport: compiled.transport,
    jsonTransport: compiled.jsonTransport,
    timeoutMs: compiled.timeoutMs ?? 0,
    quotaRetryMaxWaitMs: compiled.quotaRetryMaxWaitMs,
    onQuotaWait: compiled.onQuotaWait,
  };
  return {
    tasks: createTaskClient(shared),
    queues: createQueueClient(shared),
    cluster: createClusterClient(shared),
    deadLetters: createDeadLetterClient(shared),
    schedules: createScheduleClient(shared),
    auth: createAuthClient(shared),
    close() {
      compiled.sessionManager?.abort();
    },
  };
}

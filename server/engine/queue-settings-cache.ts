import type { QueueRecord, QueueRepository } from "../db/queue-repository.js";
import type { Logger } from "../observability/logger.js";
import { PeriodicTask } from "./periodic-task.js";
import type { StoredQueueSettings } from "./queue-settings.js";
import type { Service } from "./service.js";

/** Options for {@link QueueSettingsCache}. */
export interface QueueSettingsCacheOptions {
  repository: Pick<QueueRepository, "allSettings" | "updateSettings">;
  /** Tells the other servers that settings changed (they reload). */
  announce: () => void;
  logger: Logger;
  /** Backstop reload period, ms (a change announced by another server reloads at once). */
  intervalMs: number;
}

/**
 * Every queue's stored settings, in memory, for the submit path (a map lookup per task, no
 * query). Loaded at start, reloaded when this or another server announces a change (see
 * Notifier's "settings" event) and, as a backstop, periodically.
 */
export class QueueSettingsCache implements Service {
  private settings = new Map<string, StoredQueueSettings>();
  private readonly periodic: PeriodicTask<void>;

  constructor(private readonly options: QueueSettingsCacheOptions) {
    this.periodic = new PeriodicTask({
      name: "queue settings reload",
      run: () => this.load(),
      intervalMs: options.intervalMs,
      logger: options.logger,
    });
  }

  /** Loads the settings, then reloads them periodically. */
  async start(): Promise<void> {
    await this.load();
    this.periodic.start();
  }

  /** Stops the periodic reload. */
  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  /** Every queue's stored settings (queues without any are missing). */
  all(): ReadonlyMap<string, StoredQueueSettings> {
    return this.settings;
  }

  /** The stored settings of `queue`, if it has any. */
  get(queue: string): StoredQueueSettings | undefined {
    return this.settings.get(queue);
  }

  /**
   * Stores a change of `queue`'s settings (`check` sees the result before it commits and may
   * refuse it by throwing), reloads them here and tells the other servers.
   */
  async update(
    queue: string,
    set: StoredQueueSettings,
    clear: readonly string[],
    check: (record: QueueRecord) => void,
  ): Promise<QueueRecord> {
    const record = await this.options.repository.updateSettings(queue, set, clear, check);
    await this.reload();
    this.options.announce();
    return record;
  }

  /** Reloads now (after a change); failures are logged, the backstop reload retries. */
  async reload(): Promise<void> {
    await this.periodic.runNow().catch((error: unknown) => this.options.logger.warn({ err: error }, "reloading queue settings failed"));
  }

  private async load(): Promise<void> {
    this.settings = await this.options.repository.allSettings();
  }
}

/**
 * Counts the handlers alive across all sessions of a worker, against its concurrency.
 * A slot is taken when a task is assigned and freed when its handler settles, even if
 * its result went out earlier (a timed-out handler that ignores its signal still holds
 * its slot), so the worker never runs more handlers than its concurrency.
 */
export class SlotPool {
  private busyCount = 0;
  private readonly releaseListeners = new Set<() => void>();

  /** Creates a pool of `capacity` slots. */
  constructor(readonly capacity: number) {}

  /** Slots held by running handlers. */
  get busy(): number {
    return this.busyCount;
  }

  /** Slots not held by any handler (never negative). */
  get idle(): number {
    return Math.max(0, this.capacity - this.busyCount);
  }

  /** Takes one slot (the pool may go over capacity if the server over-assigns). */
  acquire(): void {
    this.busyCount += 1;
  }

  /** Frees one slot and notifies the release listeners. */
  release(): void {
    this.busyCount = Math.max(0, this.busyCount - 1);
    const listeners = this.releaseListeners;
    if (listeners.size === 1) {
      const [listener] = listeners;
      listener();
    } else if (listeners.size > 1) {
      for (const listener of [...listeners]) listener();
    }
  }

  /** Calls `listener` after every release; returns a function that removes it. */
  onRelease(listener: () => void): () => void {
    this.releaseListeners.add(listener);
    return () => this.releaseListeners.delete(listener);
  }
}

/**
 * The server's wall clock as seen from this worker. The server states times on its own clock
 * (a drain's `deadline`, lease deadlines); every `heartbeat_ack` carries `server_time`, from
 * which the offset between the two clocks is taken, so that a worker whose clock is skewed
 * still reads the server's deadlines right. Until the first ack the clocks are taken to agree.
 * The offset ignores the ack's one-way delay (well under a heartbeat interval on any network
 * where leases work).
 */
export class ServerClock {
  private offsetMs = 0;

  /** Records the server's time `serverTimeMs` as read at local time `localNowMs`. */
  observe(serverTimeMs: number, localNowMs: number): void {
    if (Number.isFinite(serverTimeMs)) this.offsetMs = serverTimeMs - localNowMs;
  }

  /** The local time at which the server's clock shows `serverMs`. */
  toLocal(serverMs: number): number {
    return serverMs - this.offsetMs;
  }
}

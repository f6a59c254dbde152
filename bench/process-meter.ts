import { cpuPercent, sampleProcess, type ProcessSample } from "./probes.js";

/** CPU and memory of one process over a measured window. */
export interface ProcessUsage {
  /** Average CPU over the window, percent of one core. */
  cpuPct: number;
  /** Highest VmRSS seen, MiB. */
  peakRssMb: number;
  /** VmRSS at the end, MiB. */
  endRssMb: number;
}

const MIB = 1024 * 1024;

/**
 * Measures a process from {@link ProcessMeter.start} to {@link ProcessMeter.stop}: CPU from
 * the kernel's counters, and RSS sampled every `intervalMs` for its peak.
 */
export class ProcessMeter {
  private first: ProcessSample | undefined;
  private peakRss = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  /** Takes the first sample and starts sampling RSS. */
  async start(): Promise<void> {
    this.first = await sampleProcess(this.pid);
    this.peakRss = this.first.rssBytes;
    this.timer = setInterval(() => {
      void sampleProcess(this.pid).then(
        (s) => (this.peakRss = Math.max(this.peakRss, s.rssBytes)),
        () => undefined,
      );
    }, this.intervalMs);
  }

  /** Takes the last sample and returns the usage over the window. */
  async stop(): Promise<ProcessUsage> {
    clearInterval(this.timer);
    const last = await sampleProcess(this.pid);
    const first = this.first ?? last;
    return {
      cpuPct: cpuPercent(first, last),
      peakRssMb: Math.max(this.peakRss, last.rssBytes) / MIB,
      endRssMb: last.rssBytes / MIB,
    };
  }
}

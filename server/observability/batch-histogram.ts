import type { Registry } from "prom-client";

/** One value of a rendered metric, as prom-client's registry formats it. */
interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** Options for {@link BatchHistogram}. */
export interface BatchHistogramOptions<L extends string> {
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Upper bounds of the buckets, ascending (`+Inf` is added). */
  buckets: readonly number[];
  registers: Registry[];
}

/** The buckets, sum and count of one label set; {@link HistogramSeries.observe} costs a bucket search. */
export class HistogramSeries {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length).fill(0);
  }

  /** Adds one observation. */
  observe(value: number): void {
    this.sum += value;
    this.count += 1;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]! += 1;
        return;
      }
    }
  }
}

/**
 * A Prometheus histogram for hot paths, rendered by prom-client's registry like its own
 * `Histogram` (`_bucket{le}` cumulative, `_sum`, `_count`). prom-client's histogram serialises
 * and validates the labels on every observation, even through `labels()`; here a series is
 * looked up once per label set (per batch of tasks) and each observation only finds its bucket.
 */
export class BatchHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly bounds: readonly number[];
  private readonly labelNames: readonly L[];
  private readonly series = new Map<string, HistogramSeries>();

  constructor(options: BatchHistogramOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.bounds = [...options.buckets];
    this.labelNames = options.labelNames;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  /** The series of `labels` (created at its first use). */
  labels(labels: Readonly<Record<L, string>>): HistogramSeries {
    const key = this.keyOf(labels);
    let series = this.series.get(key);
    if (!series) {
      const own: Record<string, string> = {};
      for (const name of this.labelNames) own[name] = labels[name];
      series = new HistogramSeries(own, this.bounds);
      this.series.set(key, series);
    }
    return series;
  }

  /** Drops the series of `labels` (extra labels such as `le` are ignored). */
  remove(labels: Readonly<Record<string, unknown>>): void {
    this.series.delete(this.keyOf(labels as Record<L, string>));
  }

  /** Drops every series. */
  reset(): void {
    this.series.clear();
  }

  /** The rendered values (what prom-client's registry asks every metric for). */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: MetricValue[] }> {
    const values: MetricValue[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += s.counts[i]!;
        values.push({ labels: { le: bound, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: "+Inf", ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  private keyOf(labels: Readonly<Record<L, string>>): string {
    let key = "";
    for (const name of this.labelNames) key += `${labels[name]}\u0000`;
    return key;
  }
}

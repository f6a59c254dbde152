const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 90;
const HEIGHT = 20;

/** The series a sparkline draws: one line each, sharing one vertical scale. */
export interface SparkSeries {
  /** CSS class of the line (its colour comes from the stylesheet). */
  className: string;
  /** Values, oldest first. */
  values: readonly bigint[];
}

/**
 * A small inline SVG chart of per-minute counts (the last 15 minutes of a queue), with an
 * accessible label that states the same figures in words. Series share one scale, so a line of
 * failures sits in proportion to the successes.
 */
export function sparkline(series: readonly SparkSeries[], label: string): SVGSVGElement {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  svg.setAttribute("width", String(WIDTH));
  svg.setAttribute("height", String(HEIGHT));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const max = series.reduce((m, s) => s.values.reduce((n, v) => (v > n ? v : n), m), 0n);
  for (const s of series) {
    if (s.values.length === 0) continue;
    const step = s.values.length > 1 ? WIDTH / (s.values.length - 1) : 0;
    const points = s.values.map((v, i) => {
      const y = max === 0n ? HEIGHT - 1 : HEIGHT - 1 - (Number(v) / Number(max)) * (HEIGHT - 2);
      return `${(i * step).toFixed(1)},${y.toFixed(1)}`;
    });
    const line = document.createElementNS(SVG, "polyline");
    line.setAttribute("class", s.className);
    line.setAttribute("points", points.join(" "));
    svg.append(line);
  }
  return svg;
}

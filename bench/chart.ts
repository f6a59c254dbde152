import { readFileSync, writeFileSync } from "node:fs";

/**
 * Draws throughput against worker count as an SVG line chart, taskqueue beside BullMQ, from
 * results files of `npm run bench -- --scenarios throughput_batch,bullmq --workers N`.
 *
 *   npx tsx bench/chart.ts OUT.svg results-1.json results-2.json results-4.json
 */
interface Point {
  workers: number;
  taskqueue: number;
  bullmq: number;
}

interface ResultsFile {
  options: { workers: number };
  scenarios: { throughput_batch?: { tasks_per_s: number }; bullmq?: { jobs_per_s: number } };
}

/** Reads the points, sorted by worker count. */
export function readPoints(files: string[]): Point[] {
  return files
    .map((file) => JSON.parse(readFileSync(file, "utf8")) as ResultsFile)
    .map((r) => ({
      workers: r.options.workers,
      taskqueue: r.scenarios.throughput_batch?.tasks_per_s ?? 0,
      bullmq: r.scenarios.bullmq?.jobs_per_s ?? 0,
    }))
    .sort((a, b) => a.workers - b.workers);
}

/** Renders the chart. */
export function renderChart(points: Point[], title: string): string {
  const width = 640;
  const height = 360;
  const m = { left: 70, right: 150, top: 40, bottom: 50 };
  const maxY = Math.max(1, ...points.flatMap((p) => [p.taskqueue, p.bullmq])) * 1.15;
  const xs = points.map((p) => p.workers);
  const x = (w: number) => m.left + ((xs.indexOf(w) + 0.5) / xs.length) * (width - m.left - m.right);
  const y = (v: number) => height - m.bottom - (v / maxY) * (height - m.top - m.bottom);
  const series = [
    { name: "taskqueue (durable in Postgres)", key: "taskqueue" as const, colour: "#1f77b4" },
    { name: "BullMQ (Redis only)", key: "bullmq" as const, colour: "#d62728" },
  ];
  const ticks = Array.from({ length: 6 }, (_, i) => (maxY / 5) * i);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="14">${title}</text>`,
    ...ticks.map(
      (t) =>
        `<line x1="${m.left}" x2="${width - m.right}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>` +
        `<text x="${m.left - 8}" y="${y(t) + 4}" text-anchor="end">${Math.round(t).toLocaleString("en")}</text>`,
    ),
    ...xs.map((w) => `<text x="${x(w)}" y="${height - m.bottom + 18}" text-anchor="middle">${w}</text>`),
    `<text x="${(m.left + width - m.right) / 2}" y="${height - 12}" text-anchor="middle">worker processes</text>`,
    `<text x="16" y="${height / 2}" transform="rotate(-90 16 ${height / 2})" text-anchor="middle">tasks per second</text>`,
  ];
  series.forEach((s, i) => {
    const path = points.map((p, j) => `${j === 0 ? "M" : "L"}${x(p.workers)},${y(p[s.key])}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    for (const p of points) {
      parts.push(`<circle cx="${x(p.workers)}" cy="${y(p[s.key])}" r="3.5" fill="${s.colour}"/>`);
      parts.push(`<text x="${x(p.workers)}" y="${y(p[s.key]) - 8}" text-anchor="middle" fill="${s.colour}">${Math.round(p[s.key]).toLocaleString("en")}</text>`);
    }
    const ly = m.top + 10 + i * 20;
    parts.push(`<rect x="${width - m.right + 12}" y="${ly - 9}" width="12" height="3" fill="${s.colour}"/>`);
    parts.push(`<text x="${width - m.right + 30}" y="${ly - 4}">${s.name}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [out, ...files] = process.argv.slice(2);
  if (!out || files.length === 0) {
    console.error("usage: npx tsx bench/chart.ts OUT.svg RESULTS.json...");
    process.exit(2);
  }
  writeFileSync(out, renderChart(readPoints(files), "No-op tasks end to end, 2-core machine (median of 3)"));
  console.log(`wrote ${out}`);
}

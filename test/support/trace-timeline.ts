import type { TraceSpan } from "./otlp-receiver.js";

/*
 * A trace as a waterfall, the way a trace viewer draws it: one row per span in tree order
 * (children under their parent, by start time), indented by depth, with a bar placed on the
 * trace's time axis. Pure HTML and inline SVG with no script, so a headless browser can
 * screenshot it (the README's trace picture is made this way from a real run).
 */

const ROW = 30;
const LABEL_WIDTH = 520;
const BAR_WIDTH = 640;
const KIND = ["unspecified", "internal", "server", "client", "producer", "consumer"];
/** Colors of the services, in order of first appearance. */
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948"];

function escape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
}

/** The spans of one trace in tree order, each with its depth. */
export function spanTree(spans: readonly TraceSpan[]): Array<{ span: TraceSpan; depth: number }> {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  for (const s of spans) {
    const parent = ids.has(s.parentSpanId) ? s.parentSpanId : "";
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const out: Array<{ span: TraceSpan; depth: number }> = [];
  const visit = (parent: string, depth: number) => {
    for (const s of [...(children.get(parent) ?? [])].sort((a, b) => a.startMs - b.startMs)) {
      out.push({ span: s, depth });
      visit(s.spanId, depth + 1);
    }
  };
  visit("", 0);
  return out;
}

/** What a row says about its span beyond the name: attempt and outcome, events. */
function details(span: TraceSpan): string {
  const a = span.attributes;
  const parts: string[] = [];
  if (a["taskqueue.attempt"] !== undefined) parts.push(`attempt ${a["taskqueue.attempt"]}`);
  if (a["taskqueue.outcome"] !== undefined) parts.push(String(a["taskqueue.outcome"]));
  if (span.events.length > 0) parts.push(`events: ${span.events.join(", ")}`);
  return parts.join(" · ");
}

/** An HTML page drawing `spans` (one trace) as a waterfall under `title`. */
export function renderTraceTimeline(spans: readonly TraceSpan[], title: string): string {
  const rows = spanTree(spans);
  const start = Math.min(...spans.map((s) => s.startMs));
  const end = Math.max(...spans.map((s) => s.endMs));
  const scale = BAR_WIDTH / Math.max(end - start, 1);
  const services = [...new Set(rows.map((r) => r.span.service))];
  const color = (service: string) => PALETTE[services.indexOf(service) % PALETTE.length]!;
  const height = rows.length * ROW + 40;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const x = LABEL_WIDTH + f * BAR_WIDTH;
    return `<line x1="${x}" y1="24" x2="${x}" y2="${height}" stroke="#ddd"/><text x="${x}" y="16" font-size="11" text-anchor="middle" fill="#666">${((end - start) * f).toFixed(1)} ms</text>`;
  });
  const bars = rows.map(({ span, depth }, i) => {
    const y = 30 + i * ROW;
    const x = LABEL_WIDTH + (span.startMs - start) * scale;
    const width = Math.max((span.endMs - span.startMs) * scale, 2);
    const stroke = span.status === 2 ? ` stroke="#d62728" stroke-width="2"` : "";
    const label = `${escape(span.name)} <tspan fill="#888">(${KIND[span.kind] ?? span.kind})</tspan>`;
    const info = details(span);
    return [
      `<text x="${8 + depth * 16}" y="${y + 12}" font-size="13" fill="#222">${label}</text>`,
      `<text x="${8 + depth * 16}" y="${y + 25}" font-size="10.5" fill="${color(span.service)}">${escape(span.service)}${info ? ` · ${escape(info)}` : ""}</text>`,
      `<rect x="${x}" y="${y + 4}" width="${width}" height="16" rx="2" fill="${color(span.service)}"${stroke}/>`,
      // The duration after the bar, or before it when the bar ends near the axis' end.
      x + width + 64 < LABEL_WIDTH + BAR_WIDTH + 70
        ? `<text x="${x + width + 4}" y="${y + 16}" font-size="11" fill="#444">${(span.endMs - span.startMs).toFixed(2)} ms</text>`
        : `<text x="${x - 4}" y="${y + 16}" font-size="11" fill="#444" text-anchor="end">${(span.endMs - span.startMs).toFixed(2)} ms</text>`,
    ].join("");
  });
  const legend = services.map((s) => `<span style="color:${color(s)}">■ ${escape(s)}</span>`).join(" &nbsp; ");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escape(title)}</title></head>
<body style="font-family: sans-serif; margin: 16px; background: #fff">
<h3 style="margin: 0 0 4px">${escape(title)}</h3>
<div style="font-size: 12px; color: #555; margin-bottom: 8px">trace ${escape(spans[0]?.traceId ?? "")} · ${rows.length} spans · ${(end - start).toFixed(1)} ms · ${legend}</div>
<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL_WIDTH + BAR_WIDTH + 70}" height="${height}">${ticks.join("")}${bars.join("")}</svg>
</body></html>`;
}

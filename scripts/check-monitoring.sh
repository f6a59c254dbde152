#!/usr/bin/env bash
# Validates the monitoring stack's files with promtool: deploy/prometheus/prometheus.yml (and
# the rule files it names), deploy/prometheus/alerts.yml, and every query of the Grafana
# dashboards (written into a scratch rule file, with the dashboard variables replaced, so
# that promtool parses them). promtool is installed with `go install` (about 7 minutes to
# build on a 2-core machine) only when it is not already on PATH or in $(go env GOPATH)/bin.
#
#   bash scripts/check-monitoring.sh            install promtool if missing, then check
#   bash scripts/check-monitoring.sh --install  only install promtool
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROMTOOL_VERSION=v0.316.0
promtool="$(command -v promtool || true)"
if [[ -z "$promtool" ]]; then
  gobin="$(go env GOBIN)"
  [[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
  promtool="$gobin/promtool"
  if [[ ! -x "$promtool" ]]; then
    echo "installing promtool $PROMTOOL_VERSION with go install (slow: builds Prometheus)"
    go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
  fi
fi
if [[ "${1:-}" == "--install" ]]; then
  exit 0
fi

"$promtool" check config deploy/prometheus/prometheus.yml
"$promtool" check rules deploy/prometheus/alerts.yml

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
node --input-type=module - "$scratch/dashboard-queries.yml" deploy/grafana/dashboards/*.json <<'JS'
import { readFileSync, writeFileSync } from "node:fs";
const [out, ...dashboards] = process.argv.slice(2);
const rules = [];
for (const file of dashboards) {
  const walk = (node) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node && typeof node === "object") {
      if (typeof node.expr === "string") {
        const expr = node.expr.replaceAll("$__rate_interval", "5m").replaceAll("$queue", ".*");
        rules.push(`      - record: dashboard:query:${rules.length}\n        expr: ${JSON.stringify(expr)}`);
      }
      Object.values(node).forEach(walk);
    }
  };
  walk(JSON.parse(readFileSync(file, "utf8")));
}
writeFileSync(out, `groups:\n  - name: dashboard-queries\n    rules:\n${rules.join("\n")}\n`);
console.log(`${rules.length} dashboard queries from ${dashboards.length} dashboard(s)`);
JS
"$promtool" check rules "$scratch/dashboard-queries.yml"

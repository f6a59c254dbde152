#!/usr/bin/env bash
# Validates the Kubernetes manifests (deploy/k8s): renders the base and every overlay with
# kustomize and checks each resource with kubeconform -strict against Kubernetes' own schemas
# and KEDA's ScaledObject schema (unknown fields, wrong types and missing required fields fail;
# no kind is skipped). test/k8s-manifests.test.ts checks what a schema cannot (probe paths and
# ports, grace periods, metric names) with the kustomize installed here.
#
# Installs, each only when missing (reused by later runs):
#   kustomize and kubeconform, with `go install` into $(go env GOBIN) or $(go env GOPATH)/bin;
#   the schemas, converted by scripts/k8s-schemas.mjs from two Go modules fetched with
#   `go mod download`: k8s.io/kubernetes (its api/openapi-spec/swagger.json) and
#   github.com/kedacore/keda/v2 (its config/crd), into ~/.cache/taskqueue/k8s-schemas.
# On a fresh machine this takes about 2 minutes (mostly building the two tools).
#
#   bash scripts/check-k8s.sh            install what is missing, render, validate
#   bash scripts/check-k8s.sh --install  only install (kustomize, kubeconform, schemas)
#   bash scripts/check-k8s.sh --tools    only build kustomize and kubeconform (no node_modules
#                                        needed: .ci/run builds them while npm installs)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

KUSTOMIZE_VERSION=v5.8.2 # v5.8.3 needs Go 1.27
KUBECONFORM_VERSION=v0.8.0
KUBERNETES_VERSION=v1.35.4
KEDA_VERSION=v2.21.0 # v2.21.1 needs Go 1.27

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
source scripts/go-tool.sh
go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION"
go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform github.com/yannh/kubeconform "$KUBECONFORM_VERSION"
if [[ "${1:-}" == "--tools" ]]; then
  exit 0
fi

# module_dir MODULE@VERSION: the module's files, downloaded once into Go's module cache.
module_dir() {
  go mod download -json "$1" | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{const m=JSON.parse(s);if(m.Error){console.error(m.Error);process.exit(1)}console.log(m.Dir)})'
}

# The schemas depend on the two versions and on the converter itself.
converter_hash="$(sha256sum scripts/k8s-schemas.mjs | cut -c1-12)"
schemas="${XDG_CACHE_HOME:-$HOME/.cache}/taskqueue/k8s-schemas/kubernetes-$KUBERNETES_VERSION-keda-$KEDA_VERSION-$converter_hash"
if [[ ! -f "$schemas/complete" ]]; then
  echo "writing the Kubernetes $KUBERNETES_VERSION and KEDA $KEDA_VERSION schemas into $schemas"
  kubernetes="$(module_dir "k8s.io/kubernetes@$KUBERNETES_VERSION")"
  keda="$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")"
  rm -rf "$schemas"
  node scripts/k8s-schemas.mjs --swagger "$kubernetes/api/openapi-spec/swagger.json" \
    --crd "$keda/config/crd/bases/keda.sh_scaledobjects.yaml" \
    --out "$schemas" --kubernetes-version "$KUBERNETES_VERSION"
  touch "$schemas/complete"
fi
if [[ "${1:-}" == "--install" ]]; then
  exit 0
fi

kubeconform=("$gobin/kubeconform" -strict -summary -schema-location "$schemas" -kubernetes-version "${KUBERNETES_VERSION#v}")

# The schemas must refuse what they exist to refuse: an unknown field, a wrong type, a
# ScaledObject without its target. (Guards against a conversion that accepts too much.)
refusals="$("${kubeconform[@]}" -output text - 2>&1 <<'YAML' || true
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken}
spec:
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec:
      terminationGracePeriodSecond: 30
      containers: [{name: c, image: i, ports: [{containerPort: "http"}]}]
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: broken}
spec:
  triggers: [{type: prometheus, metadata: {query: up}}]
YAML
)"
for expected in "'terminationGracePeriodSecond' not allowed" "containerPort': got string, want integer" "missing property 'scaleTargetRef'"; do
  if [[ "$refusals" != *"$expected"* ]]; then
    echo "check-k8s: the schemas in $schemas accept what they must refuse (no \"$expected\"):" >&2
    echo "$refusals" >&2
    exit 1
  fi
done

rendered="$(mktemp -d)"
trap 'rm -rf "$rendered"' EXIT
for dir in deploy/k8s/base deploy/k8s/overlays/*/; do
  dir="${dir%/}"
  echo "$dir:"
  "$gobin/kustomize" build "$dir" >"$rendered/$(basename "$dir").yaml"
  "${kubeconform[@]}" "$rendered/$(basename "$dir").yaml"
done

# The ScaledObjects' Prometheus queries must parse: promtool (installed by
# scripts/check-monitoring.sh, which .ci/run runs first) checks them as recording rules.
promtool="$(command -v promtool || true)"
[[ -n "$promtool" ]] || promtool="$gobin/promtool"
if [[ -x "$promtool" ]]; then
  node --input-type=module - "$rendered/scaledobject-queries.yml" "$rendered"/*.yaml <<'JS'
import { readFileSync, writeFileSync } from "node:fs";
import { loadAll } from "js-yaml";
const [out, ...files] = process.argv.slice(2);
const rules = [];
for (const file of files) {
  for (const object of loadAll(readFileSync(file, "utf8"))) {
    if (object?.kind !== "ScaledObject") continue;
    for (const trigger of object.spec.triggers.filter((t) => t.type === "prometheus")) {
      rules.push(`      - record: scaledobject:query:${rules.length}\n        expr: ${JSON.stringify(trigger.metadata.query)}`);
    }
  }
}
writeFileSync(out, `groups:\n  - name: scaledobject-queries\n    rules:\n${rules.join("\n")}\n`);
console.log(`${rules.length} ScaledObject queries`);
JS
  "$promtool" check rules "$rendered/scaledobject-queries.yml"
else
  echo "promtool is not installed (bash scripts/check-monitoring.sh installs it): the ScaledObject queries were not parsed"
fi

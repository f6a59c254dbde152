#!/usr/bin/env bash
# Installs Jaeger v2 (one `jaeger` binary: OTLP receiver, in-memory trace storage, query API),
# the trace backend of the end-to-end tracing tests (test/support/jaeger.ts), into
# $(go env GOBIN) or $(go env GOPATH)/bin. Safe to run again: a binary already built from the
# pinned module version is reused.
#
# `go install github.com/jaegertracing/jaeger/cmd/jaeger@…` is refused (Jaeger's go.mod has a
# replace directive), so it is built in a scratch module that requires it as a tool, with the
# same replace directive. Slow the first time: on a 2-core machine shared with other work (load
# average 8–12) it took 10 min 46 s with an empty build cache, 7 min 39 s of it CPU time (6 min
# 24 s user, 1 min 15 s system), almost all compiling; the module download adds about 30 s.
#
# The Go module v1.75.0 is Jaeger v2.12.0 (the project tags both from one commit). A binary
# built this way has no UI assets (the UI is a separate JavaScript build): its query API
# (/api/traces, /api/v3/…) works, and its web page at / is a placeholder.
set -euo pipefail

JAEGER_MODULE=github.com/jaegertracing/jaeger
JAEGER_MODULE_VERSION=v1.75.0

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"
bin="$gobin/jaeger"

if [[ -x "$bin" ]]; then
  have="$(go version -m "$bin" 2>/dev/null | awk -v m="$JAEGER_MODULE" '($1 == "dep" || $1 == "mod") && $2 == m { print $3 }')"
  if [[ "$have" == "$JAEGER_MODULE_VERSION" ]]; then
    echo "jaeger ($JAEGER_MODULE $JAEGER_MODULE_VERSION) is installed: $bin"
    exit 0
  fi
fi

echo "building jaeger from $JAEGER_MODULE $JAEGER_MODULE_VERSION (slow: 5–11 minutes on 2 cores)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
go mod init jaeger-build >/dev/null 2>&1
replace="$(go mod download -json "$JAEGER_MODULE@$JAEGER_MODULE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
# Jaeger's own replace directives, so that the build uses what its releases use.
grep '^replace ' "$replace" >>go.mod || true
# (go get lists every module it adds: ~300 lines, kept out of the log unless it fails.)
if ! GOFLAGS=-mod=mod go get -tool "$JAEGER_MODULE/cmd/jaeger@$JAEGER_MODULE_VERSION" >get.log 2>&1; then
  cat get.log >&2
  exit 1
fi
mkdir -p "$gobin"
GOFLAGS=-mod=mod go build -o "$bin.partial" "$JAEGER_MODULE/cmd/jaeger"
mv "$bin.partial" "$bin"
echo "installed $bin"

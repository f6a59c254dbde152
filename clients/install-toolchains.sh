#!/usr/bin/env bash
# Installs the pinned toolchains of the Go and Python clients; safe to run again (it only
# installs what is missing or at another version). Needs Go (1.26+) and Python (3.10+) with pip.
#
#   Go tools, with `go install` into $(go env GOBIN) or $(go env GOPATH)/bin:
#     protoc-gen-go, protoc-gen-go-grpc   code generation (buf.gen.yaml runs them through
#                                         clients/go/tools/gopath-plugin.sh)
#     grpcurl                             the grpcurl smoke test (test/grpcurl.test.ts)
#   Go module dependencies of clients/go, downloaded and compiled once (warms the build cache
#   the cross-language tests use).
#   Python: the client package, editable, with its pinned dependencies, grpcio-tools and the
#   OpenTelemetry API, SDK and OTLP/HTTP exporter (`pip install -e clients/python[dev,otel]`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPCURL_VERSION=v1.9.3

# Go is often installed outside PATH (/usr/local/go).
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "install-toolchains: go is not installed (https://go.dev/doc/install)" >&2
  exit 1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "install-toolchains: python3 is not installed" >&2
  exit 1
fi

source scripts/go-tool.sh
go_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go google.golang.org/protobuf "$PROTOC_GEN_GO_VERSION"
go_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
go_tool grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl github.com/fullstorydev/grpcurl "$GRPCURL_VERSION"

echo "building clients/go (downloads its modules once, then warms the build cache)"
(cd clients/go && go mod download && go build ./... && go vet ./...)

# The Python client and its pinned dependencies (see clients/python/pyproject.toml).
if python3 - <<'PY' 2>/dev/null
import importlib.metadata as md, pathlib, sys
import taskqueue_client
want = {"grpcio": "1.85.1", "grpcio-tools": "1.85.1", "protobuf": "7.36.2",
        "opentelemetry-api": "1.45.2", "opentelemetry-sdk": "1.45.2",
        "opentelemetry-exporter-otlp-proto-http": "1.45.2"}
ok = all(md.version(name) == version for name, version in want.items())
here = pathlib.Path("clients/python/src/taskqueue_client").resolve()
sys.exit(0 if ok and pathlib.Path(taskqueue_client.__file__).resolve().parent == here else 1)
PY
then
  echo "taskqueue-client (editable) and its pinned dependencies are installed"
else
  echo "installing clients/python (editable) with grpcio, protobuf, grpcio-tools and OpenTelemetry"
  pip=(python3 -m pip install --disable-pip-version-check --no-input -q -e "clients/python[dev,otel]")
  if ! "${pip[@]}"; then
    # Distributions that mark their Python as externally managed (PEP 668).
    "${pip[@]}" --user --break-system-packages
  fi
fi

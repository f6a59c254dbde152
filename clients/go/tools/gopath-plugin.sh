#!/usr/bin/env bash
# Runs a protoc plugin that clients/install-toolchains.sh installed with `go install` (pinned
# versions) into $(go env GOBIN) or $(go env GOPATH)/bin, whether or not that folder is on PATH.
# buf.gen.yaml uses it as a local plugin: `local: [bash, clients/go/tools/gopath-plugin.sh, NAME]`.
set -euo pipefail
name="${1:?usage: gopath-plugin.sh PLUGIN [ARGS...]}"
restore="buf cleaned the generated folders before this plugin failed; git checkout -- gen clients/go/gen clients/python/src/taskqueue_client/gen restores them"
shift
if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
  PATH="/usr/local/go/bin:$PATH"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "gopath-plugin.sh: go is not on PATH; install Go, run bash clients/install-toolchains.sh, then npm run gen again ($restore)" >&2
  exit 1
fi
bin="$(go env GOBIN)"
[[ -n "$bin" ]] || bin="$(go env GOPATH)/bin"
if [[ ! -x "$bin/$name" ]]; then
  echo "gopath-plugin.sh: $name is not installed in $bin; run bash clients/install-toolchains.sh, then npm run gen again ($restore)" >&2
  exit 1
fi
exec "$bin/$name" "$@"

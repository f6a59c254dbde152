# Sourced by the install scripts (clients/install-toolchains.sh, scripts/check-k8s.sh): sets
# `gobin` to $(go env GOBIN) or $(go env GOPATH)/bin and defines go_tool.

gobin="$(go env GOBIN)"
[[ -n "$gobin" ]] || gobin="$(go env GOPATH)/bin"

# go_tool NAME PACKAGE MODULE VERSION: installs PACKAGE@VERSION unless NAME in $gobin was
# built from MODULE at VERSION.
go_tool() {
  local name="$1" package="$2" module="$3" version="$4" have=""
  if [[ -x "$gobin/$name" ]]; then
    have="$(go version -m "$gobin/$name" 2>/dev/null | awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }')"
  fi
  if [[ "$have" == "$version" ]]; then
    echo "$name $version is installed"
  else
    echo "installing $name $version"
    GOFLAGS=-mod=mod go install "$package@$version"
  fi
}

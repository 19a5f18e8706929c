#!/usr/bin/env bash
# Build a real helm from its Go module, for the chart-rendering tests and for users
# without helm on PATH.
#
#   scripts/build-helm.sh          # build if missing; the last line on stdout is the binary's path
#
# Result: ${K8SH_CACHE:-$HOME/.cache/pytest-k8shardening}/helm/v3.22.0/helm
# A cold build takes about 3 minutes on 2 cores; a cached binary is reused and needs no Go.
# `go install helm.sh/helm/v3/cmd/helm@VERSION` is refused (helm's go.mod has replace
# directives), so the binary is built from a throwaway module that requires helm.
set -euo pipefail

HELM_VERSION="v3.22.0"
log() { printf '[build-helm] %s\n' "$*" >&2; }
die() { printf '[build-helm] ERROR: %s\n' "$*" >&2; exit 1; }

cache_root="${K8SH_CACHE:-${HOME:?HOME is not set and K8SH_CACHE is empty}/.cache/pytest-k8shardening}"
out_dir="$cache_root/helm/$HELM_VERSION"
bin="$out_dir/helm"

if [[ -x "$bin" ]]; then
    log "cached: $bin"
    echo "$bin"
    exit 0
fi

GO_CMD="${GO:-}"
if [[ -z "$GO_CMD" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO_CMD="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO_CMD=/usr/local/go/bin/go
    else
        die "the Go toolchain ('go') is not installed or not on PATH; it is needed to build helm (or put a helm binary on PATH)"
    fi
fi
mkdir -p "$out_dir" || die "cannot create $out_dir"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$out_dir/.build.lock"
    flock -n 9 || { log "another build holds $out_dir/.build.lock; waiting for it"; flock 9; }
    if [[ -x "$bin" ]]; then echo "$bin"; exit 0; fi
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "building helm $HELM_VERSION from its Go module with $("$GO_CMD" version) (about 3 minutes the first time)"
cd "$work"
"$GO_CMD" mod init k8sh-helm-build >/dev/null 2>&1
"$GO_CMD" get -tool "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
GOBIN="$work/bin" "$GO_CMD" install helm.sh/helm/v3/cmd/helm >&2
install -m 0755 "$work/bin/helm" "$bin.tmp"
mv "$bin.tmp" "$bin"
"$bin" version --short >&2
log "built: $bin"
echo "$bin"

#!/usr/bin/env bash
# Build kubectl v1.36.3 from the k8s.io/kubernetes Go module, for bench/live_read.py.
#
#   bench/build-kubectl.sh          # build if missing; the last stdout line is the binary's path
#
# Result: ${K8SH_CACHE:-$HOME/.cache/pytest-k8shardening}/kubectl/v1.36.3/kubectl
#
# Same recipe as scripts/build-control-plane.sh: `go install k8s.io/kubernetes/cmd/kubectl@v1.36.3`
# is refused (the kubernetes go.mod replaces every k8s.io/* staging module with ./staging/...), so
# a throwaway module requires k8s.io/kubernetes and maps each staging module to its published
# v0.36.3. The published k8s.io/kubectl module has no main package (only pkg/cmd), which is why
# the command comes from k8s.io/kubernetes/cmd/kubectl. With the module cache already holding
# k8s.io/kubernetes (from the control-plane build) only a few modules (cli-runtime and friends)
# are downloaded; compiling takes a few minutes on 2 cores.
#
# Environment:
#   K8SH_CACHE   cache root (default ~/.cache/pytest-k8shardening)
#   GO           go command (default: `go` on PATH, else /usr/local/go/bin/go)
#   NICE         niceness for the compile (default 10; the machine may be benchmarking)
set -euo pipefail

KUBE_VERSION="v1.36.3"

log() { printf '[build-kubectl] %s\n' "$*" >&2; }
die() { printf '[build-kubectl] ERROR: %s\n' "$*" >&2; exit 1; }

CACHE_ROOT="${K8SH_CACHE:-$HOME/.cache/pytest-k8shardening}"
BIN_DIR="$CACHE_ROOT/kubectl/$KUBE_VERSION"
BIN="$BIN_DIR/kubectl"

if [[ -x "$BIN" ]]; then
    log "cached: $BIN"
    echo "$BIN"
    exit 0
fi

GO_CMD="${GO:-}"
if [[ -z "$GO_CMD" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO_CMD="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO_CMD=/usr/local/go/bin/go
    else
        die "the Go toolchain ('go') is not installed or not on PATH"
    fi
fi
"$GO_CMD" version >/dev/null 2>&1 || die "'$GO_CMD version' failed; is the Go toolchain working?"
log "using $("$GO_CMD" version)"

mkdir -p "$BIN_DIR" || die "cannot create $BIN_DIR"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$BIN_DIR/.build.lock"
    if ! flock -n 9; then
        log "another build holds $BIN_DIR/.build.lock; waiting for it"
        flock 9
    fi
    if [[ -x "$BIN" ]]; then
        log "built by the other process: $BIN"
        echo "$BIN"
        exit 0
    fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/k8sh-kubectl.XXXXXX")"
OUT="$BIN_DIR/.kubectl.tmp.$$"
cleanup() { rm -f -- "$OUT"; rm -rf -- "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

export GOWORK=off
export CGO_ENABLED=0
GO_LANG_VERSION="$("$GO_CMD" env GOVERSION)"
GO_LANG_VERSION="${GO_LANG_VERSION#go}"
GO_LANG_VERSION="${GO_LANG_VERSION%%[!0-9.]*}"
NICE_LEVEL="${NICE:-10}"

run_go() {
    local what="$1"; shift
    if ! nice -n "$NICE_LEVEL" "$GO_CMD" "$@" >&2; then
        die "$what failed: go $*"
    fi
}

start=$SECONDS
staging_version="v0.${KUBE_VERSION#v1.}"   # v1.36.3 -> v0.36.3
cd "$WORK"
gomod="$("$GO_CMD" list -m -f '{{.GoMod}}' "k8s.io/kubernetes@$KUBE_VERSION")" \
    || die "cannot fetch k8s.io/kubernetes@$KUBE_VERSION from the module proxy (GOPROXY=$("$GO_CMD" env GOPROXY))"
staging="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod" | sort -u)"
[[ -n "$staging" ]] || die "found no '=> ./staging/...' replaces in $gomod"
{
    echo "module k8sh.local/build/kubectl"
    echo
    echo "go $GO_LANG_VERSION"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
} > go.mod
log "mapped $(wc -w <<<"$staging") staging modules to $staging_version; resolving dependencies"
run_go "resolving kubectl dependencies" get "k8s.io/kubernetes/cmd/kubectl@$KUBE_VERSION"
log "compiling kubectl (niceness $NICE_LEVEL)"
v="k8s.io/component-base/version"
cv="k8s.io/client-go/pkg/version"
minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
date_now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
ldflags="-s -w"
for p in "$v" "$cv"; do
    ldflags+=" -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=$date_now"
done
run_go "building kubectl" build -trimpath -ldflags "$ldflags" -o "$OUT" k8s.io/kubernetes/cmd/kubectl
got="$("$OUT" version --client 2>&1)" || die "built kubectl does not run: $got"
[[ "$got" == *"$KUBE_VERSION"* ]] || die "built kubectl reports '$got', expected $KUBE_VERSION"
mv -f -- "$OUT" "$BIN"
log "done in $(( SECONDS - start ))s: $(head -n 1 <<<"$got")"
echo "$BIN"

#!/usr/bin/env bash
# Build a real kube-apiserver and etcd from their Go modules, for the live tests.
#
#   scripts/build-control-plane.sh            # build if missing, print the bin dir
#
# Result: ${K8SH_CACHE:-$HOME/.cache/pytest-k8shardening}/control-plane/v1.36.3/{kube-apiserver,etcd}
# Already-built binaries are reused; a cold build takes ~6-7 minutes on 2 cores
# (most of it downloading ~0.7 GB of modules and compiling kube-apiserver).
# If KUBEBUILDER_ASSETS already holds both binaries, that directory is used instead.
#
# Progress goes to stderr; the last line on stdout is the directory holding both binaries.
#
# Why not `go install k8s.io/kubernetes/cmd/kube-apiserver@v1.36.3`: the kubernetes go.mod
# replaces every k8s.io/* staging module with ./staging/..., and `go install pkg@version`
# refuses modules with replace directives. A throwaway module that requires k8s.io/kubernetes
# and maps each staging module to its published v0.Y.Z builds fine. etcd's server module has
# the same pattern; from a throwaway module its (versioned) requirements are used as they are.
#
# Environment:
#   K8SH_CACHE          cache root (default ~/.cache/pytest-k8shardening)
#   KUBEBUILDER_ASSETS  use this dir if it has both kube-apiserver and etcd
#   GO                  go command to use (default: `go` on PATH, else /usr/local/go/bin/go)
# Go's own build and module caches (GOCACHE, GOMODCACHE) are left at their defaults.
set -euo pipefail

KUBE_VERSION="v1.36.3"
ETCD_VERSION="v3.6.16"

log() { printf '[build-control-plane] %s\n' "$*" >&2; }
die() { printf '[build-control-plane] ERROR: %s\n' "$*" >&2; exit 1; }

has_both() { [[ -x "$1/kube-apiserver" && -x "$1/etcd" ]]; }

# 1. Binaries supplied from outside (envtest layout).
if [[ -n "${KUBEBUILDER_ASSETS:-}" ]] && has_both "$KUBEBUILDER_ASSETS"; then
    log "using KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS"
    (cd "$KUBEBUILDER_ASSETS" && pwd -P)
    exit 0
fi

CACHE_ROOT="${K8SH_CACHE:-$HOME/.cache/pytest-k8shardening}"
BIN_DIR="$CACHE_ROOT/control-plane/$KUBE_VERSION"

# 2. Already built.
if has_both "$BIN_DIR"; then
    log "cached: $BIN_DIR"
    echo "$BIN_DIR"
    exit 0
fi

# 3. Build what is missing.
GO_CMD="${GO:-}"
if [[ -z "$GO_CMD" ]]; then
    if command -v go >/dev/null 2>&1; then
        GO_CMD="$(command -v go)"
    elif [[ -x /usr/local/go/bin/go ]]; then
        GO_CMD=/usr/local/go/bin/go
    else
        die "the Go toolchain ('go') is not installed or not on PATH; it is needed to build kube-apiserver and etcd (or set KUBEBUILDER_ASSETS to a dir holding both binaries)"
    fi
fi
"$GO_CMD" version >/dev/null 2>&1 || die "'$GO_CMD version' failed; is the Go toolchain working?"
log "using $("$GO_CMD" version)"

mkdir -p "$BIN_DIR" || die "cannot create $BIN_DIR"

# Serialise concurrent builds (e.g. parallel CI jobs) on the same cache dir.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$BIN_DIR/.build.lock"
    if ! flock -n 9; then
        log "another build holds $BIN_DIR/.build.lock; waiting for it"
        flock 9
    fi
    if has_both "$BIN_DIR"; then
        log "built by the other process: $BIN_DIR"
        echo "$BIN_DIR"
        exit 0
    fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/k8sh-build.XXXXXX")"
TMP_OUT=()
cleanup() {
    local f
    for f in "${TMP_OUT[@]+"${TMP_OUT[@]}"}"; do rm -f -- "$f"; done
    rm -rf -- "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Settings for the throwaway modules: no workspace, static binaries.
export GOWORK=off
export CGO_ENABLED=0
GO_LANG_VERSION="$("$GO_CMD" env GOVERSION)"   # e.g. go1.26.8
GO_LANG_VERSION="${GO_LANG_VERSION#go}"
GO_LANG_VERSION="${GO_LANG_VERSION%%[!0-9.]*}"  # drop suffixes like "-rc1" or " X:..."

# run_go <what> <args...>: run go with its output on stderr, fail with a clear message.
run_go() {
    local what="$1"; shift
    if ! "$GO_CMD" "$@" >&2; then
        die "$what failed: go $*"
    fi
}

elapsed() { local s=$(( SECONDS - $1 )); printf '%dm%02ds' $(( s / 60 )) $(( s % 60 )); }

build_kube_apiserver() {
    local out="$BIN_DIR/.kube-apiserver.tmp.$$" mod="$WORK/kube-apiserver" start=$SECONDS
    local staging_version="v0.${KUBE_VERSION#v1.}"   # v1.36.3 -> v0.36.3
    log "kube-apiserver $KUBE_VERSION: resolving k8s.io/kubernetes go.mod"
    mkdir -p "$mod"
    cd "$mod"
    # Read the staging replaces off the published go.mod (only the .mod file is fetched here).
    local gomod
    gomod="$("$GO_CMD" list -m -f '{{.GoMod}}' "k8s.io/kubernetes@$KUBE_VERSION")" \
        || die "cannot fetch k8s.io/kubernetes@$KUBE_VERSION from the module proxy (GOPROXY=$("$GO_CMD" env GOPROXY))"
    local staging
    staging="$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod" | sort -u)"
    [[ -n "$staging" ]] || die "found no '=> ./staging/...' replaces in $gomod"
    {
        echo "module k8sh.local/build/kube-apiserver"
        echo
        echo "go $GO_LANG_VERSION"
        echo
        echo "require k8s.io/kubernetes $KUBE_VERSION"
        echo
        echo "replace ("
        local m
        for m in $staging; do echo "	$m => $m $staging_version"; done
        echo ")"
    } > go.mod
    log "kube-apiserver: mapped $(wc -w <<<"$staging") staging modules to $staging_version; downloading modules (cold: ~0.7 GB)"
    run_go "resolving kube-apiserver dependencies" get "k8s.io/kubernetes/cmd/kube-apiserver@$KUBE_VERSION"
    log "kube-apiserver: compiling (cold: ~5 min on 2 cores)"
    local v="k8s.io/component-base/version"
    local minor="${KUBE_VERSION#v1.}"; minor="${minor%%.*}"
    local ldflags="-s -w -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    TMP_OUT+=("$out")
    run_go "building kube-apiserver" build -trimpath -ldflags "$ldflags" -o "$out" k8s.io/kubernetes/cmd/kube-apiserver
    local got
    got="$("$out" --version 2>&1)" || die "built kube-apiserver does not run: $got"
    [[ "$got" == *"$KUBE_VERSION"* ]] || die "built kube-apiserver reports '$got', expected $KUBE_VERSION"
    mv -f -- "$out" "$BIN_DIR/kube-apiserver"
    log "kube-apiserver: done in $(elapsed "$start") ($got)"
}

build_etcd() {
    local out="$BIN_DIR/.etcd.tmp.$$" mod="$WORK/etcd" start=$SECONDS
    log "etcd $ETCD_VERSION: downloading modules"
    mkdir -p "$mod"
    cd "$mod"
    printf 'module k8sh.local/build/etcd\n\ngo %s\n\nrequire go.etcd.io/etcd/server/v3 %s\n' \
        "$GO_LANG_VERSION" "$ETCD_VERSION" > go.mod
    run_go "resolving etcd dependencies" get "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    log "etcd: compiling (~1 min)"
    TMP_OUT+=("$out")
    run_go "building etcd" build -trimpath -ldflags "-s -w" -o "$out" go.etcd.io/etcd/server/v3
    local got
    got="$("$out" --version 2>&1 | head -n 1)" || die "built etcd does not run: $got"
    [[ "$got" == *"${ETCD_VERSION#v}"* ]] || die "built etcd reports '$got', expected $ETCD_VERSION"
    mv -f -- "$out" "$BIN_DIR/etcd"
    log "etcd: done in $(elapsed "$start") ($got)"
}

log "building into $BIN_DIR"
[[ -x "$BIN_DIR/kube-apiserver" ]] || build_kube_apiserver
[[ -x "$BIN_DIR/etcd" ]] || build_etcd
has_both "$BIN_DIR" || die "build finished but $BIN_DIR lacks kube-apiserver or etcd"
log "control plane ready in $BIN_DIR"
echo "$BIN_DIR"

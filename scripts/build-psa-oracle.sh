#!/usr/bin/env bash
# Build the Pod Security Standards oracle (tests/psa_oracle, a small Go program
# around k8s.io/pod-security-admission v0.36.3) into a per-user cache and print
# the binary's path as the last line of stdout.
#
#   ${K8SH_CACHE:-$HOME/.cache/pytest-k8shardening}/psa-oracle/v0.36.3/psa-oracle
#
# The binary is rebuilt only when it is missing or when the sources changed: the
# cache is keyed on a SHA-256 of tests/psa_oracle/{main.go,go.mod,go.sum}, stored
# next to the binary as psa-oracle.key. A cache hit needs no Go toolchain.
# Building needs Go >= 1.26 and the modules either in the module cache or
# reachable through GOPROXY; the binary itself needs no network.
#
# Works from any current directory. Build output goes to stderr.
set -euo pipefail

PSA_VERSION="v0.36.3"
script_dir="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)"
src_dir="$(cd -- "${script_dir}/../tests/psa_oracle" && pwd)"
cache_root="${K8SH_CACHE:-${HOME:?HOME is not set and K8SH_CACHE is empty}/.cache/pytest-k8shardening}"
out_dir="${cache_root}/psa-oracle/${PSA_VERSION}"
bin="${out_dir}/psa-oracle"
key_file="${bin}.key"

die() {
    echo "build-psa-oracle: error: $*" >&2
    exit 1
}

for f in main.go go.mod go.sum; do
    [[ -f "${src_dir}/${f}" ]] || die "missing source file ${src_dir}/${f}"
done

sha256_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$@"
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$@"
    else
        die "neither sha256sum nor shasum is available"
    fi
}

# Hash the file contents (names are fixed; cd so absolute paths do not leak in).
key="$(cd -- "${src_dir}" && sha256_of main.go go.mod go.sum | sha256_of | cut -d' ' -f1)"

cache_hit() {
    [[ -x "${bin}" && -f "${key_file}" && "$(cat -- "${key_file}")" == "${key}" ]]
}

if cache_hit; then
    echo "build-psa-oracle: cache hit (${key:0:12})" >&2
    echo "${bin}"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    die "the Go toolchain ('go') was not found on PATH; Go >= 1.26 is needed to build the PSA oracle (k8s.io/pod-security-admission ${PSA_VERSION})"
fi

mkdir -p -- "${out_dir}"

build() {
    # Re-check under the lock: a concurrent run may have built it meanwhile.
    if cache_hit; then
        echo "build-psa-oracle: built concurrently by another process" >&2
        return 0
    fi
    local go_minor
    go_minor="$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null | sed -nE 's/^go1\.([0-9]+).*/\1/p')"
    if [[ -n "${go_minor}" && "${go_minor}" -lt 26 ]]; then
        die "Go >= 1.26 is required to build the PSA oracle, found $(GOTOOLCHAIN=local go env GOVERSION)"
    fi
    local tmp
    tmp="$(mktemp "${out_dir}/.psa-oracle.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -f -- '${tmp}'" EXIT
    echo "build-psa-oracle: building ${bin} (key ${key:0:12}) ..." >&2
    local start=${SECONDS}
    if ! (
        cd -- "${src_dir}"
        # Pin the build environment: no go.work from above, no vendor/mod flags
        # from the user's GOFLAGS, no toolchain download, no cgo, no VCS stamping
        # (the repository may have no commits yet).
        GOWORK=off GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0 \
            go build -trimpath -buildvcs=false -o "${tmp}" .
    ) >&2; then
        die "go build failed in ${src_dir} (if offline, the modules must already be in the module cache: run 'go mod download' there with network)"
    fi
    chmod 0755 -- "${tmp}"
    mv -f -- "${tmp}" "${bin}"
    trap - EXIT
    printf '%s\n' "${key}" >"${key_file}.tmp"
    mv -f -- "${key_file}.tmp" "${key_file}"
    echo "build-psa-oracle: built in $((SECONDS - start))s" >&2
}

if command -v flock >/dev/null 2>&1; then
    exec 9>"${out_dir}/.lock"
    flock 9
    build
    exec 9>&-
else
    build
fi

cache_hit || die "build finished but ${bin} is not usable"
echo "${bin}"

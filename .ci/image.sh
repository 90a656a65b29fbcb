#!/usr/bin/env bash
# Build the project's image with Debian's podman, without a registry and without a daemon:
#   .ci/image.sh          the stand-in base (if needed), then the Dockerfile, unchanged, as erp-sync-operator:dev
#   .ci/image.sh base     only the stand-in base
#
# No container registry is reachable here, so the base the Dockerfile pins (python:3.11.17-slim-bookworm)
# cannot be pulled. A stand-in is built from Debian's packages instead: debootstrap bookworm (minbase) with
# Debian's Python 3.11, trimmed as the slim images are (no docs, man pages or locales), imported under the
# exact reference the Dockerfile names. A real build (docker build, a CI with a registry) uses the real base;
# the stand-in exists only so that this Dockerfile is built and its image run by the tests on these machines.
#
# The stand-in's root filesystem is cached outside the clone as a tarball keyed by this script and the host's
# CA bundle, and imported into podman's storage when podman does not have it (a fresh machine).
# The stand-in trusts the host's CA bundle and points pip at it (/etc/pip.conf): these machines reach PyPI
# through an intercepting proxy whose CA only the host's bundle holds. That file is part of the stand-in
# only, never of the Dockerfile, so an image built from the real base does not carry it.
#
# podman needs (measured, docs/image.md): --isolation=chroot for RUN steps and, to run, --runtime runc with
# ulimits within the machine's hard limits (crun fails on cgroups here).
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${ERPSYNC_IMAGE:-localhost/erp-sync-operator:dev}"

missing=()
for tool in podman debootstrap runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "image.sh: installing ${missing[*]} (Debian packages podman, debootstrap, runc)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman debootstrap runc >/dev/null
fi

base_image="$(sed -n 's/^ARG PYTHON_IMAGE=//p' Dockerfile)"
[ -n "$base_image" ] || { echo "image.sh: no 'ARG PYTHON_IMAGE=' line in the Dockerfile" >&2; exit 1; }
# A short name means Docker Hub's library, as docker reads it; podman must find it under that full name.
case "$base_image" in
    */*) base_ref="docker.io/$base_image" ;;
    *) base_ref="docker.io/library/$base_image" ;;
esac

key="$(cat .ci/image.sh /etc/ssl/certs/ca-certificates.crt | sha256sum | cut -c1-16)"
CACHE="${ERPSYNC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/erp-sync-operator}/image"
tarball="$CACHE/standin-$key.tar"
started=$SECONDS
step() { echo "[image.sh $((SECONDS - started))s] $*"; }

build_rootfs() {
    local rootfs="$CACHE/rootfs.partial"
    rm -rf "$rootfs"
    mkdir -p "$CACHE"
    step "debootstrap bookworm (minbase) into $rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$CACHE/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE/debootstrap.log" >&2; exit 1; }
    # As the slim images do: dpkg leaves out documentation, manual pages and translations.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    step "Debian's Python 3.11 (python3, python3-venv, python-is-python3) and CA certificates"
    chroot "$rootfs" apt-get update -qq
    chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        python3 python3-venv python-is-python3 ca-certificates >/dev/null
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/*
    # The host's bundle (Debian's, plus the proxy's CA), and pip told to use it: see the header.
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
    : >"$rootfs/etc/resolv.conf"
    step "archiving the stand-in's root filesystem"
    tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
}

stand_in_current() {
    [ "$(podman image inspect --format '{{index .Labels "io.erp-sync-operator.stand-in"}}' "$base_ref" 2>/dev/null)" = "$key" ]
}

if stand_in_current; then
    step "stand-in base $base_ref: current in podman's storage"
else
    [ -f "$tarball" ] || build_rootfs
    step "importing the stand-in as $base_ref"
    podman import --quiet \
        --change "LABEL io.erp-sync-operator.stand-in=$key" \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8" \
        --change 'CMD ["python3"]' \
        "$tarball" "$base_ref" >/dev/null
    find "$CACHE" -maxdepth 1 -name 'standin-*.tar' ! -name "standin-$key.tar" -delete
fi
[ "${1:-}" = base ] && exit 0

step "podman build --isolation=chroot -t $IMAGE ."
podman build --quiet --isolation=chroot --pull=never -t "$IMAGE" . >/dev/null
step "built $IMAGE: $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"

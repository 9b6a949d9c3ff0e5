#!/usr/bin/env bash
# build-node-image.sh IMAGE SUITE MIRROR RECIPE
# A Debian node with systemd as PID 1, made with debootstrap from Debian's packages only,
# imported into the local Docker engine. Called by ensure_node_image (lab/lib.sh).
set -euo pipefail
image=$1 suite=$2 mirror=$3 recipe=$4
here=$(cd "$(dirname "$0")" && pwd)
pkgs=$(grep -v '^#' "$here/node-packages.txt" | xargs | tr ' ' ',')
root=$(mktemp -d /var/tmp/ovr-node-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$mirror"
# A container, not a host: no consoles or first-boot wizard; no hostname or machine id baked in.
chroot "$root" systemctl mask getty@tty1.service console-getty.service systemd-firstboot.service
rm -f "$root/etc/hostname"
: >"$root/etc/machine-id"
chroot "$root" apt-get clean
# The package lists stay: apt (and cache_valid_time) work in a fresh node at once.
tar -C "$root" -c . | docker import \
  -c 'CMD ["/lib/systemd/systemd"]' -c 'ENV container=docker' \
  -c "LABEL ovr.recipe=$recipe" - "$image"

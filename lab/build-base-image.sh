#!/usr/bin/env bash
# build-base-image.sh IMAGE SUITE MIRROR RECIPE
# The base of every service image (lab/images/*): a plain Debian minbase (no systemd, no docs),
# made with debootstrap from Debian's packages only and imported into the local Docker engine,
# the same way build-node-image.sh makes the node image. Called by ensure_base_image (lab/lib.sh).
set -euo pipefail
image=$1 suite=$2 mirror=$3 recipe=$4
root=$(mktemp -d /var/tmp/ovr-base-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase --include=ca-certificates "$suite" "$root" "$mirror"
# Service images stay small: no recommends, no docs/man pages/locales, no apt caches.
cat >"$root/etc/apt/apt.conf.d/90ovr-container" <<'CONF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
CONF
cat >"$root/etc/dpkg/dpkg.cfg.d/90ovr-nodoc" <<'CONF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CONF
rm -rf "$root"/usr/share/doc/*/[!c]* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
rm -f "$root/etc/hostname"
: >"$root/etc/machine-id"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/log/*.log
tar -C "$root" -c . | docker import \
  -c 'CMD ["/bin/bash"]' -c 'ENV DEBIAN_FRONTEND=noninteractive' \
  -c "LABEL ovr.recipe=$recipe" - "$image"

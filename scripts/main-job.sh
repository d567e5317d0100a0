#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine (as root): install and build, then convert
# this machine's newest initramfs to an EROFS image, let the kernel mount it, check it with our
# fsck and erofs-utils, and benchmark against the reference pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

initrd=$(ls /boot/initrd.img-* 2>/dev/null | grep -v '\.full$' | sort -V | tail -n1)
[ -n "$initrd" ] || { echo "main-job: no /boot/initrd.img-* found" >&2; exit 1; }
out=$(mktemp -d)
mnt=$(mktemp -d)
cleanup() { umount "$mnt" 2>/dev/null || true; rm -rf "$out" "$mnt"; }
trap cleanup EXIT

iofs() { node dist/src/cli/bin.js "$@"; }
echo "== convert $initrd"
iofs convert "$initrd" -o "$out/initoverlayfs.img"
echo "== inspect"
iofs inspect "$out/initoverlayfs.img"
echo "== fsck (ours, then erofs-utils)"
iofs fsck "$out/initoverlayfs.img"
fsck.erofs "$out/initoverlayfs.img"
echo "== the kernel mounts it"
mount -t erofs -o loop,ro "$out/initoverlayfs.img" "$mnt"
echo "$(find "$mnt" | wc -l) paths visible; /init: $(head -c 40 "$mnt/init" | head -n1)"
umount "$mnt"
echo "== benchmark against zstd -dc | cpio -idm && mkfs.erofs"
node dist/bench/convert.js "$initrd" --runs 3

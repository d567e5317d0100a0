#!/usr/bin/env bash
# The main job, end to end on a fresh Debian machine (as root): install and build; build the
# initoverlayfs pair (EROFS image + mini initramfs) from this machine's newest Debian kernel and
# initramfs; check the image (kernel mount, our fsck, erofs-utils); then boot the stock
# initramfs and the pair alternately in QEMU and print the comparison.
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
kver=${initrd#/boot/initrd.img-}
echo "== build the pair for $kver from $initrd"
iofs build --initramfs "$initrd" --kver "$kver" --boot UUID=5a1e0b7e-0000-4000-8000-b00770000001 -o "$out"
echo "== convert $initrd (the image alone)"
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
echo "== an LZ4HC image (what build makes), checked by erofs-utils"
iofs convert "$initrd" -o "$out/initoverlayfs-lz4hc.img" -z lz4hc
fsck.erofs "$out/initoverlayfs-lz4hc.img"
echo "== conversion benchmarks against zstd -dc | cpio -idm && mkfs.erofs (uncompressed, then LZ4HC)"
node dist/bench/convert.js "$initrd" --runs 3
node dist/bench/compress.js "$initrd" --runs 3
echo "== boot comparison in QEMU (TCG): stock initramfs vs the pair, alternating, on normal and on 25 MB/s disks"
node dist/bench/boot.js --runs 3 --no-integrity
echo "== scaling: 300 MiB of this kernel's modules and firmware appended to the initramfs; stock vs pair, each phase"
node dist/bench/scaling.js --sizes 0,300 --runs 3 --no-min-memory --out "$out/results"

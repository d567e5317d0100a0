#!/bin/sh
# What only the kernel can judge, on one loop device in a private mount
# namespace (root only; skipped otherwise):
#  - a fallback device node works although /run is nodev, and is gone after
#  - the boot device is found among 600 other /sys/class/block entries
#  - the boot mount writes nothing, not even for a journal that needs
#    recovery, and leaves the device writable
# usage: blockdev.sh BLOCKDEV-IO-BINARY
set -u
PATH=$PATH:/usr/sbin:/sbin
BIN=$1

if [ "${2:-}" = --in-namespace ]; then
	LOOP=$3 NAME=$4 MAJMIN=$5 SIZE=$6 UUID=$7 T=$8
	fail=0
	# /run as PID 1 mounts it: nodev
	mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || exit 1
	"$BIN" node si-test-no-such-node "${MAJMIN%:*}" "${MAJMIN#*:}" || fail=1
	# 600 empty entries: all before the boot device by name, 300 before and
	# 300 after it in creation order (readdir order, either way round)
	mount -t tmpfs tmpfs /sys/class/block || exit 1
	fill() {
		i=0
		while [ $i -lt 300 ]; do
			d=/sys/class/block/$1$(printf %03d $i)
			mkdir "$d" && echo 0 >"$d/size" && echo 0:0 >"$d/dev" || exit 1
			i=$((i + 1))
		done
	}
	fill a
	mkdir "/sys/class/block/$NAME" && echo "$SIZE" >"/sys/class/block/$NAME/size" &&
		echo "$MAJMIN" >"/sys/class/block/$NAME/dev" || exit 1
	fill b
	"$BIN" find "UUID=$UUID" 2>/dev/null || fail=1
	umount /sys/class/block
	mkdir "$T/mnt"
	"$BIN" mount-boot "$LOOP" "$T/mnt" || fail=1
	exit $fail
fi

for tool in unshare losetup mkfs.ext4 debugfs sha256sum; do
	if [ "$(id -u)" != 0 ] || ! command -v $tool >/dev/null 2>&1; then
		echo "skip blockdev.sh: needs root and $tool"
		exit 0
	fi
done
T=$(mktemp -d)
LOOP=
cleanup() { if [ -n "$LOOP" ]; then losetup -d "$LOOP"; fi; rm -rf "$T"; }
trap cleanup EXIT
trap 'exit 1' INT TERM
UUID=5a1e0b7e-0000-4000-8000-b00770000042
truncate -s 16M "$T/boot.img"
mkfs.ext4 -q -F -U $UUID -L si-blockdev "$T/boot.img" || exit 1
# as after a crash with /boot mounted: a read-only mount would replay the
# journal and clear the flag, i.e. write
debugfs -w -R "feature needs_recovery" "$T/boot.img" >/dev/null 2>&1 || exit 1
before=$(sha256sum <"$T/boot.img")
LOOP=$(losetup -f --show "$T/boot.img") || exit 1
NAME=${LOOP#/dev/}
rc=0
unshare -m --propagation private sh "$0" "$BIN" --in-namespace "$LOOP" "$NAME" \
	"$(cat /sys/class/block/$NAME/dev)" "$(cat /sys/class/block/$NAME/size)" $UUID "$T" || rc=1
losetup -d "$LOOP" && LOOP=
if [ "$(sha256sum <"$T/boot.img")" = "$before" ]; then
	echo "ok   the boot device is unchanged (no journal replay)"
else
	echo "FAIL the boot device was written"
	rc=1
fi
echo "blockdev.sh: $([ $rc = 0 ] && echo passed || echo FAILED)"
exit $rc

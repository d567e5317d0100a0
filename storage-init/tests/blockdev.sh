#!/bin/sh
# What only the kernel can judge, on one loop device in a private mount
# namespace (root only; skipped otherwise):
#  - a fallback device node works although /run is nodev, and is gone after
#  - the boot device is found among 600 other /sys/class/block entries
#  - the boot mount writes nothing, not even for a journal that needs
#    recovery, and leaves the device writable
#  - a partition named as the MMC driver names them (mmcblk0p1: the number
#    after a "p") is found by PARTUUID, PARTLABEL and UUID: its number and
#    disk come from sysfs (the "partition" attribute, the disk's directory),
#    never from the name (a GPT disk image attached with partitions)
# usage: blockdev.sh BLOCKDEV-IO-BINARY
set -u
PATH=$PATH:/usr/sbin:/sbin
BIN=$1

if [ "${2:-}" = --in-namespace-mmc ]; then
	PARTUUID=$3 UUID=$4 DISK_DEV=$5 DISK_SIZE=$6 PART_DEV=$7 PART_SIZE=$8
	fail=0
	mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run || exit 1
	# sysfs as an SD card shows it: class links into the host's device directory
	mount -t tmpfs tmpfs /sys/class/block || exit 1
	d=/sys/class/block/devices/platform/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa/block/mmcblk0
	mkdir -p "$d/mmcblk0p1" "$d/queue" || exit 1
	echo "$DISK_DEV" >"$d/dev" && echo "$DISK_SIZE" >"$d/size" && echo 512 >"$d/queue/logical_block_size" &&
		echo "$PART_DEV" >"$d/mmcblk0p1/dev" && echo "$PART_SIZE" >"$d/mmcblk0p1/size" &&
		echo 1 >"$d/mmcblk0p1/partition" || exit 1
	ln -s "${d#/sys/class/block/}" /sys/class/block/mmcblk0 &&
		ln -s "${d#/sys/class/block/}/mmcblk0p1" /sys/class/block/mmcblk0p1 || exit 1
	for spec in "PARTUUID=$PARTUUID" "PARTLABEL=si-sdcard-boot" "UUID=$UUID"; do
		out=$("$BIN" find "$spec" 2>/dev/null)
		case $out in
		"ok   $spec is mmcblk0p1 "*) echo "$out" ;;
		*) echo "FAIL $spec: want mmcblk0p1, got: $out"; fail=1 ;;
		esac
	done
	exit $fail
fi

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

for tool in unshare losetup mkfs.ext4 debugfs sha256sum sfdisk; do
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

# an SD card: GPT, ext4 in partition 1, attached with its partition device
PARTUUID=5d0c4a7d-0000-4000-8000-5dca4d000001
truncate -s 8M "$T/sd.img"
printf 'label: gpt\nstart=2048, size=12288, type=linux, uuid=%s, name=si-sdcard-boot\n' $PARTUUID |
	sfdisk -q "$T/sd.img" >/dev/null || exit 1
mkfs.ext4 -q -F -U $UUID -E offset=1048576 "$T/sd.img" 6M || exit 1
LOOP=$(losetup -f -P --show "$T/sd.img") || exit 1
NAME=${LOOP#/dev/}
# where the loop driver's own partition scan does not run (max_part=0 here), partx adds it
[ -e "/sys/class/block/${NAME}p1/dev" ] || partx -a "$LOOP" || exit 1
unshare -m --propagation private sh "$0" "$BIN" --in-namespace-mmc $PARTUUID $UUID \
	"$(cat /sys/class/block/$NAME/dev)" "$(cat /sys/class/block/$NAME/size)" \
	"$(cat /sys/class/block/${NAME}p1/dev)" "$(cat /sys/class/block/${NAME}p1/size)" || rc=1
losetup -d "$LOOP" && LOOP=
echo "blockdev.sh: $([ $rc = 0 ] && echo passed || echo FAILED)"
exit $rc

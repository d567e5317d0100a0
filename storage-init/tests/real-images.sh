#!/bin/sh
# Real filesystem images: storage-init's probes must agree with blkid.
# usage: [RUN=qemu-aarch64] real-images.sh PROBE-BINARY STORAGE-INIT-BINARY (RUN: how to run binaries built for another architecture)
# A missing tool (mkfs.xfs, mkfs.btrfs, sfdisk...) fails its case: scripts/setup.sh installs them all.
set -u
RUN=${RUN:-}
PROBE=$1
SI=$2
PATH=$PATH:/usr/sbin:/sbin
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
pass=0 fail=0 skip=0

ok()   { pass=$((pass + 1)); echo "ok   $1"; }
bad()  { fail=$((fail + 1)); echo "FAIL $1"; }
skip() { fail=$((fail + 1)); echo "FAIL $1: tool missing"; }
have() { command -v "$1" >/dev/null 2>&1; }

# compare the TYPE/UUID/LABEL lines of `blkid -p -o export` with ours
compare() {
	name=$1 img=$2
	if ! have blkid; then skip "$name (no blkid)"; return; fi
	blkid -p -o export "$img" 2>/dev/null | grep -E '^(TYPE|UUID|LABEL)=' | sed 's/\\ / /g' | sort >"$T/want"
	if ! $RUN "$PROBE" "$img" | sort >"$T/got"; then
		bad "$name: not recognised"; cat "$T/want"; return
	fi
	if [ ! -s "$T/want" ]; then bad "$name: blkid saw nothing"; return; fi
	if cmp -s "$T/want" "$T/got"; then
		ok "$name: $(tr '\n' ' ' <"$T/got")"
	else
		bad "$name"; echo "  blkid:"; sed 's/^/    /' "$T/want"; echo "  probe:"; sed 's/^/    /' "$T/got"
	fi
}

expect_field() { # name img FIELD=value
	if $RUN "$PROBE" "$1" | grep -qx "$2"; then ok "$1 has $2"; else bad "$1 lacks $2"; fi
}

if have mkfs.ext4; then
	truncate -s 8M "$T/ext4.img"
	mkfs.ext4 -q -F -U 0f0e0d0c-0b0a-4908-8706-050403020100 -L ext4-boot "$T/ext4.img" &&
		compare ext4 "$T/ext4.img"
	expect_field "$T/ext4.img" UUID=0f0e0d0c-0b0a-4908-8706-050403020100
	truncate -s 8M "$T/ext2.img"
	mkfs.ext2 -q -F -U 11111111-2222-4333-8444-555555555555 -L sixteen-chars-xx "$T/ext2.img" &&
		compare "ext2 (16-byte label)" "$T/ext2.img"
	truncate -s 8M "$T/ext3.img"
	mkfs.ext3 -q -F "$T/ext3.img" && compare "ext3 (random uuid, no label)" "$T/ext3.img"
else
	skip "ext2/3/4 (no mkfs.ext4)"
fi

if have mkfs.vfat; then
	truncate -s 40M "$T/fat32.img"
	mkfs.vfat -F 32 -i 1234ABCD -n EFI-BOOT "$T/fat32.img" >/dev/null && compare "vfat FAT32" "$T/fat32.img"
	expect_field "$T/fat32.img" UUID=1234-ABCD
	truncate -s 16M "$T/fat16.img"
	mkfs.vfat -F 16 -i 0000beef -n "MY BOOT" "$T/fat16.img" >/dev/null && compare "vfat FAT16" "$T/fat16.img"
	truncate -s 1M "$T/fat12.img"
	mkfs.vfat -F 12 -i DEADBEEF "$T/fat12.img" >/dev/null && compare "vfat FAT12 (no label)" "$T/fat12.img"
else
	skip "vfat (no mkfs.vfat)"
fi

if have mkfs.xfs; then
	truncate -s 300M "$T/xfs.img"
	mkfs.xfs -q -f -m uuid=a1b2c3d4-e5f6-4711-8899-aabbccddeeff -L xfsboot "$T/xfs.img" &&
		compare xfs "$T/xfs.img"
	rm -f "$T/xfs.img"
else
	skip "xfs (no mkfs.xfs)"
fi

if have mkfs.btrfs; then
	truncate -s 128M "$T/btrfs.img"
	mkfs.btrfs -q -f -U 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d -L "btrfs boot" "$T/btrfs.img" >/dev/null &&
		compare btrfs "$T/btrfs.img"
	rm -f "$T/btrfs.img"
else
	skip "btrfs (no mkfs.btrfs)"
fi

if have sfdisk; then
	truncate -s 8M "$T/gpt.img"
	printf 'label: gpt\nsize=2048, name="esp", uuid=6E2C5C7E-1B2A-4C3D-9E8F-0123456789AB\nname="boot", uuid=0FC63DAF-8483-4772-8E79-3D69D8477DE4\n' |
		sfdisk -q "$T/gpt.img" >/dev/null 2>&1
	for n in 1 2; do
		want=$(sfdisk --part-uuid "$T/gpt.img" "$n" 2>/dev/null | tr 'A-F' 'a-f')
		got=$($RUN "$PROBE" --part "$T/gpt.img" "$n" | sed -n 's/^PARTUUID=//p')
		if [ -n "$want" ] && [ "$want" = "$got" ]; then ok "GPT partition $n: PARTUUID=$got"; else bad "GPT partition $n: sfdisk '$want', probe '$got'"; fi
	done
	if $RUN "$PROBE" --part "$T/gpt.img" 2 | grep -qx 'PARTLABEL=boot'; then ok "GPT PARTLABEL"; else bad "GPT PARTLABEL"; fi
	truncate -s 8M "$T/mbr.img"
	printf 'label: dos\nlabel-id: 0x0badcafe\nsize=4096, type=83\ntype=83\n' | sfdisk -q "$T/mbr.img" >/dev/null 2>&1
	want=$(blkid -p -o export "$T/mbr.img" 2>/dev/null | sed -n 's/^PTUUID=//p')
	got=$($RUN "$PROBE" --part "$T/mbr.img" 2 | sed -n 's/^PARTUUID=//p')
	if [ "$want-02" = "$got" ]; then ok "MBR partition 2: PARTUUID=$got"; else bad "MBR: blkid PTUUID '$want', probe '$got'"; fi
else
	skip "GPT/MBR (no sfdisk)"
fi

# ext2/3/4 metadata read as storage-init reads the image's blocks without a mount: the extents
# must be the ones debugfs (e2fsprogs) reports for the same file, holes and extent index blocks
# included; what the reader refuses must be refused with its reason
ext4_extents() { # name img path block-size
	want=$(debugfs -R "stat $3" "$2" 2>/dev/null | sed -n '/^EXTENTS:/{n;p}' | tr ',' '\n' |
		sed 's/^ *//' | grep -v '^(ETB' | tr '\n' ' ')
	wsize=$(debugfs -R "stat $3" "$2" 2>/dev/null | sed -n 's/.*Size: \([0-9]*\).*/\1/p' | head -1)
	if ! $RUN "$PROBE" --ext4 "$2" "$3" >"$T/ext" 2>"$T/err"; then
		bad "$1: refused: $(cat "$T/err")"; return
	fi
	got=$(awk -v bs="$4" 'NR > 1 { l = $1 / bs; p = $2 / bs; n = $3 / bs;
		if (n == 1) printf "(%d):%d ", l, p; else printf "(%d-%d):%d-%d ", l, l + n - 1, p, p + n - 1 }' "$T/ext")
	gsize=$(sed -n 's/^SIZE=//p' "$T/ext")
	if [ -n "$want" ] && [ "$got" = "$want" ] && [ "$gsize" = "$wsize" ]; then
		ok "$1: $(($(wc -l <"$T/ext") - 1)) extent(s), $gsize bytes, as debugfs"
	else
		bad "$1"; echo "  debugfs: $want ($wsize bytes)"; echo "  ours:    $got ($gsize bytes)"
	fi
}
ext4_refused() { # name img path reason
	if $RUN "$PROBE" --ext4 "$2" "$3" >/dev/null 2>"$T/err"; then
		bad "$1: accepted"
	elif grep -q "$4" "$T/err"; then
		ok "$1: $(cat "$T/err")"
	else
		bad "$1: $(cat "$T/err"), expected \"$4\""
	fi
}
if have mkfs.ext4 && have debugfs && have e2fsck; then
	D="$T/ext4-tree"
	mkdir -p "$D/boot/many"
	head -c 3000000 /dev/urandom >"$D/boot/initoverlayfs.img"
	# holes between 8 pieces of data: 9 extents, more than the inode holds (an index block)
	for i in 0 1 2 3 4 5 6 7; do
		head -c 40960 /dev/urandom | dd of="$D/sparse.img" bs=4096 seek=$((i * 64)) conv=notrunc 2>/dev/null
	done
	for i in $(seq 1 1500); do : >"$D/boot/many/f$i"; done
	head -c 100000 /dev/urandom >"$D/boot/many/image.img"
	ln -s boot "$D/link"
	truncate -s 64M "$T/e1k.img" "$T/e4k.img" "$T/e2.img" "$T/inline.img"
	mkfs.ext4 -q -F -b 1024 -d "$D" "$T/e1k.img" && e2fsck -fyD "$T/e1k.img" >/dev/null 2>&1 # htree directories
	mkfs.ext4 -q -F -b 4096 -O ^64bit -d "$D" "$T/e4k.img"
	mkfs.ext4 -q -F -b 4096 -O 64bit,metadata_csum -d "$D" "$T/e64.img" 64M
	for fs in e1k:1024 e4k:4096 e64:4096; do
		img="$T/${fs%%:*}.img" bs=${fs#*:}
		ext4_extents "ext4 ${fs%%:*} /boot/initoverlayfs.img" "$img" /boot/initoverlayfs.img "$bs"
		ext4_extents "ext4 ${fs%%:*} sparse (index block)" "$img" /sparse.img "$bs"
		ext4_extents "ext4 ${fs%%:*} in a directory of 1501 files" "$img" /boot/many/image.img "$bs"
	done
	if debugfs -R "stat /boot/many" "$T/e1k.img" 2>/dev/null | grep -q 'Flags: 0x81000'; then
		ok "ext4 e1k: /boot/many is an htree directory"
	else
		bad "ext4 e1k: /boot/many is not an htree directory (e2fsck -D)"
	fi
	ext4_refused "ext4 missing file" "$T/e4k.img" /boot/nothere 'no "nothere" in directory'
	ext4_refused "ext4 symlink on the way" "$T/e4k.img" /link/initoverlayfs.img 'symbolic link'
	ext4_refused "ext4 a directory" "$T/e4k.img" /boot 'not a regular file'
	mkfs.ext2 -q -F -d "$D" "$T/e2.img"
	ext4_refused "ext2 (block-mapped)" "$T/e2.img" /boot/initoverlayfs.img 'block-mapped'
	mkfs.ext4 -q -F -O inline_data -d "$D" "$T/inline.img"
	ext4_refused "ext4 inline-data directory" "$T/inline.img" /boot/initoverlayfs.img 'inline-data'
	printf 'x' | dd of="$T/e4k.img" bs=1 seek=$((1024 + 0x38)) conv=notrunc 2>/dev/null
	ext4_refused "ext4 bad magic" "$T/e4k.img" /boot/initoverlayfs.img 'no ext2/3/4 superblock (byte 1080)'
else
	skip "ext4 metadata (no mkfs.ext4, debugfs or e2fsck)"
fi

# the static binary's config parser, end to end (not PID 1: --check-config)
cat >"$T/conf" <<'CONF'
# comment
boot = UUID=1234-ABCD
image = "/initoverlayfs-6.1.0-56-amd64.img"
module = /lib/modules/virtio_blk.ko
shim = /usr/sbin/run-init
integrity = none
some_future_key = 1
CONF
if out=$($RUN "$SI" --check-config "$T/conf" "quiet initoverlayfs.timeout=3 initoverlayfs.failure=shell" 2>"$T/err") &&
	echo "$out" | grep -qx 'timeout=3' && echo "$out" | grep -qx 'failure=shell' &&
	echo "$out" | grep -qx 'image=/initoverlayfs-6.1.0-56-amd64.img' &&
	echo "$out" | grep -qx 'integrity=none' &&
	grep -q 'unknown key "some_future_key" ignored' "$T/err"; then
	ok "storage-init --check-config"
else
	bad "storage-init --check-config"; echo "$out"; cat "$T/err"
fi
printf 'boot = UUID=1\nimage = /x\ntimeout = soon\n' >"$T/conf2"
if ! $RUN "$SI" --check-config "$T/conf2" 2>"$T/err" && grep -q 'line 3: timeout: expected a whole number' "$T/err"; then
	ok "storage-init --check-config rejects a bad value"
else
	bad "storage-init --check-config bad value"; cat "$T/err"
fi

echo "real-images: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

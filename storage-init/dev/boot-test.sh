#!/bin/bash
# Developer tool: prove that storage-init boots Debian's real initramfs from
# an EROFS image in QEMU (TCG). Builds everything by hand in $WORK:
#   full/      Debian's initramfs, unpacked
#   boot.img   ext4 "boot partition" holding initoverlayfs-$KVER.img (EROFS)
#   root.img   ext4 root whose /sbin/init prints ROOT-MARKER and the state
#   mini.img   the mini initramfs: storage-init as /init, config, modules
#   mini-*.img mini initramfs variants with an integrity setting (copy,
#              badcopy, verity, fsverity), initoverlayfs-$KVER.verity.img on
#              boot.img holds the image with its dm-verity hash tree appended,
#              bad.verity.img the same with one byte of data block 0 flipped
#   fsvboot.img ext4 -O verity boot disk whose image has fs-verity enabled
#              (in a first QEMU boot: the build host's kernel may lack it)
# usage: dev/boot-test.sh [build|good|wronguuid|noimage|shell|stock|copy|badcopy|
#                          verity|badverity|badverity-shell|verity-sig|fsv|nofsv|all]...
# Needs root (mknod), musl-gcc, qemu-system-x86_64, mkfs.erofs, mkfs.ext4,
# cpio, zstd, a static busybox. One VM at a time; each boot has a hard timeout.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
# the host's kernel boots: storage-init for this machine
ARCH=$(uname -m | sed 's/^x86_64$/x86-64/; s/^aarch64$/arm64/')
KVER=${KVER:-6.1.0-56-amd64}
VMLINUZ=${VMLINUZ:-/boot/vmlinuz-$KVER}
INITRD=${INITRD:-/boot/initrd.img-$KVER}
MODDIR=${MODDIR:-/lib/modules/$KVER}
BUSYBOX=${BUSYBOX:-/usr/bin/busybox}
WORK=${WORK:-/tmp/initoverlayfs-boot}
BOOT_UUID=${BOOT_UUID:-5a1e0b7e-0000-4000-8000-b00770000001}
EROFS_OPTS=${EROFS_OPTS:--zlz4}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-180}
IMAGE_NAME=initoverlayfs-$KVER.img
VIMAGE_NAME=initoverlayfs-$KVER.verity.img
VERITY_SALT=e48da609055204e89ae53b655ca2216dd983cf3cb829f34f63a297d106d53e2d
# modules the mini initramfs loads (dependencies are added from modules.dep)
WANT_MODULES=(virtio_pci virtio_blk crc32c_generic ext4 nls_cp437 nls_ascii vfat loop erofs overlay)

log() { printf '== %s\n' "$*" >&2; }

# post-order walk of modules.dep: dependencies first, each once
declare -A SEEN=()
ORDERED=()
add_module() {
	local name=$1 line path dep
	line=$(grep -E "(^|/)${name}\.ko(\.[a-z]+)?:" "$MODDIR/modules.dep" | head -n1) ||
		{ echo "module $name not in modules.dep" >&2; exit 1; }
	path=${line%%:*}
	[[ -n ${SEEN[$path]:-} ]] && return 0
	SEEN[$path]=1
	for dep in ${line#*:}; do
		dep=$(basename "$dep"); dep=${dep%%.ko*}
		add_module "$dep"
	done
	ORDERED+=("$path")
}

build() {
	rm -rf "$WORK"
	mkdir -p "$WORK"/{full,bootdir,rootdir,mini}
	make -C "$HERE" >/dev/null

	log "unpacking $INITRD"
	zstd -dc "$INITRD" | (cd "$WORK/full" && cpio -idm --quiet)

	log "EROFS image ($EROFS_OPTS)"
	mkfs.erofs $EROFS_OPTS "$WORK/bootdir/$IMAGE_NAME" "$WORK/full" >/dev/null
	local isz; isz=$(stat -c %s "$WORK/bootdir/$IMAGE_NAME")
	# the same image with a dm-verity hash tree appended (superblock at isz)
	cp "$WORK/bootdir/$IMAGE_NAME" "$WORK/bootdir/$VIMAGE_NAME"
	veritysetup format --salt="$VERITY_SALT" --hash-offset="$isz" --data-blocks=$(( isz / 4096 )) \
		"$WORK/bootdir/$VIMAGE_NAME" "$WORK/bootdir/$VIMAGE_NAME" >"$WORK/verity.txt"
	cp "$WORK/bootdir/$VIMAGE_NAME" "$WORK/bootdir/bad.verity.img"
	printf '\x5a' | dd of="$WORK/bootdir/bad.verity.img" bs=1 seek=1100 conv=notrunc status=none
	truncate -s $(( isz * 3 + 64 * 1024 * 1024 )) "$WORK/boot.img"
	mkfs.ext4 -q -F -U "$BOOT_UUID" -L initoverlayfs -d "$WORK/bootdir" "$WORK/boot.img"

	log "test root"
	mkdir -p "$WORK/rootdir"/{bin,sbin,proc,sys,dev,run,tmp,boot}
	cp "$BUSYBOX" "$WORK/rootdir/bin/busybox"
	cat >"$WORK/rootdir/sbin/init" <<'INIT'
#!/bin/busybox sh
B=/bin/busybox
[ -e /proc/self/stat ] || $B mount -t proc proc /proc
[ -d /sys/block ] || $B mount -t sysfs sysfs /sys
echo ROOT-MARKER
echo "UPTIME $($B cat /proc/uptime)"
for f in /sys/block/*/stat; do echo "STAT $f: $($B cat "$f")"; done
backed() {
	n=0
	for f in /sys/block/loop*/loop/backing_file; do
		[ -e "$f" ] || continue
		echo "LOOP-BACKED $f: $($B cat "$f")"; n=$((n + 1))
	done
	return $n
}
tries=0
until backed; do
	tries=$((tries + 1)); [ $tries -ge 5 ] && break; $B sleep 1
done
backed >/dev/null && echo "NO-LOOP-BACKED (after $tries s)"
echo "MOUNTS-BEGIN"; $B cat /proc/mounts; echo "MOUNTS-END"
$B grep -q ' /boot ' /proc/mounts && echo "BOOT-STILL-MOUNTED" || echo "BOOT-NOT-MOUNTED"
$B poweroff -f
INIT
	chmod 755 "$WORK/rootdir/sbin/init"
	truncate -s 64M "$WORK/root.img"
	mkfs.ext4 -q -F -L testroot -d "$WORK/rootdir" "$WORK/root.img"

	local m
	for m in "${WANT_MODULES[@]}"; do add_module "$m"; done
	local base=("${ORDERED[@]}")
	mini mini
	local digest; digest=$(fsverity digest --hash-alg=sha256 --block-size=4096 "$WORK/bootdir/$IMAGE_NAME" | cut -d' ' -f1)
	mini mini-copy "integrity = copy" "digest = $digest"
	mini mini-badcopy "integrity = copy" "digest = sha256:$(printf '%064d' 0)"
	for m in dm-mod dm-verity; do add_module "$m"; done
	local root; root=$(sed -n 's/^Root hash:[[:space:]]*//p' "$WORK/verity.txt")
	mini mini-verity "image = /$VIMAGE_NAME" "integrity = dm-verity" "verity_roothash = $root" \
		"verity_salt = $VERITY_SALT" "verity_hashalg = sha256" "verity_format = 1" \
		"verity_data_blocks = $(( isz / 4096 ))" "verity_hash_offset = $isz"
	# a root hash signature by a key the kernel does not trust: dm-verity must
	# find it (thread keyring) and reject it
	mkdir -p "$WORK/sig/etc/initoverlayfs"
	printf '%s' "$root" >"$WORK/sig-roothash.txt"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/sig-key.pem" -out "$WORK/sig-cert.pem" \
		-subj /CN=untrusted -days 1 2>/dev/null
	openssl smime -sign -nocerts -noattr -binary -in "$WORK/sig-roothash.txt" -inkey "$WORK/sig-key.pem" \
		-signer "$WORK/sig-cert.pem" -outform der -out "$WORK/sig/etc/initoverlayfs/roothash.p7s"
	MINI_EXTRA=$WORK/sig mini mini-verity-sig "image = /$VIMAGE_NAME" "integrity = dm-verity" \
		"verity_roothash = $root" "verity_salt = $VERITY_SALT" "verity_hashalg = sha256" "verity_format = 1" \
		"verity_data_blocks = $(( isz / 4096 ))" "verity_hash_offset = $isz" \
		"verity_sig = /etc/initoverlayfs/roothash.p7s"
	ORDERED=("${base[@]}")
	mini mini-fsverity "integrity = fs-verity" "digest = $digest"
	build_fsverity "$isz"
	log "sizes: mini.img $(stat -c %s "$WORK/mini.img") B, stock $(stat -c %s "$INITRD") B," \
		"image $(stat -c %s "$WORK/bootdir/$IMAGE_NAME") B, storage-init $(stat -c %s "$HERE/build/$ARCH/storage-init") B"
	cat "$WORK/mini/etc/initoverlayfs.conf" >&2
}

# ext4 boot disk with the verity feature; fs-verity is enabled on the image by
# a first boot whose initramfs runs test/boot/tools/fsverity-enable.c (shared with the node boot tests)
build_fsverity() {
	local isz=$1 m
	log "fs-verity boot disk"
	rm -rf "$WORK/fsvdir" "$WORK/prep"
	mkdir -p "$WORK/fsvdir" "$WORK/prep"/{bin,dev,proc,sys,mnt,lib/modules}
	cp "$WORK/bootdir/$IMAGE_NAME" "$WORK/fsvdir/"
	cp "$WORK/bootdir/$IMAGE_NAME" "$WORK/fsvdir/plain.img"  # fs-verity stays off on this one
	truncate -s $(( isz * 2 + 64 * 1024 * 1024 )) "$WORK/fsvboot.img"
	mkfs.ext4 -q -F -b 4096 -O verity -U "$BOOT_UUID" -L initoverlayfs -d "$WORK/fsvdir" "$WORK/fsvboot.img"
	musl-gcc -static -Os -Wall -Wextra -Werror -o "$WORK/prep/bin/fsverity-enable" "$HERE/../test/boot/tools/fsverity-enable.c"
	cp "$BUSYBOX" "$WORK/prep/bin/busybox"
	for m in "${ORDERED[@]}"; do cp "$MODDIR/$m" "$WORK/prep/lib/modules/"; basename "$m"; done >"$WORK/prep/modules"
	cat >"$WORK/prep/init" <<PREP
#!/bin/busybox sh
B=/bin/busybox
\$B mount -t proc proc /proc; \$B mount -t sysfs sysfs /sys; \$B mount -t devtmpfs dev /dev
for m in \$(\$B cat /modules); do \$B insmod /lib/modules/\$m; done
\$B sleep 1
\$B mount -t ext4 /dev/vda /mnt && /bin/fsverity-enable /mnt/$IMAGE_NAME && echo FSVERITY-ENABLED
\$B umount /mnt
\$B poweroff -f
PREP
	chmod 755 "$WORK/prep/init"
	mknod -m 600 "$WORK/prep/dev/console" c 5 1
	(cd "$WORK/prep" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$WORK/prep.img"
	mkdir -p "$WORK/logs"
	timeout "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot \
		-kernel "$VMLINUZ" -initrd "$WORK/prep.img" -drive "file=$WORK/fsvboot.img,format=raw,if=virtio" \
		-append "console=ttyS0 panic=-1" </dev/null >"$WORK/logs/prep.log" 2>&1 || true
	grep -q FSVERITY-ENABLED "$WORK/logs/prep.log" || { tail -20 "$WORK/logs/prep.log" >&2; echo "fs-verity enable failed" >&2; exit 1; }
}

# mini NAME [CONFIG-LINE...] -> $WORK/NAME.img with the modules in ORDERED
# (later config lines override earlier ones)
mini() {
	local name=$1 m line; shift
	log "mini initramfs $name"
	rm -rf "$WORK/mini"
	mkdir -p "$WORK/mini"/{etc,dev,proc,sys,run,lib/modules}
	mknod -m 600 "$WORK/mini/dev/console" c 5 1
	cp "$HERE/build/$ARCH/storage-init" "$WORK/mini/init"
	[[ -n ${MINI_EXTRA:-} ]] && cp -a "$MINI_EXTRA/." "$WORK/mini/"
	{
		echo "# generated by dev/boot-test.sh"
		echo "boot = UUID=$BOOT_UUID"
		echo "image = /$IMAGE_NAME"
		echo "timeout = 10"
		echo "failure = panic"
		echo "shim = /usr/sbin/run-init"
		echo "shim = /usr/sbin/switch_root"
		for m in "${ORDERED[@]}"; do
			cp "$MODDIR/$m" "$WORK/mini/lib/modules/"
			echo "module = /lib/modules/$(basename "$m")"
		done
		for line in "$@"; do echo "$line"; done
	} >"$WORK/mini/etc/initoverlayfs.conf"
	# every path of ours, "MODE UID GID PATH" (owners: cpio -R 0:0), itself included
	touch "$WORK/mini/etc/initoverlayfs.manifest"
	(cd "$WORK/mini" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r p; do
		printf '%o 0 0 %s\n' "0x$(stat -c %f "$p")" "${p#.}"
	done) >"$WORK/mini.manifest"
	mv "$WORK/mini.manifest" "$WORK/mini/etc/initoverlayfs.manifest"
	(cd "$WORK/mini" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | zstd -q -19 >"$WORK/$name.img"
}

# boot NAME INITRD EXTRA-CMDLINE [CONSOLE-INPUT] -> $WORK/logs/NAME.log
# CONSOLE-INPUT, when given, is typed on the serial console every 5 s.
boot() {
	local name=$1 initrd=$2 extra=$3 input=${4:-} start end rc=0
	mkdir -p "$WORK/logs"
	log "boot $name"
	start=$(date +%s.%N)
	timeout "$QEMU_TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -nographic -no-reboot \
		-kernel "$VMLINUZ" -initrd "$initrd" \
		-drive "file=$WORK/root.img,format=raw,if=virtio" \
		-drive "file=${BOOT_DISK:-$WORK/boot.img},format=raw,if=virtio,readonly=on" \
		-append "console=ttyS0 root=/dev/vda rw panic=-1 $extra" \
		< <(if [[ -n $input ]]; then for _ in $(seq $((QEMU_TIMEOUT / 5))); do sleep 5; printf '%s\n' "$input"; done; fi) \
		>"$WORK/logs/$name.log" 2>&1 || rc=$?
	end=$(date +%s.%N)
	tr -d '\r' <"$WORK/logs/$name.log" >"$WORK/logs/$name.txt"
	printf '== %s: qemu exit %s, wall %.1f s\n' "$name" "$rc" "$(echo "$end - $start" | bc)" >&2
}

check() { # name pattern...
	local name=$1; shift
	local p ok=1
	for p in "$@"; do
		if grep -qE -- "$p" "$WORK/logs/$name.txt"; then echo "  ok   $name: /$p/"; else echo "  FAIL $name: /$p/"; ok=0; fi
	done
	[[ $ok == 1 ]]
}

show() { grep -E "$2" "$WORK/logs/$1.txt" | sed "s/^/  [$1] /"; }

good() {
	boot good "$WORK/mini.img" ""
	show good 'initoverlayfs:|ROOT-MARKER|UPTIME|LOOP|BOOT-|Kernel panic|Run /init'
	check good 'ROOT-MARKER' 'NO-LOOP-BACKED' 'BOOT-NOT-MOUNTED' 'shim /usr/sbin/run-init installed' \
		'/init: 2 call\(s\) of run-init now run /usr/sbin/run-init' 'run-init: switched to /root \(pivot_root'
}
wronguuid() {
	boot wronguuid "$WORK/mini.img" "initoverlayfs.boot=UUID=00000000-dead-beef-0000-000000000000 initoverlayfs.timeout=3"
	show wronguuid 'initoverlayfs:|Kernel panic'
	check wronguuid 'initoverlayfs: FAILED at find boot device: UUID=00000000-dead-beef-0000-000000000000: not found after 3 s' \
		'Kernel panic - not syncing: Attempted to kill init'
}
noimage() {
	boot noimage "$WORK/mini.img" "initoverlayfs.image=/missing.img"
	show noimage 'initoverlayfs:|Kernel panic'
	check noimage 'initoverlayfs: FAILED at open image: /boot/missing.img: No such file or directory' \
		'Kernel panic - not syncing: Attempted to kill init'
}
shell() {
	# failure=shell after the overlay is up: the image's /bin/sh starts (and,
	# with no console input here, exits: then the kernel panics)
	boot shell "$WORK/mini.img" "initoverlayfs.failure=shell initoverlayfs.init=/nonexistent" \
		'echo SHELL-ALIVE-$((6*7)) && poweroff -f'
	show shell 'initoverlayfs:|Kernel panic|SHELL-ALIVE-42|Power down'
	check shell 'initoverlayfs: FAILED at switch root: /nonexistent: No such file or directory' \
		'starting emergency shell /bin/sh from the image' '^SHELL-ALIVE-42' 'reboot: Power down'
}
copy() {
	boot copy "$WORK/mini-copy.img" ""
	show copy 'initoverlayfs:|ROOT-MARKER|UPTIME|LOOP|BOOT-|Kernel panic'
	check copy 'ROOT-MARKER' 'integrity copy: [0-9]+ bytes copied into a sealed memfd' \
		'integrity copy: sha256 digest matches; memfd sealed' '/boot unmounted' 'NO-LOOP-BACKED' 'BOOT-NOT-MOUNTED'
}
badcopy() {
	boot badcopy "$WORK/mini-badcopy.img" ""
	show badcopy 'initoverlayfs:|Kernel panic'
	check badcopy "initoverlayfs: FAILED at verify image: /boot/$IMAGE_NAME: fs-verity digest mismatch: expected sha256:0000000000000000\.\.\., got sha256:[0-9a-f]{16}\.\.\." \
		'Kernel panic - not syncing: Attempted to kill init'
}
verity() {
	boot verity "$WORK/mini-verity.img" ""
	show verity 'initoverlayfs:|ROOT-MARKER|UPTIME|LOOP|BOOT-|STAT|Kernel panic|device-mapper|verity'
	check verity 'ROOT-MARKER' 'integrity dm-verity: initoverlayfs-verity is /dev/dm-0 over /dev/loop0' \
		'initoverlayfs-verity marked for deferred removal' 'NO-LOOP-BACKED' 'BOOT-NOT-MOUNTED' || return 1
	if grep -q 'STAT /sys/block/dm-' "$WORK/logs/verity.txt"; then echo "  FAIL verity: dm device still there in the real root"; return 1; fi
	echo "  ok   verity: no dm device left in the real root"
}
badverity() {
	# failure = panic: dm-verity panics on the first corrupted block (the EROFS superblock)
	boot badverity "$WORK/mini-verity.img" "initoverlayfs.image=/bad.verity.img"
	show badverity 'initoverlayfs:|Kernel panic|verity'
	check badverity 'device-mapper: verity: [0-9:]+: data block 0 is corrupted' \
		'Kernel panic - not syncing: dm-verity device corrupted'
}
badverity-shell() {
	# failure = shell: no corruption option, the read fails, so does the mount
	boot badverity-shell "$WORK/mini-verity.img" "initoverlayfs.image=/bad.verity.img initoverlayfs.failure=shell"
	show badverity-shell 'initoverlayfs:|Kernel panic|verity'
	check badverity-shell 'device-mapper: verity: [0-9:]+: data block 0 is corrupted' \
		'initoverlayfs: FAILED at mount image: /dev/dm-0: ' 'Kernel panic - not syncing: Attempted to kill init'
}
verity-sig() {
	boot verity-sig "$WORK/mini-verity-sig.img" ""
	show verity-sig 'initoverlayfs:|Kernel panic|verity|PKCS|key'
	check verity-sig 'initoverlayfs: integrity dm-verity: root hash signature /etc/initoverlayfs/roothash.p7s \([0-9]+ bytes\) loaded as key initoverlayfs:roothash' \
		'verity: Root hash verification failed \(-ENOKEY\)' \
		'initoverlayfs: FAILED at set up dm-verity: DM_TABLE_LOAD' 'Kernel panic - not syncing: Attempted to kill init' || return 1
	# "failed" is the PKCS#7 check (signer not trusted): the key itself was found
	if grep -q 'Invalid key specified' "$WORK/logs/verity-sig.txt"; then echo "  FAIL verity-sig: key not found"; return 1; fi
}
fsv() {
	BOOT_DISK=$WORK/fsvboot.img boot fsverity "$WORK/mini-fsverity.img" ""
	show fsverity 'initoverlayfs:|ROOT-MARKER|UPTIME|LOOP|BOOT-|Kernel panic'
	check fsverity 'ROOT-MARKER' "integrity fs-verity: /boot/$IMAGE_NAME has the expected sha256 digest" \
		'NO-LOOP-BACKED' 'BOOT-NOT-MOUNTED'
}
nofsv() {
	local ok=0
	# a boot filesystem without the verity feature: EOPNOTSUPP
	boot nofsverity "$WORK/mini-fsverity.img" ""
	show nofsverity 'initoverlayfs:|Kernel panic'
	check nofsverity "initoverlayfs: FAILED at verify image: /boot/$IMAGE_NAME: the boot filesystem does not support fs-verity" \
		'Kernel panic - not syncing: Attempted to kill init' || ok=1
	# the feature, but not enabled on this file: ENODATA
	BOOT_DISK=$WORK/fsvboot.img boot nofsverity-file "$WORK/mini-fsverity.img" "initoverlayfs.image=/plain.img"
	show nofsverity-file 'initoverlayfs:|Kernel panic'
	check nofsverity-file "initoverlayfs: FAILED at verify image: /boot/plain.img: fs-verity not enabled on the image file \(fsverity enable\)" \
		'Kernel panic - not syncing: Attempted to kill init' || ok=1
	return $ok
}
stock() {
	boot stock "$INITRD" ""
	show stock 'ROOT-MARKER|UPTIME|Run /init|Kernel panic'
	check stock 'ROOT-MARKER'
}

steps=("$@")
[[ ${#steps[@]} -eq 0 ]] && steps=(all)
status=0
for s in "${steps[@]}"; do
	case $s in
	all) build; for t in good wronguuid noimage shell copy badcopy verity badverity badverity-shell \
		verity-sig fsv nofsv stock; do $t || status=1; done ;;
	build) build ;;
	good|wronguuid|noimage|shell|stock|copy|badcopy|verity|badverity|badverity-shell|verity-sig|fsv|nofsv) $s || status=1 ;;
	*) echo "unknown step $s" >&2; exit 2 ;;
	esac
done
exit $status

#!/bin/sh
# The hand-over of appended files (src/handover.c) on real filesystems, in a
# private mount namespace (root only; skipped otherwise): a tmpfs as the
# initial rootfs, an overlay over an "image" directory as the new root.
#  - everything not in the manifest moves, with owner, mode, mtime, symlink,
#    fifo, hard link; the mini's own paths, a mount point and the skipped
#    path stay where they are; the rootfs copy is gone
#  - the image's files are replaced, an empty directory too; a non-empty
#    one is kept (the kernel could not replace it either), its file stays
#  - an own directory: followed through the image's symlink (/lib ->
#    usr/lib); the mode an archive gave it is applied, the image's mtime kept
#  - a read-only new root: one FAILED line naming the path, exit 1
# usage: handover.sh HANDOVER-IO-BINARY
set -u
PATH=$PATH:/usr/sbin:/sbin
BIN=$1
. "$(dirname "$0")/in-namespace.sh"

if [ "${2:-}" = --in-namespace ]; then
	T=$3
	# expect DESC PATH STAT-FORMAT WANT
	expect() {
		got=$(stat -c "$3" "$2" 2>&1)
		if [ "$got" = "$4" ]; then ok "$1"; else bad "$1: $2: got '$got', want '$4'"; fi
	}
	gone() { if [ -e "$2" ] || [ -L "$2" ]; then bad "$1: $2 still there"; else ok "$1"; fi; }
	S=$T/src L=$T/lower D=$T/dst
	mkdir -p "$S" "$L" "$D" "$T/rw" || exit 1
	mount -t tmpfs -o mode=0755 rootfs "$S" && mount -t tmpfs tmpfs "$T/rw" || exit 1
	mkdir "$T/rw/upper" "$T/rw/work"
	# the image
	mkdir -p "$L/etc" "$L/usr/lib" "$L/blocked" "$L/empty"
	echo image >"$L/etc/app.conf"; echo keep >"$L/blocked/x"; ln -s usr/lib "$L/lib"
	touch -d @1500000000 "$L/etc"
	mount -t overlay overlay -o "lowerdir=$L,upperdir=$T/rw/upper,workdir=$T/rw/work" "$D" || exit 1
	# the initial rootfs: the mini's own files, then what the boot loader appended
	mkdir -p "$S/etc" "$S/lib/modules" "$S/lib/firmware" "$S/.extra/credentials" "$S/mnt" "$S/initoverlayfs"
	echo storage-init >"$S/init"; echo own >"$S/etc/own.conf"; echo mod >"$S/lib/modules/m.ko"
	cat >"$T/manifest" <<-EOM
	40755 0 0 /etc
	100644 0 0 /etc/own.conf
	100755 0 0 /init
	40755 0 0 /lib
	40755 0 0 /lib/modules
	100644 0 0 /lib/modules/m.ko
	EOM
	chmod 0750 "$S/etc"
	echo appended >"$S/etc/app.conf"; chown 5:6 "$S/etc/app.conf"; chmod 4640 "$S/etc/app.conf"
	touch -d @978307200 "$S/etc/app.conf"
	echo fw >"$S/lib/firmware/fw.bin"; chmod 0700 "$S/lib/firmware"
	echo cred >"$S/.extra/credentials/a.cred"; chmod 0400 "$S/.extra/credentials/a.cred"
	chmod 0500 "$S/.extra/credentials"; touch -d @1600000000 "$S/.extra/credentials"
	head -c 3000000 /dev/urandom >"$S/big"; big=$(md5sum <"$S/big")
	ln -s etc/app.conf "$S/sym"; touch -h -d @1234567890 "$S/sym"
	mkfifo -m 0604 "$S/fifo"
	echo linked >"$S/hard-a"; ln "$S/hard-a" "$S/hard-b"
	echo file >"$S/blocked"; echo file >"$S/empty"
	echo skip >"$S/initoverlayfs/x"
	mount -t tmpfs tmpfs "$S/mnt" && echo inside >"$S/mnt/f"
	out=$("$BIN" "$T/manifest" "$S" "$D" /initoverlayfs 2>"$T/log")
	echo "handover-io: $out"
	want="files 6 bytes 3000029 dirs 3 symlinks 1 nodes 1 links 1 replaced 2 skipped 1"
	[ "$out" = "$want" ] && ok "counts" || bad "counts: want $want"
	grep -q "appended /blocked not handed over: the image has a directory there that is not empty" "$T/log" &&
		ok "the kept directory is named" || bad "no warning for /blocked: $(cat "$T/log")"
	expect "replaced, owner/mode/mtime kept" "$D/etc/app.conf" '%u:%g %a %Y %s' "5:6 4640 978307200 9"
	[ "$(cat "$D/etc/app.conf")" = appended ] && ok "contents replaced" || bad "contents"
	expect "own dir: the archive's mode, the image's mtime" "$D/etc" '%a %Y' "750 1500000000"
	gone "own file not handed over" "$D/etc/own.conf"
	gone "own /init not handed over" "$D/init"
	gone "own module not handed over" "$D/usr/lib/modules"
	expect "through the image's /lib symlink" "$D/usr/lib/firmware" '%F %a' "directory 700"
	expect "... with its file" "$D/usr/lib/firmware/fw.bin" '%s' "3"
	expect "the image's symlink stays" "$D/lib" '%F' "symbolic link"
	expect "credential" "$D/.extra/credentials/a.cred" '%a %s' "400 5"
	expect "credentials dir" "$D/.extra/credentials" '%a %Y' "500 1600000000"
	[ "$(md5sum <"$D/big")" = "$big" ] && ok "3 MB copied back to front intact" || bad "big differs"
	expect "symlink" "$D/sym" '%N %Y' "'$D/sym' -> 'etc/app.conf' 1234567890"
	expect "fifo" "$D/fifo" '%F %a' "fifo 604"
	expect "hard links" "$D/hard-b" '%h' "2"
	[ "$(stat -c %i "$D/hard-a")" = "$(stat -c %i "$D/hard-b")" ] && ok "one inode" || bad "two inodes"
	expect "empty directory replaced by a file" "$D/empty" '%F' "regular file"
	expect "non-empty directory kept" "$D/blocked/x" '%s' "5"
	gone "mount point left alone" "$D/mnt/f"
	gone "skipped path" "$D/initoverlayfs"
	for p in etc/app.conf .extra big sym fifo hard-a hard-b empty lib/firmware; do
		gone "moved off the rootfs: $p" "$S/$p"
	done
	for p in init etc/own.conf lib/modules/m.ko mnt/f initoverlayfs/x blocked; do
		[ -e "$S/$p" ] && ok "stays on the rootfs: $p" || bad "$S/$p removed"
	done
	# a new root that cannot be written: one line, exit 1
	mkdir "$T/ro" && mount -t tmpfs -o ro tmpfs "$T/ro"
	echo again >"$S/again"
	out=$("$BIN" "$T/manifest" "$S" "$T/ro" /initoverlayfs 2>/dev/null) && bad "a read-only root accepted"
	case $out in
	"FAILED /"*": Read-only file system") ok "read-only root: $out" ;;
	*) bad "read-only root: $out" ;;
	esac
	exit $fail
fi

in_namespace handover.sh "$BIN"

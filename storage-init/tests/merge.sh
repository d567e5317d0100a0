#!/bin/sh
# Extensions merged into one RAM layer (src/merge.c) against the kernel's own
# overlayfs, in a private mount namespace on a tmpfs (root only): the image
# under e2 over e1 as three overlay layers (what storage-init stacked before)
# must list exactly as the image under the merged layer: names, types,
# modes, owners, sizes, symlink targets, times, contents, xattrs, hard links
# (not a directory's size and link count: overlayfs reports those of one
# layer, or 1 for a merged directory).
# Cases: a file over a file, a directory merged, an opaque directory, a
# whiteout (0/0 character device), a directory over a lower whiteout or over
# a lower opaque directory, a whiteout over a file, a directory over the
# image's file, a file over the image's directory, hard links, a symlink,
# a set-id file with a capability.
# usage: merge.sh MERGE-IO-BINARY
set -u
PATH=$PATH:/usr/sbin:/sbin
BIN=$1
. "$(dirname "$0")/in-namespace.sh"

if [ "${2:-}" = --in-namespace ]; then
	T=$3
	mount -t tmpfs -o mode=0755 tmpfs "$T" || exit 1
	I=$T/image E1=$T/e1 E2=$T/e2 R=$T/r
	mkdir -p "$I/usr/d1" "$I/usr/d2" "$I/usr/d3" "$I/usr/d4" "$I/usr/dir-then-file/x" "$R" "$T/a" "$T/b"
	echo image >"$I/usr/a"; echo image >"$I/usr/d1/x"; echo image >"$I/usr/d2/y"
	echo image >"$I/usr/d3/z"; echo image >"$I/usr/d4/z"; echo image >"$I/usr/file-then-dir"
	echo image >"$I/usr/keep"; echo image >"$I/usr/gone"
	# e1
	mkdir -p "$E1/usr/d1" "$E1/usr/d2" "$E1/usr/d4" "$E1/opt/tool"
	echo e1 >"$E1/usr/a"; echo e1 >"$E1/usr/d1/e1"; echo e1 >"$E1/usr/d2/w"
	setfattr -n trusted.overlay.opaque -v y "$E1/usr/d2"
	mknod "$E1/usr/d3" c 0 0
	echo e1 >"$E1/usr/d4/only-e1"; setfattr -n trusted.overlay.opaque -v y "$E1/usr/d4"
	echo e1 >"$E1/usr/n"; mknod "$E1/usr/gone" c 0 0
	echo linked >"$E1/opt/tool/hl1"; ln "$E1/opt/tool/hl1" "$E1/opt/tool/hl2"
	ln -s ../usr/a "$E1/opt/tool/sym"; touch -h -d @1234567890 "$E1/opt/tool/sym"
	echo tool >"$E1/opt/tool/bin"; chown 3:4 "$E1/opt/tool/bin"; chmod 4755 "$E1/opt/tool/bin"
	setcap cap_net_raw+ep "$E1/opt/tool/bin"
	setfattr -n trusted.note -v e1 "$E1/usr/a"; setfattr -n trusted.note -v e1dir "$E1/usr/d1"
	touch -d @1400000000 "$E1/usr/d1" "$E1/usr/a"
	# e2
	mkdir -p "$E2/usr/d1" "$E2/usr/d2" "$E2/usr/d3" "$E2/usr/d4" "$E2/usr/file-then-dir"
	echo e2 >"$E2/usr/d1/e2"; echo e2 >"$E2/usr/d2/v"; echo e2 >"$E2/usr/d3/q"; echo e2 >"$E2/usr/d4/only-e2"
	mknod "$E2/usr/n" c 0 0; echo e2 >"$E2/usr/dir-then-file"; echo e2 >"$E2/usr/file-then-dir/f"
	chmod 0700 "$E2/usr/d1"; setfattr -n trusted.other -v e2dir "$E2/usr/d1"; touch -d @1500000000 "$E2/usr/d1"
	for d in "$I" "$E1" "$E2"; do touch -d @1300000000 "$d/usr" "$d"; done
	[ -d "$E1/opt" ] && touch -d @1300000000 "$E1/opt"
	# what storage-init did before: each extension a layer of the overlay
	mount -t overlay overlay -o ro,lowerdir="$E2:$E1:$I" "$T/a" || exit 1
	# now: e1 copied into the RAM layer, e2 staged and merged over it
	"$BIN" copy "$E1" "$R/0" || bad "copy e1"
	"$BIN" copy "$E2" "$R/s" || bad "copy e2"
	"$BIN" over "$R/s" "$R/0" || bad "merge"
	"$BIN" remove "$R/s" || bad "remove the staged leftovers"
	mount -t overlay overlay -o ro,lowerdir="$R/0:$I" "$T/b" || exit 1
	list() (
		cd "$1" && { find . ! -type d -printf '%p %y %m %U:%G %s %l %T@ %n\n'
			find . -type d -printf '%p %y %m %U:%G %T@\n'; } | sort
		find . -type f | sort | xargs md5sum
		getfattr -R -h -d -m - . 2>/dev/null | grep -v '^$'
	)
	list "$T/a" >"$T/want"; list "$T/b" >"$T/got"
	if cmp -s "$T/want" "$T/got"; then ok "the merged layer shows what the three layers showed ($(wc -l <"$T/want") lines)"
	else bad "the merged layer differs from the stacked layers:"; diff "$T/want" "$T/got"; fi
	# the cases, spelled out (the listing could agree on a wrong tree)
	[ "$(cat "$T/b/usr/a")" = e1 ] && ok "file over file" || bad "usr/a"
	[ -e "$T/b/usr/d1/x" ] && [ -e "$T/b/usr/d1/e1" ] && [ -e "$T/b/usr/d1/e2" ] && ok "directories merge" || bad "usr/d1"
	[ ! -e "$T/b/usr/d2/y" ] && [ -e "$T/b/usr/d2/w" ] && [ -e "$T/b/usr/d2/v" ] && ok "a lower opaque directory under an upper one" || bad "usr/d2"
	[ ! -e "$T/b/usr/d3/z" ] && [ -e "$T/b/usr/d3/q" ] && ok "a directory over a whiteout" || bad "usr/d3"
	[ ! -e "$T/b/usr/d4/z" ] && [ -e "$T/b/usr/d4/only-e1" ] && ok "opaque stays opaque under a merge" || bad "usr/d4"
	[ ! -e "$T/b/usr/n" ] && [ ! -e "$T/b/usr/gone" ] && [ -e "$T/b/usr/keep" ] && ok "whiteouts" || bad "whiteouts"
	[ -f "$T/b/usr/dir-then-file" ] && [ -f "$T/b/usr/file-then-dir/f" ] && ok "type changes" || bad "type changes"
	[ "$(stat -c %i "$T/b/opt/tool/hl1")" = "$(stat -c %i "$T/b/opt/tool/hl2")" ] && ok "hard link" || bad "hard link"
	case $(getcap "$T/b/opt/tool/bin") in *cap_net_raw*) ok "capability kept" ;; *) bad "capability lost" ;; esac
	# a copy that cannot be made: one failure, the step and path named
	mknod "$T/fifo-src" p 2>/dev/null; mkdir "$T/ro" && mount -t tmpfs -o ro tmpfs "$T/ro"
	out=$("$BIN" copy "$E1" "$T/ro/x") && bad "copy onto a read-only tmpfs accepted"
	case $out in "FAILED mkdir $T/ro/x: Read-only file system") ok "read-only target: $out" ;; *) bad "read-only target: $out" ;; esac
	exit $fail
fi

in_namespace merge.sh "$BIN"

#!/usr/bin/env bash
# Debian's arm64 kernel and the stock initramfs Debian makes for it, for the arm64 boot tests and
# bench: the same kernel version as the host's newest /boot/vmlinuz-*-amd64, installed into a
# minimal arm64 Debian root (debootstrap --foreign, second stage and the kernel's postinst run
# under qemu-user through binfmt_misc), so initramfs-tools runs with arm64 busybox-static, klibc,
# udev and kmod exactly as on an arm64 machine. Idempotent: prints the cache directory and
# returns at once when it is already made. Needs root and network access to the Debian archive.
#
#   scripts/arm64-kernel.sh [cache dir]   (default /var/cache/initoverlayfs-arm64)
#
# The cache directory then holds <kver>/vmlinuz (the Image), <kver>/initrd.img, <kver>/busybox
# (static, arm64) and <kver>/root (the arm64 root, its /lib/modules/<kver> the kernel's modules).
set -euo pipefail

CACHE=${1:-/var/cache/initoverlayfs-arm64}
amd64=$(ls /boot | sed -n 's/^vmlinuz-\(.*-amd64\)$/\1/p' | sort | tail -n1)
[ -n "$amd64" ] || { echo "arm64-kernel: no /boot/vmlinuz-*-amd64 to take the version from" >&2; exit 1; }
KVER=${amd64%-amd64}-arm64
VERSION=$(dpkg-query -W -f '${Version}' "linux-image-$amd64")
OUT=$CACHE/$KVER
if [ -e "$OUT/done" ]; then echo "$OUT"; exit 0; fi

log() { echo "arm64-kernel: $*" >&2; }
export DEBIAN_FRONTEND=noninteractive
# one run at a time: the tests may ask for it from several processes
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -e "$OUT/done" ]; then echo "$OUT"; exit 0; fi

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
[ -x /usr/bin/qemu-aarch64-static ] || need+=(qemu-user-static)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update -qq
fi
if [ ${#need[@]} -gt 0 ]; then apt-get install -y -qq "${need[@]}" >/dev/null; fi

# arm64 programs run through qemu-user: binfmt_misc must be mounted and the handler enabled
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { log "binfmt_misc handler qemu-aarch64 is not enabled"; exit 1; }

# the mirror apt already uses (no host written here)
MIRROR=$(sed -n 's/^URIs: *\([^ ]*\/debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
[ -n "$MIRROR" ] || MIRROR=$(sed -n 's/^deb \+\(\[[^]]*\] \+\)\?\([^ ]*\/debian\) .*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n1)
[ -n "$MIRROR" ] || { log "no Debian mirror in apt's sources"; exit 1; }
SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")

TMP=$OUT.tmp
ROOT=$TMP/root
cleanup() {
  for m in "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"; do mountpoint -q "$m" 2>/dev/null && umount -l "$m"; done
  return 0
}
trap cleanup EXIT
cleanup
rm -rf "$TMP"
mkdir -p "$ROOT"
t0=$(date +%s)
log "debootstrap $SUITE arm64 into $ROOT"
# busybox-static as on the host (setup.sh installs it): initramfs-tools then copies it, and the
# test root runs it
debootstrap --foreign --arch=arm64 --variant=minbase \
  --include=initramfs-tools,busybox-static,zstd,kmod,linux-base "$SUITE" "$ROOT" "$MIRROR" >"$TMP/debootstrap1.log" 2>&1 \
  || { log "debootstrap first stage failed, see $TMP/debootstrap1.log"; tail -n 20 "$TMP/debootstrap1.log" >&2; exit 1; }
# without binfmt_misc's F flag the kernel opens the handler's interpreter inside the root: put the
# static emulator there
INTERP=$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)
install -D -m 0755 /usr/bin/qemu-aarch64-static "$ROOT$INTERP"
chroot "$ROOT" /debootstrap/debootstrap --second-stage >"$TMP/debootstrap2.log" 2>&1 \
  || { log "debootstrap second stage failed, see $TMP/debootstrap2.log"; tail -n 20 "$TMP/debootstrap2.log" >&2; exit 1; }
t1=$(date +%s)
log "arm64 root made in $((t1 - t0)) s; installing linux-image-$KVER $VERSION"

# Speed: mkinitramfs runs a few small programs per module (realpath, readlink, mkdir, cp, modinfo;
# ~1,000 modules), each an emulated process start (29 min here; 1.5 min native). The host's builds
# of the same Debian packages stand in for them while the kernel is installed: they only look at
# and copy files (modinfo reads any architecture's modules), none of them goes into the initramfs
# (busybox, klibc, udev and kmod do, from the arm64 root), and zstd makes the same bytes anywhere.
# Each is started by a static trampoline through the x86-64 loader under /usr/lib/x86_64-linux-gnu
# (a /lib64 in the root would make mkinitramfs add a lib64 link). Put back after; the initramfs
# made so is the same, file for file, as the one made with the arm64 programs.
NATIVE="realpath readlink mkdir cp ln dirname basename cat sort zstd"
X86=/usr/lib/x86_64-linux-gnu/arm64-kernel-sh
native_tools_in() {
  local p f l
  mkdir -p "$ROOT/.arm64-originals" "$ROOT$X86"
  cat >"$TMP/trampoline.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
/* argv[0]'s base name is the program under DIR, run by the x86-64 loader with DIR's libraries */
#define DIR "/usr/lib/x86_64-linux-gnu/arm64-kernel-sh"
int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
  static char prog[4096];
  char *args[argc + 8];
  int n = 0;
  snprintf(prog, sizeof prog, "%s/%s", DIR, base);
  args[n++] = DIR "/ld.so"; args[n++] = "--library-path"; args[n++] = DIR;
  args[n++] = "--argv0"; args[n++] = argv[0]; args[n++] = prog;
  for (int i = 1; i < argc; i++) args[n++] = argv[i];
  args[n] = NULL;
  execv(args[0], args);
  perror(prog);
  return 127;
}
C
  musl-gcc -static -Os -o "$TMP/trampoline" "$TMP/trampoline.c"
  install -m 0755 /lib64/ld-linux-x86-64.so.2 "$ROOT$X86/ld.so"
  for p in $NATIVE kmod; do
    install -m 0755 "$(readlink -f "$(command -v "$p")")" "$ROOT$X86/$p"
    for l in $(ldd "$(command -v "$p")" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p'); do install -m 0644 "$l" "$ROOT$X86/"; done
  done
  for p in $NATIVE; do
    f=$(chroot "$ROOT" /bin/sh -c "command -v $p") && [ -n "$f" ] || continue
    mv "$ROOT$f" "$ROOT/.arm64-originals/$p"
    echo "$f" >"$ROOT/.arm64-originals/$p.path"
    install -m 0755 "$TMP/trampoline" "$ROOT$f"
  done
  # modinfo is kmod by its name; the arm64 kmod stays where the kmod hook copies it from
  readlink "$ROOT/usr/sbin/modinfo" >"$ROOT/.arm64-originals/modinfo.link"
  install -m 0755 "$TMP/trampoline" "$ROOT$X86/modinfo-trampoline"
  ln -sfn kmod "$ROOT$X86/modinfo"
  mv "$ROOT$X86/modinfo-trampoline" "$ROOT/usr/sbin/modinfo.new" && mv -T "$ROOT/usr/sbin/modinfo.new" "$ROOT/usr/sbin/modinfo"
}
native_tools_out() {
  local p
  [ -d "$ROOT/.arm64-originals" ] || return 0
  for p in $NATIVE; do
    [ -e "$ROOT/.arm64-originals/$p.path" ] && mv -f "$ROOT/.arm64-originals/$p" "$ROOT$(cat "$ROOT/.arm64-originals/$p.path")"
  done
  rm -f "$ROOT/usr/sbin/modinfo"
  ln -s "$(cat "$ROOT/.arm64-originals/modinfo.link")" "$ROOT/usr/sbin/modinfo"
  rm -rf "$ROOT$X86" "$ROOT/.arm64-originals"
  rmdir "$ROOT/usr/lib/x86_64-linux-gnu" 2>/dev/null || true
}

# the kernel package as the host's apt has it (multiarch), installed by dpkg in the root: its
# postinst runs depmod and update-initramfs, which makes the stock initramfs
(cd "$TMP" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$KVER:arm64=$VERSION")
cp "$TMP"/linux-image-"$KVER"_*_arm64.deb "$ROOT/tmp/"
mount -t proc proc "$ROOT/proc"
native_tools_in
chroot "$ROOT" dpkg -i "/tmp/$(basename "$TMP"/linux-image-"$KVER"_*_arm64.deb)" >"$TMP/kernel.log" 2>&1 \
  || { log "installing the kernel failed, see $TMP/kernel.log"; tail -n 20 "$TMP/kernel.log" >&2; exit 1; }
native_tools_out
cleanup
rm -f "$TMP"/*.deb "$ROOT"/tmp/*.deb "$ROOT"/var/cache/apt/archives/*.deb
[ -s "$ROOT/boot/initrd.img-$KVER" ] || { log "the kernel's postinst made no $ROOT/boot/initrd.img-$KVER"; exit 1; }
t2=$(date +%s)
log "kernel and initramfs in $((t2 - t1)) s"

ln -s "root/boot/vmlinuz-$KVER" "$TMP/vmlinuz"
ln -s "root/boot/initrd.img-$KVER" "$TMP/initrd.img"
ln -s root/bin/busybox "$TMP/busybox"
echo "$KVER $VERSION made in $((t2 - t0)) s" >"$TMP/done"
rm -rf "$OUT"
mv "$TMP" "$OUT"
echo "$OUT"

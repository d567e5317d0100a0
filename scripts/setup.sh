#!/usr/bin/env bash
# Installs everything initoverlayfs needs on a fresh Debian machine (run as root), then builds.
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
# arm64 packages next to the host's (multiarch): musl-dev:arm64 for storage-init's arm64 build,
# and the arm64 -dev packages the addons' prebuilts link (below)
dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
apt-get update -qq
# erofs-utils, cpio and the compressors: ground truth for the tests and the reference pipeline
# in bench/; linux-image-amd64 brings a real Debian kernel and initramfs into /boot; attr for
# xattr tests; musl-tools to build storage-init; qemu, busybox, dosfstools, mtools, e2fsprogs for
# boot tests; xfsprogs, btrfs-progs and fdisk make the real filesystems and partition tables
# storage-init's probes are checked against; kmod for modprobe --show-depends; dracut-core to
# make a dracut/systemd initramfs for the boot tests (it does not replace initramfs-tools);
# fsverity (fsverity-utils), cryptsetup-bin (veritysetup) and openssl are the ground truth for
# the fs-verity/dm-verity/signature tests (ours and storage-init's) and bench/digest.ts (openssl
# also makes the test keys).
# fusefat gives the install crash tests a FAT /boot where the kernel has no vfat; initramfs-tools
# (update-initramfs and its post-update hooks) and systemd (kernel-install) run our hooks in the
# Debian acceptance test; systemd's journalctl reads the journal the dracut initrd keeps (boot-report);
# e2fsprogs' debugfs copies it off the test root without a mount.
# liblz4-dev, libzstd-dev, liblzma-dev, build-essential and python3 for our LZ4, zstd and xz
# addons (node-gyp; they link the system liblz4, libzstd and liblzma). gcc-aarch64-linux-gnu and
# liblz4-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 build the npm package's linux-arm64
# prebuilts (scripts/prebuild.mjs links the .a files); qemu-user runs them in an arm64 Node
# (Debian's nodejs:arm64, unpacked from apt-get download by test/package/prebuilt.test.ts).
# clang and libclang-rt-dev (libFuzzer, ASan, UBSan) build storage-init's fuzz targets
# (storage-init/fuzz, `make -C storage-init fuzz`), which npm test's fuzzing smoke pass runs.
# acpica-tools (iasl) compiles the ACPI table that test/boot/early.test.ts puts in an early archive.
# systemd-boot-efi ships systemd-stub (linuxx64.efi.stub), the PE stub `initoverlayfs uki` builds
# on; ovmf is the UEFI firmware the UKI boot tests start it with (test/boot/uki.test.ts).
# systemd-container (systemd-dissect) reads our DDI images in the DDI tests (systemd brings
# systemd-repart, which makes the reference DDI they are compared with byte for byte).
# libbearssl-dev: BearSSL's headers for storage-init's signature check (src/pkcs7.c); its sources
# are built from storage-init/bearssl/ (scripts/bearssl-vendor.sh: Debian's .a needs glibc).
# gcc-aarch64-linux-gnu and musl-dev:arm64 cross-build storage-init for arm64
# (aarch64-linux-musl-gcc); qemu-user (qemu-aarch64) runs its unit tests here.
# qemu-system-arm (qemu-system-aarch64) boots Debian's arm64 kernel in the arm64 boot tests;
# debootstrap, qemu-user-static and binfmt-support make the arm64 Debian root whose initramfs-tools
# makes its stock initramfs (scripts/arm64-kernel.sh, run by the tests when first needed).
# dracut-squash and squashfs-tools: dracut's squash module, the peer bench/dracut.ts compares with
# (dracut's modules only; initramfs-tools stays the generator).
apt-get install -y -qq \
  erofs-utils cpio zstd xz-utils lz4 liblz4-dev libzstd-dev liblzma-dev build-essential python3 gzip bzip2 lzop \
  gcc-aarch64-linux-gnu liblz4-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 qemu-user \
  linux-image-amd64 attr file time \
  musl-tools qemu-system-x86 busybox-static dosfstools mtools e2fsprogs \
  xfsprogs btrfs-progs fdisk kmod dracut-core fusefat initramfs-tools systemd \
  fsverity cryptsetup-bin openssl clang libclang-rt-dev acpica-tools systemd-boot-efi ovmf systemd-container libbearssl-dev \
  musl-dev:arm64 qemu-system-arm debootstrap qemu-user-static binfmt-support dracut-squash squashfs-tools >/dev/null

npm ci --no-audit --no-fund
npm run build

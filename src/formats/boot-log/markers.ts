/**
 * The log lines a boot report is built from. Each pattern matches one line's message (after the
 * kernel timestamp). The wording is someone else's: storage-init's comes from storage-init/src
 * (test/formats/boot-log/markers.unit.test.ts instantiates the C format strings and checks each
 * pattern against them, so a rewording breaks a test, not users); the kernel's and systemd's
 * from their sources (cited per pattern) and the captured QEMU console logs in the fixtures.
 */

/** storage-init's log.h LOG_PREFIX: every line storage-init and its shims write to /dev/kmsg. */
export const STORAGE_INIT_PREFIX = "initoverlayfs: ";

/** storage-init's lines, after STORAGE_INIT_PREFIX. */
export const STORAGE_INIT_LINES = {
  /** main.c: "storage-init %s starting" (the version) */
  start: /^storage-init (\S+) starting$/,
  /** main.c, right before execve: "starting %s from the image (%llu ms)" (the init, its own elapsed time) */
  handOver: /^starting (\S+) from the image \((\d+) ms\)$/,
  /** failure.c fail() and switchroot.c shim_fail(): "FAILED at %s: %s: %s" (step, what, reason) */
  failed: /^FAILED at ([^:]+): (.*)$/,
  /** switchroot.c, the run-init/switch_root shims: "%s: switched to %s (pivot_root, ...)" / "(mount --move)" */
  switched: /^(run-init|switch_root): switched to (\S+) \(([^)]*)\)$/,
} as const;

/** The kernel's lines. */
export const KERNEL_LINES = {
  /** init/version.c linux_banner, the first line start_kernel() prints: a log that has it reaches back to the boot's start */
  banner: /^Linux version \S+ /,
  /** init/main.c run_init_process(): "Run %s as init process": the first program (the initramfs's /init, or the root's init) */
  runInit: /^Run (\S+) as init process$/,
  /** init/initramfs.c: the boot loader's initramfs is being unpacked into the rootfs (6.1: asynchronously) */
  unpackStart: /^Trying to unpack rootfs image as initramfs\.\.\.$/,
  /** init/initramfs.c free_initrd_mem(): printed once the unpacking is done */
  unpackEnd: /^Freeing initrd memory: \d+K$/,
  /** init/do_mounts.c: the kernel mounted the root itself (no initramfs stage) */
  mountedRoot: /^VFS: Mounted root \(/,
  /**
   * security/tomoyo/load_policy.c, when the activation trigger (default /sbin/init) is executed:
   * "Not activating Mandatory Access Control as %s does not exist." or "Calling %s to load
   * policy. Please wait.". Debian's kernels print it when the real root's /sbin/init starts.
   */
  rootInitExec: /^(?:Not activating Mandatory Access Control as \S+ does not exist\.|Calling \S+ to load policy\. Please wait\.)$/,
} as const;

/** systemd's lines in the kernel log (it logs to /dev/kmsg as "systemd[1]: ..." early in boot). */
export const SYSTEMD_LINES = {
  /** src/core/main.c log_execution_mode(): "systemd " GIT_VERSION " running in %ssystem mode (%s)" (older: "mode. (") */
  systemMode: /^systemd\[1\]: systemd (\S+) running in system mode\b/,
  /** the same function, right after, when systemd runs in the initrd: "Running in initrd." */
  inInitrd: /^systemd\[1\]: Running in initrd\.$/,
} as const;

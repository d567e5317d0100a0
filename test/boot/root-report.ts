/**
 * The test root's side of a boot: the init the root disk runs and the parser of what it prints
 * on the console. Pure (text in, numbers out), so the unit tier can parse captured consoles.
 */

/**
 * The test root's /sbin/init: a marker, the numbers the benchmark needs, `checks` (shell, after
 * the old root's devices are gone), then power off.
 */
export const rootInit = (checks = ""): string => `#!/bin/busybox sh
B=/bin/busybox
[ -e /proc/self/stat ] || $B mount -t proc proc /proc
[ -d /sys/block ] || $B mount -t sysfs sysfs /sys
echo ROOT-MARKER
echo "UPTIME $($B cat /proc/uptime)"
for f in /sys/block/*/stat; do echo "STAT $f $($B cat $f)"; done
$B grep MemAvailable /proc/meminfo | $B sed 's/^/MEM /'
echo "MODULES $($B cut -d' ' -f1 /proc/modules | $B tr '\n' ' ')"
# storage-init's per-module times (initoverlayfs.debug=1 puts them in the kernel log only)
$B dmesg | $B grep 'initoverlayfs: module ' | $B sed 's/^/KMOD /'
# the old overlay, EROFS mount, device-mapper and loop devices go away asynchronously after the
# switch, once the last process of the initramfs has exited: wait up to 30 s in half seconds (a
# loaded host slows a TCG guest's teardown); when they are not gone at once, say who still runs
n=0
while [ $n -lt 60 ]; do
  busy=0
  for f in /sys/block/loop*/loop/backing_file /sys/block/dm-*/dm; do [ -e "$f" ] && busy=1; done
  [ $busy = 0 ] && break
  if [ $n = 0 ]; then
    $B ps -o pid,stat,args | $B grep -v ' \\[[^]]*\\]$' | $B sed 's/^/WAIT-PS /'
    # of each program but this shell: where it sleeps and which signals wait for it
    for p in /proc/[0-9]*; do
      [ "\${p#/proc/}" = 1 ] || [ "\${p#/proc/}" = $$ ] || [ -z "$($B cat $p/cmdline 2>/dev/null | $B head -c 1)" ] && continue
      echo "WAIT-SIG \${p#/proc/} $($B cat $p/wchan 2>/dev/null) $($B grep -E '^(SigPnd|ShdPnd|SigBlk|SigCgt)' $p/status 2>/dev/null | $B tr -s '\\t\\n' '  ')"
    done
    for h in /sys/block/*/holders/*; do [ -e "$h" ] && echo "WAIT-HOLDER $h"; done
  fi
  n=$((n + 1)); $B sleep 0.5
done
echo "LOOPS-WAITED $n"
for f in /sys/block/loop*/loop/backing_file; do [ -e "$f" ] && echo "LOOP-BACKED $f $($B cat $f)"; done
for d in /sys/block/dm-*; do [ -e "$d" ] && echo "DM-PRESENT $d"; done
echo "LOOPS-CHECKED"
$B grep -q ' /boot ' /proc/mounts && echo "BOOT-MOUNTED" || echo "BOOT-NOT-MOUNTED"
${checks ? `# the checks' lines are compared whole: only the kernel's emergencies may interrupt them
echo 1 > /proc/sys/kernel/printk
${checks}` : ""}echo "ROOT-DONE"
$B poweroff -f
`;

export const ROOT_INIT = rootInit();

/**
 * A check for rootInit: the boot partition the kernel command line names (`iofs.bootpart=NAME`,
 * under /dev) gets what a real system does to it after the initramfs: fsck (e2fsck refuses a
 * device in use), then a read-write mount on /boot and a write (systemd-fsck@, boot.mount).
 */
export const BOOT_PARTITION_CHECK = `dev=$($B sed -n 's/.*iofs[.]bootpart=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
if [ -n "$dev" ]; then
  out=$(/sbin/e2fsck -f -p /dev/$dev 2>&1); rc=$?
  echo "$out" | $B sed "s/^/  e2fsck $dev: /"
  echo "FSCK-BOOT $dev rc=$rc"
  st=ok
  msg=$($B mount -t ext4 -o rw /dev/$dev /boot 2>&1) || st="$msg"
  if [ "$st" = ok ]; then
    (echo x > /boot/rw-test && $B sync && $B rm /boot/rw-test) 2>/dev/null || st="cannot write /boot"
    $B umount /boot || st="$st; umount failed"
  fi
  [ "$st" = ok ] && echo "BOOT-RW-OK $dev" || echo "BOOT-RW-FAILED $dev $st"
fi
`;

/**
 * A check for rootInit: the value of each module parameter the kernel command line names
 * (`iofs.params=MODULE/PARAM,...`), as sysfs shows it.
 */
export const MODULE_PARAMS_CHECK = `for p in $($B sed -n 's/.*iofs[.]params=\\([^ ]*\\).*/\\1/p' /proc/cmdline | $B tr , ' '); do
  echo "PARAM $p $($B cat /sys/module/\${p%%/*}/parameters/\${p#*/} 2>/dev/null || echo '(none)')"
done
`;

/** The numbers the test root prints. */
export function rootReport(consoleText: string) {
  const up = /^UPTIME ([\d.]+)/m.exec(consoleText);
  const mem = /^MEM MemAvailable:\s+(\d+) kB/m.exec(consoleText);
  // /sys/block/X/stat: read requests completed, read requests merged, sectors read, ...
  const sectorsRead: Record<string, number> = {}, readRequests: Record<string, number> = {};
  for (const m of consoleText.matchAll(/^STAT \/sys\/block\/(\w+)\/stat\s+(\d+)\s+(\d+)\s+(\d+)/gm)) {
    sectorsRead[m[1]] = Number(m[4]);
    readRequests[m[1]] = Number(m[2]);
  }
  return {
    reached: /^ROOT-MARKER$/m.test(consoleText),
    uptime: up ? Number(up[1]) : undefined,
    memAvailableKiB: mem ? Number(mem[1]) : undefined,
    bytesRead: Object.fromEntries(Object.entries(sectorsRead).map(([k, v]) => [k, v * 512])),
    /** read requests each disk completed (after the block layer merged adjacent ones) */
    readRequests,
    /** the modules loaded when the root started */
    modules: (/^MODULES (.*)$/m.exec(consoleText)?.[1] ?? "").split(" ").filter(Boolean),
    /** storage-init's load time of each module it loaded, by module name, ms (with initoverlayfs.debug=1) */
    moduleMs: Object.fromEntries([...consoleText.matchAll(/^KMOD .*initoverlayfs: module \S*\/([^/\s]+)\.ko\S*(?: [^:]*)?: loaded \((\d+) ms\)$/gm)].map((m) => [m[1].replace(/-/g, "_"), Number(m[2])])),
    loopsBacked: [...consoleText.matchAll(/^LOOP-BACKED (.*)$/gm)].map((m) => m[1]),
    /** half seconds the root waited for the loop and device-mapper devices to go */
    loopsWaited: Number(/^LOOPS-WAITED (\d+)$/m.exec(consoleText)?.[1] ?? NaN),
    /** what still ran, and what held which device, when the root first looked */
    loopWait: [...consoleText.matchAll(/^WAIT-(?:PS|SIG|HOLDER) (.*)$/gm)].map((m) => m[1]),
    dmPresent: [...consoleText.matchAll(/^DM-PRESENT (.*)$/gm)].map((m) => m[1]),
    bootMounted: /^BOOT-MOUNTED$/m.test(consoleText),
    /** MODULE_PARAMS_CHECK: "module/param" → its value */
    moduleParams: Object.fromEntries([...consoleText.matchAll(/^PARAM (\S+) (.*)$/gm)].map((m) => [m[1], m[2]])),
    /** BOOT_PARTITION_CHECK: e2fsck's exit code, and "ok" or why /boot could not be written */
    bootPartition: {
      fsck: Number(/^FSCK-BOOT \S+ rc=(\d+)$/m.exec(consoleText)?.[1] ?? NaN),
      rw: ((m) => m && (m[1] === "OK" ? "ok" : m[2].trim()))(/^BOOT-RW-(OK|FAILED) \S+(.*)$/m.exec(consoleText)),
    },
    done: /^ROOT-DONE$/m.test(consoleText),
  };
}

/** The console's last lines, for failure messages. */
export function tail(text: string, n = 60): string {
  return text.split("\n").slice(-n).join("\n");
}

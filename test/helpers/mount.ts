/** Loop-mounting EROFS images (root only; the machine has few loop devices: always clean up). */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { run } from "./run.js";

function detachLoops(image: string): void {
  const r = run("losetup", ["-j", image], { allowFail: true });
  for (const line of r.stdout.split("\n")) {
    const dev = line.split(":")[0];
    if (dev && dev.startsWith("/dev/loop")) run("losetup", ["-d", dev], { allowFail: true });
  }
}

/**
 * Mounts `image` read-only (-t erofs -o loop,ro) on a fresh temp dir, runs fn(dir), then always
 * unmounts, detaches the loop device and removes the dir. A failing mount throws mount's message.
 */
export async function withLoopMount<T>(image: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "iofs-mnt-"));
  const abs = path.resolve(image);
  let mounted = false;
  try {
    const r = run("mount", ["-t", "erofs", "-o", "loop,ro", abs, dir], { allowFail: true });
    if (r.code !== 0) {
      const dmesg = run("dmesg", [], { allowFail: true }).stdout.split("\n").filter((l) => /erofs/i.test(l)).slice(-3).join("\n");
      throw new Error(`mount ${image} failed: ${r.stderr.trim()}${dmesg ? "\n" + dmesg : ""}`);
    }
    mounted = true;
    return await fn(dir);
  } finally {
    if (mounted) {
      let u = run("umount", [dir], { allowFail: true });
      if (u.code !== 0) u = run("umount", ["-l", dir], { allowFail: true });
    }
    detachLoops(abs);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

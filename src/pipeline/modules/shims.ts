/**
 * The switch-root programs of the original initramfs that refuse a root that is not tmpfs or
 * ramfs: klibc's run-init and busybox's switch_root (with its run-init applet on Debian). After
 * storage-init, the original initramfs runs on an overlay, so storage-init replaces these with
 * itself (the `shim` config key). Paths are the real ones in the image: sbin/switch_root on a
 * merged-/usr Debian is /usr/sbin/switch_root.
 */
import { FsTree } from "../../fs/tree.js";
import { resolvePath } from "./tree-path.js";

const CANDIDATES: readonly string[] = [
  "usr/bin/run-init", "bin/run-init", "usr/sbin/run-init", "sbin/run-init",
  "usr/sbin/switch_root", "sbin/switch_root", "usr/bin/switch_root", "bin/switch_root",
];

/** Absolute real paths, each once, in CANDIDATES order. The program itself may be a symlink (to busybox). */
export function findSwitchRootPrograms(tree: FsTree): string[] {
  const out: string[] = [];
  for (const c of CANDIDATES) {
    const r = resolvePath(tree, c, false);
    if (!r || (r.node.kind !== "file" && r.node.kind !== "symlink")) continue;
    const p = "/" + r.path;
    if (!out.includes(p)) out.push(p);
  }
  return out;
}

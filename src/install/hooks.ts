/**
 * `initoverlayfs install-hooks`: copies the package's hooks (hooks/ in the package) into a root,
 * with the command that runs this initoverlayfs (node + this package's CLI) written into them:
 *   kernel-install plugin     etc/kernel/install.d/60-initoverlayfs.install  (after 50-dracut.install)
 *   initramfs-tools hook      etc/initramfs/post-update.d/initoverlayfs      (after update-initramfs)
 *   Debian kernel removal     etc/kernel/postrm.d/zz-initoverlayfs           (after initramfs-tools')
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { packageRoot } from "../io/package-files.js";
import { InitoverlayfsError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-file.js";
import { inRoot } from "../io/in-root.js";

/** A hook's path under ROOT: its directories resolve inside ROOT (an absolute ROOT/etc symlink must not reach the host's /etc). */
const hookPath = (root: string, target: string) => join(inRoot(root, "/" + dirname(target)), basename(target));

export const HOOKS: ReadonlyArray<{ source: string; target: string; what: string }> = [
  { source: "kernel-install/60-initoverlayfs.install", target: "etc/kernel/install.d/60-initoverlayfs.install", what: "kernel-install plugin" },
  { source: "initramfs-tools/post-update.d/initoverlayfs", target: "etc/initramfs/post-update.d/initoverlayfs", what: "initramfs-tools post-update hook" },
  { source: "kernel/postrm.d/zz-initoverlayfs", target: "etc/kernel/postrm.d/zz-initoverlayfs", what: "kernel removal hook" },
];

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The command line the hooks run: this node and this package's CLI. */
export function selfCommand(): string {
  const cli = fileURLToPath(new URL("../cli/bin.js", import.meta.url));
  return `${shellQuote(process.execPath)} ${shellQuote(cli)}`;
}

function hooksDir(): string {
  const pkg = packageRoot(dirname(fileURLToPath(import.meta.url)));
  const dir = pkg && join(pkg, "hooks");
  if (!dir || !existsSync(dir)) throw new InitoverlayfsError(`the package's hooks/ directory is missing${pkg ? ` (${pkg})` : ""}`);
  return dir;
}

export function installHooks(o: { root?: string; command?: string } = {}): string[] {
  const root = resolve(o.root ?? "/");
  const command = o.command ?? selfCommand();
  const src = hooksDir();
  const done: string[] = [];
  for (const h of HOOKS) {
    const text = readFileSync(join(src, h.source), "utf8").replaceAll("@INITOVERLAYFS@", command);
    const target = hookPath(root, h.target);
    mkdirSync(dirname(target), { recursive: true });
    writeFileAtomic(target, (w) => w.write(0, Buffer.from(text)), { mode: 0o755 });
    done.push(target);
  }
  return done;
}

export function removeHooks(o: { root?: string } = {}): string[] {
  const root = resolve(o.root ?? "/");
  const done: string[] = [];
  for (const h of HOOKS) {
    const target = hookPath(root, h.target);
    if (existsSync(target)) {
      rmSync(target);
      done.push(target);
    }
  }
  return done;
}

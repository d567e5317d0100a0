/** The Debian kernel the tests use: the newest /boot/vmlinuz-* (installed by .ci/run). */
import { readdirSync } from "node:fs";

export const KVER = (() => {
  const k = readdirSync("/boot").filter((n) => n.startsWith("vmlinuz-")).sort().pop();
  if (!k) throw new Error("no /boot/vmlinuz-*: .ci/run installs linux-image-amd64");
  return k.slice("vmlinuz-".length);
})();

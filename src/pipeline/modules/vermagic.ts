/**
 * A module's vermagic string ("6.1.0-56-amd64 SMP preempt mod_unload modversions"), read from its
 * .modinfo section without an ELF parser: .modinfo is a run of NUL-terminated "key=value" strings,
 * and the kernel refuses a module whose vermagic differs from its own.
 */
const KEY = Buffer.from("\0vermagic=", "latin1");

export function modinfoVermagic(module: Uint8Array): string | undefined {
  const b = Buffer.from(module.buffer, module.byteOffset, module.byteLength);
  const at = b.indexOf(KEY);
  if (at < 0) return undefined;
  const start = at + KEY.length;
  const end = b.indexOf(0, start);
  return b.toString("latin1", start, end < 0 ? b.length : end);
}

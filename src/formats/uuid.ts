/** The canonical 8-4-4-4-12 text of a 16-byte UUID. */
export function formatUuid(u: Uint8Array): string {
  const h = Buffer.from(u).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

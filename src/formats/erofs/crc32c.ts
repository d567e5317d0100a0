/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78, table driven. */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** Raw CRC update: no initial or final inversion (the caller chooses both). */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return c >>> 0;
}

/**
 * The EROFS superblock checksum: seed 0xFFFFFFFF and, unlike standard CRC-32C, no final XOR
 * (the kernel's crc32c() helper leaves it out).
 */
export function erofsSuperblockChecksum(block0From1024: Uint8Array): number {
  return crc32cUpdate(0xffffffff, block0From1024);
}

/** Standard CRC-32C (init and final XOR 0xFFFFFFFF); "123456789" gives 0xE3069283. */
export function crc32c(data: Uint8Array): number {
  return (crc32cUpdate(0xffffffff, data) ^ 0xffffffff) >>> 0;
}

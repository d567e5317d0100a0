/** Block hashing over worker threads: same digests as in this thread, clean failure on a short source. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { test } from "node:test";
import { InitoverlayfsError } from "../../src/errors.js";
import { BlockHasher } from "../../src/formats/verity/block-hasher.js";
import { ByteSource, bytesSource } from "../../src/integrity/byte-source.js";
import { hashSourceBlocks } from "../../src/integrity/leaf-hashing.js";

const params = { algorithm: "sha256" as const, blockSize: 4096, salt: randomBytes(7), saltPosition: "after" as const };

test("worker threads give the digests of hashing in this thread, in order, last block zero-padded", async () => {
  const data = randomBytes((13 << 20) + 100);
  const want = new Uint8Array(Math.ceil(data.length / 4096) * 32);
  const padded = new Uint8Array(want.length / 32 * 4096);
  padded.set(data);
  new BlockHasher(params).hashBlocks(padded, want);
  for (const workers of [0, 2, 3]) {
    const parts: Uint8Array[] = [];
    let bytes = 0;
    await hashSourceBlocks(bytesSource(data), 0, data.length, params, (d, n) => { parts.push(d); bytes += n; }, { workers });
    assert.equal(bytes, data.length);
    assert.ok(Buffer.compare(Buffer.concat(parts), want) === 0, `workers ${workers}`);
  }
});

test("a source shorter than it claims fails with one clean error, also with jobs in flight", async () => {
  const inner = bytesSource(randomBytes(20 << 20), "shrinking");
  const lying: ByteSource = { name: "shrinking", size: 30 << 20, readAt: (b, p) => inner.readAt(b, p) };
  for (const workers of [0, 2]) {
    await assert.rejects(hashSourceBlocks(lying, 0, lying.size, params, () => undefined, { workers }), (e: unknown) => e instanceof InitoverlayfsError && /short read at offset 20971520/.test(e.message));
  }
});

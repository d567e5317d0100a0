/**
 * PKCS#7 signatures: byte-identical to `fsverity sign` and `openssl smime -sign -nocerts -noattr`
 * (RSA PKCS#1 v1.5 is deterministic), accepted by `openssl cms/smime -verify`, and our checker
 * accepts theirs (also ECDSA) and rejects every single-byte change of a signature.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { FormatError, UnsupportedError } from "../../src/errors.js";
import { formattedDigest, fsverityDigest } from "../../src/formats/verity/fsverity.js";
import { signFsverityDigest, signRootHash, verifyDetached } from "../../src/integrity/signature.js";
import { makeTestKey } from "../helpers/keys.js";
import { run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

test("fs-verity signatures equal `fsverity sign` (sha256, sha512) and verify both ways", async () => {
  await withTempDir(async (dir) => {
    const k = makeTestKey(dir);
    const file = join(dir, "image");
    const data = randomBytes(200_000);
    writeFileSync(file, data);
    for (const alg of ["sha256", "sha512"] as const) {
      const theirs = join(dir, `${alg}.sig`);
      run("fsverity", ["sign", file, theirs, `--hash-alg=${alg}`, `--key=${k.keyFile}`, `--cert=${k.certFile}`]);
      const d = fsverityDigest(data, { algorithm: alg });
      const ours = signFsverityDigest(d, k.key, k.cert);
      assert.ok(Buffer.compare(Buffer.from(ours), readFileSync(theirs)) === 0, `${alg}: signature bytes differ from fsverity sign`);
      // openssl checks ours over the formatted digest
      const content = join(dir, "formatted");
      writeFileSync(content, formattedDigest(d));
      writeFileSync(join(dir, "ours.sig"), ours);
      run("openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", join(dir, "ours.sig"), "-content", content, "-certfile", k.certFile, "-CAfile", k.certFile, "-out", "/dev/null"]);
      assert.deepEqual(verifyDetached(readFileSync(theirs), formattedDigest(d), k.cert), { ok: true, hash: alg });
    }
  });
});

test("root hash signatures equal `openssl smime -sign -nocerts -noattr -binary` and pass smime/cms -verify", async () => {
  await withTempDir(async (dir) => {
    const k = makeTestKey(dir);
    const root = randomBytes(32).toString("hex");
    const content = join(dir, "roothash");
    writeFileSync(content, root);
    const theirs = join(dir, "theirs.sig");
    run("openssl", ["smime", "-sign", "-nocerts", "-noattr", "-binary", "-in", content, "-inkey", k.keyFile, "-signer", k.certFile, "-outform", "DER", "-out", theirs]);
    const ours = signRootHash(root, k.key, k.cert);
    assert.ok(Buffer.compare(Buffer.from(ours), readFileSync(theirs)) === 0, "signature bytes differ from openssl smime");
    const oursFile = join(dir, "ours.sig");
    writeFileSync(oursFile, ours);
    for (const tool of ["smime", "cms"]) {
      run("openssl", [tool, "-verify", "-binary", "-inform", "DER", "-in", oursFile, "-content", content, "-certfile", k.certFile, "-CAfile", k.certFile, "-out", "/dev/null"]);
    }
    // openssl rejects it over other content: the comparison above can fail
    writeFileSync(content, root.replace(/.$/, (c) => (c === "0" ? "1" : "0")));
    assert.notEqual(run("openssl", ["smime", "-verify", "-binary", "-inform", "DER", "-in", oursFile, "-content", content, "-certfile", k.certFile, "-CAfile", k.certFile, "-out", "/dev/null"], { allowFail: true }).code, 0);
  });
});

test("checker: ECDSA signatures from fsverity sign; wrong content, wrong signer; RSA-only signing", async () => {
  await withTempDir(async (dir) => {
    const ec = makeTestKey(dir, "ec", "ec");
    const other = makeTestKey(dir, "other");
    const file = join(dir, "image");
    const data = randomBytes(5000);
    writeFileSync(file, data);
    const sigFile = join(dir, "ec.sig");
    run("fsverity", ["sign", file, sigFile, `--key=${ec.keyFile}`, `--cert=${ec.certFile}`]);
    const d = fsverityDigest(data);
    const sig = readFileSync(sigFile);
    assert.equal(verifyDetached(sig, formattedDigest(d), ec.cert).ok, true);
    assert.equal(verifyDetached(sig, formattedDigest(fsverityDigest(data.subarray(1))), ec.cert).ok, false);
    assert.match(verifyDetached(sig, formattedDigest(d), other.cert).reason ?? "", /another signer/);
    assert.throws(() => signFsverityDigest(d, ec.key, ec.cert), UnsupportedError);
    assert.throws(() => verifyDetached(randomBytes(100), formattedDigest(d), ec.cert), FormatError);
  });
});

test("every single-byte change of a signature is rejected (exhaustive over all bytes)", async () => {
  await withTempDir(async (dir) => {
    const k = makeTestKey(dir);
    const root = randomBytes(32).toString("hex");
    const content = new TextEncoder().encode(root);
    const sig = signRootHash(root, k.key, k.cert);
    assert.equal(verifyDetached(sig, content, k.cert).ok, true);
    let changed = 0;
    for (let i = 0; i < sig.length; i++) {
      const b = new Uint8Array(sig);
      b[i] ^= 1 + (i % 255);
      let accepted = false;
      try {
        accepted = verifyDetached(b, content, k.cert).ok;
      } catch (e) {
        assert.ok(e instanceof FormatError, `byte ${i}: ${String(e)}`);
      }
      assert.equal(accepted, false, `a change of byte ${i} of ${sig.length} was accepted`);
      changed++;
    }
    assert.equal(changed, sig.length);
  });
});

test("fuzz finding: an OID arc over 2^53 in the SignerInfo is a FormatError (node-forge throws a plain Error)", async () => {
  await withTempDir(async (dir) => {
    const k = makeTestKey(dir);
    const sig = Buffer.from(signRootHash("ab", k.key, k.cert));
    // signatureAlgorithm rsaEncryption (06 09 2a 86 48 86 f7 0d 01 01 01): its arcs turned into one endless one
    const oid = Buffer.from("06092a864886f70d010101", "hex");
    const at = sig.lastIndexOf(oid);
    assert.ok(at > 0);
    sig.fill(0xff, at + 3, at + oid.length);
    assert.throws(() => verifyDetached(sig, Buffer.from("ab"), k.cert), (e) => e instanceof FormatError && /signatureAlgorithm: malformed OID/.test(e.message));
    // the minimized input the fuzzer found (test/fuzz/regressions/pkcs7): the same error
    const found = readFileSync(new URL("../../../test/fuzz/regressions/pkcs7/oid-arc-over-2-53", import.meta.url));
    assert.throws(() => verifyDetached(found, Buffer.from("ab"), k.cert), (e) => e instanceof FormatError && /malformed OID/.test(e.message));
  });
});

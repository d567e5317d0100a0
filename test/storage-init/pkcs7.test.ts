/**
 * storage-init's signature check (storage-init/src/pkcs7.c with BearSSL, through the host helper
 * build/pkcs7-verify) against openssl on vectors openssl makes here: RSA-2048/4096 and EC P-256
 * signers, with and without signed attributes, signer named by issuer and serial number or by
 * subjectKeyIdentifier, sha256/sha512. Every vector is also given to `openssl cms -verify`, and
 * both must agree; where storage-init is stricter by design, the test says so and asserts it.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { packageRoot } from "../../src/io/package-files.js";
import { makeTestKey, type TestKey } from "../helpers/keys.js";
import { run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

function helper(): string {
  const dir = join(packageRoot()!, "storage-init");
  run("make", ["-s", "-C", dir, "build/pkcs7-verify"], { timeoutMs: 300_000 });
  return join(dir, "build", "pkcs7-verify");
}

/** storage-init's verdict: "ok" or its one line */
function ours(bin: string, sig: string, content: string, cert: string): { ok: boolean; line: string } {
  const r = run(bin, [sig, content, cert], { allowFail: true });
  assert.ok(r.code === 0 || r.code === 1, `pkcs7-verify exited ${r.code}: ${r.stderr}`);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line: ${r.stdout}`);
  assert.equal(r.code === 0, lines[0] === "ok");
  return { ok: r.code === 0, line: lines[0] };
}

/** openssl's verdict on the same files: the pinned certificate is the only one it may use */
function theirs(sig: string, content: string, cert: string): boolean {
  return run("openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", sig, "-content", content, "-certfile", cert, "-nointern", "-noverify", "-out", "/dev/null"], { allowFail: true }).code === 0;
}

interface Form {
  name: string;
  args: string[];
}
const FORMS: Form[] = [
  { name: "no attributes (the kernel's form)", args: ["-noattr"] },
  { name: "signed attributes", args: [] },
  { name: "subjectKeyIdentifier, signed attributes", args: ["-keyid"] },
  { name: "subjectKeyIdentifier, no attributes", args: ["-keyid", "-noattr"] },
];

function sign(dir: string, name: string, content: string, key: TestKey, md: string, extra: string[]): string {
  const out = join(dir, `${name}.p7s`);
  run("openssl", ["cms", "-sign", "-binary", "-nocerts", "-outform", "DER", "-md", md, "-in", content, "-signer", key.certFile, "-inkey", key.keyFile, "-out", out, ...extra]);
  return out;
}

test("storage-init's PKCS#7 check agrees with openssl on good and bad signatures", () => withTempDir(async (dir) => {
  const bin = helper();
  const content = join(dir, "roothash");
  writeFileSync(content, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  const other = join(dir, "other");
  writeFileSync(other, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a09");
  const keys: Record<string, TestKey> = {
    "RSA-2048": makeTestKey(dir, "rsa2048"),
    "EC P-256": makeTestKey(dir, "p256", "ec"),
  };
  const k4096 = join(dir, "rsa4096.key.pem");
  run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:4096", "-out", k4096]);
  run("openssl", ["req", "-x509", "-new", "-key", k4096, "-out", join(dir, "rsa4096.cert.pem"), "-days", "2", "-subj", "/CN=initoverlayfs test rsa4096"]);
  keys["RSA-4096"] = { keyFile: k4096, certFile: join(dir, "rsa4096.cert.pem"), key: "", cert: "" };
  const stranger = makeTestKey(dir, "stranger");
  let n = 0;
  const file = (b: Buffer) => {
    const f = join(dir, `v${n++}`);
    writeFileSync(f, b);
    return f;
  };
  const agree = (what: string, sig: string, data: string, cert: string, want: boolean, why?: RegExp) => {
    const o = ours(bin, sig, data, cert);
    assert.equal(o.ok, want, `${what}: storage-init said ${o.line}`);
    if (why) assert.match(o.line, why, what);
    assert.equal(theirs(sig, data, cert), want, `${what}: openssl disagrees`);
  };
  let vectors = 0;
  for (const [kname, key] of Object.entries(keys)) {
    const derCert = join(dir, `${kname}.der`);
    run("openssl", ["x509", "-in", key.certFile, "-outform", "DER", "-out", derCert]);
    for (const md of ["sha256", "sha512"]) {
      for (const form of FORMS) {
        const what = `${kname} ${md} ${form.name}`;
        const sig = sign(dir, `s${n++}`, content, key, md, form.args);
        agree(`${what}: good (PEM certificate)`, sig, content, key.certFile, true);
        const o = ours(bin, sig, content, derCert);
        assert.ok(o.ok, `${what}: good (DER certificate): ${o.line}`);
        agree(`${what}: wrong content`, sig, other, key.certFile, false, /does not verify|messageDigest does not match/);
        agree(`${what}: wrong certificate`, sig, content, stranger.certFile, false, /is not the pinned certificate/);
        const bytes = readFileSync(sig);
        const flipped = Buffer.from(bytes);
        flipped[flipped.length - 1] ^= 1; // the signature value is the last field
        agree(`${what}: flipped signature byte`, file(flipped), content, key.certFile, false, /does not verify|offset/);
        agree(`${what}: truncated`, file(bytes.subarray(0, bytes.length - 1)), content, key.certFile, false, /offset \d+: .*(only|end of the data)/);
        vectors += 5;
      }
    }
  }
  // the leftovers storage-init refuses where openssl is lenient or accepts by policy
  const key = keys["RSA-2048"];
  const base = sign(dir, "base", content, key, "sha256", ["-noattr"]);
  const good = readFileSync(base);
  const trailing = file(Buffer.concat([good, Buffer.from([0])]));
  assert.ok(theirs(trailing, content, key.certFile), "openssl ignores bytes after the DER message");
  const t = ours(bin, trailing, content, key.certFile);
  assert.equal(t.ok, false);
  assert.match(t.line, new RegExp(`^signature offset ${good.length}: 1 unexpected bytes after the ContentInfo$`));
  const sha1 = sign(dir, "sha1", content, key, "sha1", ["-noattr"]);
  assert.ok(theirs(sha1, content, key.certFile), "openssl accepts a SHA-1 signer");
  const s1 = ours(bin, sha1, content, key.certFile);
  assert.equal(s1.ok, false);
  assert.match(s1.line, /^signature offset \d+: unsupported digest algorithm \(expected sha256, sha384 or sha512\)$/);
  const notDer = file(Buffer.from("not a signature"));
  agree("not DER", notDer, content, key.certFile, false, /^signature offset 0: expected ContentInfo/);
  const notCert = file(Buffer.from("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
  assert.match(ours(bin, base, content, notCert).line, /^certificate offset 0: PEM: expected one CERTIFICATE block$/);
  assert.ok(vectors >= 100, `${vectors} vectors`);
  console.log(`pkcs7: ${vectors} vectors, storage-init and openssl agree on each`);
}));

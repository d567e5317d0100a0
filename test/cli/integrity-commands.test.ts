/** The digest, verity, sign and verify commands as a user runs them: output, exit codes, --mini. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { renderIntegrity } from "../../src/formats/storage-init-config/index.js";
import { cli } from "../helpers/cli.js";
import { makeTestKey } from "../helpers/keys.js";
import { prng, randInt } from "../helpers/prng.js";
import { run } from "../helpers/run.js";
import { withTempDir } from "../helpers/tmp.js";

function oneLine(stderr: string): void {
  assert.equal(stderr.trim().split("\n").length, 1, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

test("--help for every integrity command", () => {
  for (const c of ["digest", "verity", "sign", "verify"]) {
    const r = cli([c, "--help"]);
    assert.equal(r.code, 0, c);
    assert.match(r.stdout.toString(), /Usage: initoverlayfs/);
  }
});

test("digest prints what `fsverity digest` prints", async () => {
  await withTempDir(async (dir) => {
    const f = join(dir, "f");
    writeFileSync(f, randomBytes(123_457));
    for (const args of [[], ["--hash-alg", "sha512", "--block-size", "1024", "--salt", "0a0b"]]) {
      const ours = cli(["digest", f, ...args]);
      assert.equal(ours.code, 0, ours.stderr);
      const tool = run("fsverity", ["digest", f, ...args.map((a, i) => (i % 2 === 0 ? `${a}=${args[i + 1]}` : "")).filter(Boolean)]).stdout;
      assert.equal(ours.stdout.toString(), tool);
    }
    assert.equal(cli(["digest", f, "--block-size", "3000"]).code, 2);
    assert.equal(cli(["digest", join(dir, "missing")]).code, 4);
  });
});

test("verity then verify --roothash; changes give exit 1 with one line; usage errors exit 2", async () => {
  await withTempDir(async (dir) => {
    const img = join(dir, "img");
    writeFileSync(img, randomBytes(4096 * 50));
    const v = cli(["verity", img, "--json"]);
    assert.equal(v.code, 0, v.stderr);
    const { config, table } = JSON.parse(v.stdout.toString());
    assert.match(table, new RegExp(`^0 400 verity 1 ${img} ${img} 4096 4096 50 51 sha256 ${config.rootHash} ${config.salt}$`));
    run("veritysetup", ["verify", img, img, config.rootHash, "--hash-offset=204800", "--data-blocks=50"]);
    const args = ["verify", img, "--roothash", config.rootHash, "--salt", config.salt, "--data-blocks", "50"];
    assert.equal(cli(args).code, 0);
    const bytes = readFileSync(img);
    const rnd = prng(7);
    for (let i = 0; i < 4; i++) {
      const at = randInt(rnd, bytes.length);
      const b = Buffer.from(bytes);
      b[at] ^= 0x40;
      writeFileSync(img, b);
      const r = cli(args);
      assert.equal(r.code, 1, `offset ${at}`);
      assert.equal(r.stdout.toString().trim().split("\n").length, 1);
      assert.match(r.stdout.toString(), new RegExp(`^${img}: `));
    }
    writeFileSync(img, bytes);
    const j = cli([...args, "--json"]);
    assert.deepEqual(JSON.parse(j.stdout.toString()), { image: img, ok: true, mode: "dm-verity", computed: config.rootHash });
    for (const bad of [["verify", img], ["verify", img, "--roothash", config.rootHash, "--data-blocks", "50"], ["verify", img, "--roothash", "xyz", "--salt", "-", "--data-blocks", "50"], ["verify", img, "--signature", img]]) {
      const r = cli(bad);
      assert.equal(r.code, 2, bad.join(" "));
      oneLine(r.stderr);
    }
  });
});

test("sign and verify: fs-verity digest and root hash, checked by openssl; bad signature exits 3", async () => {
  await withTempDir(async (dir) => {
    const k = makeTestKey(dir);
    const img = join(dir, "img");
    writeFileSync(img, randomBytes(70_000));
    const sig = join(dir, "img.sig");
    assert.equal(cli(["sign", img, "--key", k.keyFile, "--cert", k.certFile, "-o", sig]).code, 0);
    run("fsverity", ["sign", img, join(dir, "ref.sig"), `--key=${k.keyFile}`, `--cert=${k.certFile}`]);
    assert.ok(Buffer.compare(readFileSync(sig), readFileSync(join(dir, "ref.sig"))) === 0);
    assert.equal(cli(["verify", img, "--signature", sig, "--cert", k.certFile]).code, 0);
    const digest = cli(["digest", img]).stdout.toString().split(" ")[0];
    const both = cli(["verify", img, "--digest", digest, "--signature", sig, "--cert", k.certFile]);
    assert.match(both.stdout.toString(), /signature verified/);
    const bytes = readFileSync(img);
    bytes[12_345] ^= 1;
    writeFileSync(join(dir, "tampered"), bytes);
    assert.equal(cli(["verify", join(dir, "tampered"), "--signature", sig, "--cert", k.certFile]).code, 1);
    assert.equal(cli(["verify", join(dir, "tampered"), "--digest", digest]).code, 1);

    const root = randomBytes(32).toString("hex");
    const rsig = join(dir, "root.sig");
    assert.equal(cli(["sign", "--roothash", root, "--key", k.keyFile, "--cert", k.certFile, "-o", rsig]).code, 0);
    writeFileSync(join(dir, "root.txt"), root);
    run("openssl", ["cms", "-verify", "-binary", "-inform", "DER", "-in", rsig, "-content", join(dir, "root.txt"), "-certfile", k.certFile, "-CAfile", k.certFile, "-out", "/dev/null"]);

    const r = cli(["verify", img, "--signature", img, "--cert", k.certFile]);
    assert.equal(r.code, 3);
    oneLine(r.stderr);
    assert.equal(cli(["verify", img, "--signature", sig, "--cert", img]).code, 3);
    assert.equal(cli(["sign", img, "--roothash", root, "--key", k.keyFile, "--cert", k.certFile, "-o", rsig]).code, 2);
  });
});

test("verify --mini reads the integrity keys and the signature from a mini initramfs", async () => {
  await withTempDir(async (dir) => {
    const k = makeTestKey(dir);
    const img = join(dir, "img");
    writeFileSync(img, randomBytes(4096 * 20));
    const { config } = JSON.parse(cli(["verity", img, "--json"]).stdout.toString());
    const sig = join(dir, "root.sig");
    assert.equal(cli(["sign", "--roothash", config.rootHash, "--key", k.keyFile, "--cert", k.certFile, "-o", sig]).code, 0);
    const mini = (name: string, conf: string) => {
      const root = join(dir, name);
      mkdirSync(join(root, "etc"), { recursive: true });
      writeFileSync(join(root, "etc/initoverlayfs.conf"), conf);
      writeFileSync(join(root, "etc/verity.sig"), readFileSync(sig));
      const out = join(dir, `${name}.img`);
      // the archive is made by cpio itself, gzip-compressed like the build's default
      run("sh", ["-c", 'find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9 > "$0"', out], { cwd: root });
      return out;
    };
    const good = mini("good", ["boot = UUID=1234", "image = /initoverlayfs.img", ...renderIntegrity({ ...config, signature: "/etc/verity.sig" })].join("\n") + "\n");
    const r = cli(["verify", img, "--mini", good, "--cert", k.certFile]);
    assert.equal(r.code, 0, r.stdout.toString() + r.stderr);
    assert.match(r.stdout.toString(), /OK \(dm-verity [0-9a-f]{64}, signature verified\)/);
    assert.match(cli(["verify", img, "--mini", good]).stdout.toString(), /signature NOT checked/);
    const other = makeTestKey(dir, "other");
    assert.equal(cli(["verify", img, "--mini", good, "--cert", other.certFile]).code, 1);
    const bytes = readFileSync(img);
    bytes[100] ^= 2;
    writeFileSync(img, bytes);
    assert.equal(cli(["verify", img, "--mini", good, "--cert", k.certFile]).code, 1);
    const broken = mini("broken", "integrity = dm-verity\nverity_roothash = 12\n");
    const b = cli(["verify", img, "--mini", broken]);
    assert.equal(b.code, 3, b.stderr);
    oneLine(b.stderr);
  });
});

/** Integrity commands: digest (fs-verity), verity (append a dm-verity hash area), sign, verify. */
import { Command, Option } from "commander";
import { readFileSync } from "node:fs";
import {
  dmVerityConfigOf, FSVERITY_ALGORITHMS, IntegrityConfig, integrityFromOptions, VERITY_BLOCK_SIZE, VERITY_HASH_ALGORITHMS, renderIntegrity,
} from "../../formats/storage-init-config/index.js";
import { UsageError } from "../../errors.js";
import { FsverityHashName, checkHex, toHex } from "../../formats/verity/algorithms.js";
import { formatDigest, formattedDigest, parseDigest } from "../../formats/verity/fsverity.js";
import { verityTableLine } from "../../formats/verity/dm-verity.js";
import { writeFileAtomic } from "../../io/atomic-file.js";
import type { VerifyResult } from "../../integrity/verify.js";
import { EXIT } from "../exit-codes.js";
import { oneOf, parseUuid, whole } from "../options.js";

/** node-forge (~50 ms to load) only for the commands that sign or check signatures */
const signatures = () => import("../../integrity/signature.js");
/** the file-side integrity code loads only when a command runs (not for --help) */
const fileDigest = async () => (await import("../../integrity/fsverity-file.js")).fsverityDigestOfFile;

async function readCert(path: string): Promise<Uint8Array> {
  const b = readFileSync(path);
  (await signatures()).loadCertificate(b, path);
  return b;
}

export function integrityCommands(): Command[] {
  const digest = new Command("digest")
    .description("print a file's fs-verity digest (what `fsverity digest` prints)")
    .argument("<file>")
    .option("--hash-alg <alg>", "sha256 or sha512", "sha256")
    .option("--block-size <bytes>", "Merkle tree block size, 1024..65536", "4096")
    .option("--salt <hex>", "salt (at most 32 bytes)")
    .option("--json", "machine-readable output")
    .action(async (file: string, o) => {
      const fsverityDigestOfFile = await fileDigest();
      const d = await fsverityDigestOfFile(file, {
        algorithm: oneOf("--hash-alg", o.hashAlg, FSVERITY_ALGORITHMS),
        blockSize: whole("--block-size", o.blockSize),
        salt: o.salt !== undefined ? checkHex("--salt", o.salt, 32) : undefined,
      });
      if (o.json) process.stdout.write(JSON.stringify({ file, digest: formatDigest(d), rootHash: toHex(d.rootHash), size: d.dataSize }) + "\n");
      else process.stdout.write(`${formatDigest(d)} ${file}\n`);
    });

  const verity = new Command("verity")
    .description("append a dm-verity hash area (superblock, then the hash tree) to an EROFS image, in place; prints the integrity config keys")
    .argument("<image>", "image whose size is a multiple of 4096")
    .option("--hash-alg <alg>", "sha256, sha512 or sha1", "sha256")
    .option("--format <n>", "hash type: 1 normal, 0 Chrome OS", "1")
    .option("--salt <hex>", "salt, at most 256 bytes, or - for none (default: 32 random bytes)")
    .option("--uuid <uuid>", "superblock UUID (default random)")
    .option("--json", "machine-readable output")
    .action(async (image: string, o) => {
      const { appendVerityHashTree } = await import("../../integrity/dm-verity-file.js");
      const r = await appendVerityHashTree(image, {
        algorithm: oneOf("--hash-alg", o.hashAlg, VERITY_HASH_ALGORITHMS),
        hashType: Number(oneOf("--format", o.format, ["0", "1"])) as 0 | 1,
        salt: o.salt === "-" ? new Uint8Array(0) : o.salt !== undefined ? checkHex("--salt", o.salt, 256) : undefined,
        uuid: o.uuid !== undefined ? parseUuid(o.uuid) : undefined,
      });
      const config = dmVerityConfigOf(r.params, r.rootHash);
      const table = verityTableLine(r.params, r.rootHash, { dataDevice: image, hashDevice: image });
      if (o.json) process.stdout.write(JSON.stringify({ image, size: r.size, config, table }, null, 2) + "\n");
      else process.stdout.write(renderIntegrity(config).join("\n") + "\n");
    });

  const sign = new Command("sign")
    .description("write a detached PKCS#7 signature (DER, no certificates, no signed attributes): of a file's fs-verity digest (as `fsverity sign`), or of a dm-verity root hash hex string")
    .argument("[image]", "file whose fs-verity digest is signed")
    .requiredOption("--key <pem>", "RSA private key (PEM)")
    .requiredOption("--cert <file>", "the signer's X.509 certificate (PEM or DER)")
    .requiredOption("-o, --output <file>", "signature file to write")
    .option("--digest <alg:hex>", "sign this fs-verity digest instead of computing one")
    .option("--roothash <hex>", "sign this dm-verity root hash (its hex string)")
    .option("--hash-alg <alg>", "fs-verity digest algorithm for <image> (sha256, sha512)", "sha256")
    .option("--json", "machine-readable output")
    .action(async (image: string | undefined, o) => {
      const given = [image !== undefined, o.digest !== undefined, o.roothash !== undefined].filter(Boolean).length;
      if (given !== 1) throw new UsageError("sign: give exactly one of IMAGE, --digest or --roothash");
      const key = readFileSync(o.key, "utf8");
      const cert = await readCert(o.cert);
      const { signFsverityDigest, signRootHash } = await signatures();
      let what: string;
      let sig: Uint8Array;
      if (o.roothash !== undefined) {
        const hex = String(o.roothash).toLowerCase();
        checkHex("--roothash", hex, 64);
        what = `root hash ${hex}`;
        sig = signRootHash(hex, key, cert, "sha256");
      } else {
        const d = o.digest !== undefined ? parseDigest(o.digest) : await (await fileDigest())(image!, { algorithm: oneOf("--hash-alg", o.hashAlg, FSVERITY_ALGORITHMS) });
        what = `fs-verity digest ${formatDigest(d)}`;
        sig = signFsverityDigest(d, key, cert);
      }
      writeFileAtomic(o.output, (w) => w.write(0, sig));
      if (o.json) process.stdout.write(JSON.stringify({ signed: what, output: o.output, bytes: sig.length }) + "\n");
      else process.stdout.write(`signed ${what} -> ${o.output}\n`);
    });

  const verify = new Command("verify")
    .description("check an image against an fs-verity digest, a dm-verity root hash, a signature, or the integrity keys of a mini initramfs; exit 1 on mismatch")
    .argument("<image>")
    .option("--digest <alg:hex>", "expected fs-verity digest of the whole file")
    .option("--roothash <hex>", "expected dm-verity root hash (the hash area follows the data in the same file; a DDI needs nothing else)")
    .addOption(new Option("--root-hash <hex>", "systemd-dissect's spelling of --roothash").hideHelp())
    .option("--salt <hex>", "dm-verity salt, or - for none (with --roothash)")
    .option("--hash-alg <alg>", "dm-verity: sha256, sha512, sha1; fs-verity (--signature alone): sha256, sha512", "sha256")
    .option("--format <n>", "dm-verity hash type: 1 or 0", "1")
    .option("--data-blocks <n>", "dm-verity: 4096-byte data blocks (default: hash offset / 4096)")
    .option("--hash-offset <bytes>", "dm-verity: where the superblock is (default: data blocks * 4096)")
    .option("--signature <file>", "detached PKCS#7 signature (DER) of the digest or root hash")
    .option("--cert <file>", "certificate to check the signature with (a DDI: its signature partition)")
    .option("--mini <file>", "read the expected values from this mini initramfs's /etc/initoverlayfs.conf (and its verity_sig, verity_cert)")
    .option("--json", "machine-readable output")
    .action(async (image: string, o) => {
      if (o.rootHash !== undefined) {
        if (o.roothash !== undefined) throw new UsageError("verify: --roothash and --root-hash are the same option; give one");
        o.roothash = o.rootHash;
      }
      if (o.mini === undefined && o.signature === undefined && o.digest === undefined && await isDdi(image)) {
        // a DDI carries its own layout: pin its root hash, its signer, or both
        if (o.roothash === undefined && o.cert === undefined) throw new UsageError("verify: a DDI needs --roothash, --cert or --mini");
        const { describeDdi, verifyDdi } = await import("../../integrity/ddi-file.js");
        const r = await verifyDdi(image, { rootHash: o.roothash, certificate: o.cert !== undefined ? await readCert(o.cert) : undefined });
        const signer = r.info.signature?.certificateFingerprint;
        report(o.json, image, { ok: r.ok, mode: "dm-verity", computed: r.rootHash, reason: r.reason, signature: r.signature === "absent" ? undefined : r.signature }, { ddi: describeDdi(r.info), ...(signer ? { signer } : {}) });
        return;
      }
      if (o.mini !== undefined && o.signature === undefined && o.digest === undefined && o.roothash === undefined && o.cert === undefined && await isDdi(image)) {
        const ext = await extensionNameIfAny(image);
        if (ext !== undefined) {
          // an extension against the mini's pins, as storage-init judges it (its ID needs the image: see status)
          const [{ readMiniInitramfs }, { pinsOf }, { judgeExtension }] = await Promise.all([
            import("../../initramfs/mini-config.js"), import("../../install/extensions.js"), import("../../integrity/sysext-check.js"),
          ]);
          const mini = await readMiniInitramfs(readFileSync(o.mini), o.mini);
          if (!mini) throw new UsageError(`--mini ${o.mini}: not an initoverlayfs mini initramfs (no /etc/initoverlayfs.conf naming an image)`);
          const v = await judgeExtension(image, ext, pinsOf(mini.config, mini.tree), undefined);
          const how = v.pinned ? "pinned" : v.signature === "verified" ? "signed by the pinned signer" : undefined;
          report(o.json, image, {
            ok: v.stacked, mode: "dm-verity", computed: v.rootHash, reason: v.stacked ? undefined : `${image}: storage-init would skip it: ${v.reason}`,
            signature: v.signature === "verified" || v.signature === "failed" ? v.signature : undefined,
          }, { extension: v }, how && `extension ${ext}, ${how}, ID=${v.id}, scope initrd`);
          return;
        }
      }
      const modes = [o.digest !== undefined, o.roothash !== undefined, o.mini !== undefined].filter(Boolean).length;
      if (modes > 1) throw new UsageError("verify: --digest, --roothash and --mini exclude each other");
      if (modes === 0 && o.signature === undefined) throw new UsageError("verify: give --digest, --roothash, --mini or --signature");
      if (o.signature !== undefined && o.cert === undefined) throw new UsageError("verify: --signature needs --cert");
      let certificate = o.cert !== undefined ? await readCert(o.cert) : undefined;
      let signature: Uint8Array | undefined = o.signature !== undefined ? readFileSync(o.signature) : undefined;
      let signatureName: string | undefined = o.signature;
      let config: IntegrityConfig;
      if (o.mini !== undefined) {
        const { readMiniIntegrity } = await import("../../integrity/mini-config.js");
        const m = await readMiniIntegrity(o.mini);
        config = m.config;
        if (signature === undefined && m.signature !== undefined) {
          signature = m.signature;
          signatureName = `${o.mini}:${(m.config as { signature: string }).signature}`;
        }
        // a DDI's signer pinned in the mini (verity_cert): checked as storage-init checks it
        certificate ??= m.certificate;
      } else if (o.roothash !== undefined) {
        if (o.salt === undefined) throw new UsageError("verify: --roothash needs --salt (hex, or - for none)");
        let dataBlocks = o.dataBlocks !== undefined ? whole("--data-blocks", o.dataBlocks) : undefined;
        let hashOffset = o.hashOffset !== undefined ? whole("--hash-offset", o.hashOffset) : undefined;
        if (dataBlocks === undefined && hashOffset === undefined) throw new UsageError("verify: --roothash needs --data-blocks or --hash-offset");
        dataBlocks ??= hashOffset! / VERITY_BLOCK_SIZE;
        hashOffset ??= dataBlocks * VERITY_BLOCK_SIZE;
        config = integrityFromOptions([
          ["integrity", "dm-verity"], ["verity_roothash", o.roothash], ["verity_salt", o.salt], ["verity_hashalg", o.hashAlg],
          ["verity_format", o.format], ["verity_data_blocks", String(dataBlocks)], ["verity_hash_offset", String(hashOffset)],
        ]);
      } else if (o.digest !== undefined) {
        parseDigest(o.digest);
        config = integrityFromOptions([["integrity", "fs-verity"], ["digest", o.digest]]);
      } else {
        // a signature alone: of the file's fs-verity digest
        const d = await (await fileDigest())(image, { algorithm: oneOf("--hash-alg", o.hashAlg, FSVERITY_ALGORITHMS as readonly FsverityHashName[]) });
        const check = (await signatures()).verifyDetached(signature!, formattedDigest(d), certificate!, signatureName);
        report(o.json, image, { ok: check.ok, mode: "fs-verity", computed: formatDigest(d), signature: check.ok ? "verified" : "failed", reason: check.ok ? undefined : `${signatureName}: ${check.reason}` });
        return;
      }
      const { verifyImage } = await import("../../integrity/verify.js");
      const r = await verifyImage(image, config, { signature, certificate, signatureName });
      report(o.json, image, r);
    });

  return [digest, verity, sign, verify];
}

async function isDdi(image: string): Promise<boolean> {
  const { isGptDisk } = await import("../../formats/gpt/gpt.js");
  const { closeSync, openSync, readSync } = await import("node:fs");
  const fd = openSync(image, "r");
  try {
    const head = new Uint8Array(1024);
    return isGptDisk(head.subarray(0, readSync(fd, head, 0, head.length, 0)));
  } finally {
    closeSync(fd);
  }
}

/** NAME of an extension (NAME.raw with extension-release.NAME, or the one extension-release file), or undefined for a DDI that is no extension. */
async function extensionNameIfAny(image: string): Promise<string | undefined> {
  const [{ readDdi }, { extensionInfoOf, EXTENSION_SUFFIX }] = await Promise.all([import("../../integrity/ddi-file.js"), import("../../formats/sysext/index.js")]);
  const root = readDdi(image).parts.root;
  const bytes = readFileSync(image).subarray(root.offset, root.offset + root.size);
  const info = extensionInfoOf(bytes, image);
  if (!info) return undefined;
  const base = image.slice(image.lastIndexOf("/") + 1);
  return base.endsWith(EXTENSION_SUFFIX) ? base.slice(0, -EXTENSION_SUFFIX.length) : info.name;
}

function report(json: boolean, image: string, r: VerifyResult, extra: object = {}, what?: string): void {
  if (json) process.stdout.write(JSON.stringify({ image, ...r, ...extra }, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2) + "\n");
  else if (r.ok) {
    const sig = r.signature === "verified" ? ", signature verified" : r.signature === "not checked" ? ", signature NOT checked (no --cert)" : "";
    process.stdout.write(`${image}: OK (${r.mode}${r.computed ? " " + r.computed : ""}${sig}${what ? `; ${what}` : ""})\n`);
  } else process.stdout.write(`${r.reason ?? `${image}: mismatch`}\n`);
  if (!r.ok) process.exitCode = EXIT.PROBLEMS;
}



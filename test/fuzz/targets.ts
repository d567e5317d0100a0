/**
 * The fuzz targets: one per parser of untrusted input. Each takes arbitrary bytes. The property:
 * a target returns, or throws an InitoverlayfsError (FormatError, UnsupportedError, UsageError:
 * the driver takes which one, and its message, as feedback); anything else that escapes
 * (TypeError, RangeError, a failed allocation) is a finding; the
 * driver (driver.ts) adds the per-input time cap and the memory limit. Pure: no I/O except
 * reading the two test certificates the PKCS#7 target checks against.
 */
import { deepStrictEqual } from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { COMPRESSIONS, decompress, detectCompression } from "../../src/compression/index.js";
import { InitoverlayfsError } from "../../src/errors.js";
import { CpioParser } from "../../src/formats/cpio/parser.js";
import { fsckErofs } from "../../src/formats/erofs/fsck.js";
import { readErofs } from "../../src/formats/erofs/reader.js";
import { parseConfig } from "../../src/formats/storage-init-config/parse.js";
import { renderConfig } from "../../src/formats/storage-init-config/render.js";
import { LIMITS } from "../../src/formats/storage-init-config/schema.js";
import { decodeVeritySuperblock } from "../../src/formats/verity/dm-verity.js";
import { bzImageRelease, emitUki, planUki } from "../../src/formats/pe/uki.js";
import { decodeVeritySignature } from "../../src/formats/ddi/verity-signature.js";
import { fixGptCrcs } from "../../src/formats/gpt/gpt.js";
import { bytesSource } from "../../src/integrity/byte-source.js";
import { readDdiSource } from "../../src/integrity/ddi-file.js";
import { walk } from "../../src/fs/tree.js";
import { EarlyArchives, findEarlyArchives } from "../../src/initramfs/early.js";
import { readInitramfs } from "../../src/initramfs/read.js";
import { parseSettings } from "../../src/install/settings.js";
import { buildBootReport, parseKernelLog, parseSystemdAnalyze, renderBootReport } from "../../src/formats/boot-log/index.js";
import { verifyDetached } from "../../src/integrity/signature.js";
import { describeElf, elfArch, readElfIdent } from "../../src/formats/elf/elf.js";
import { moduleElfArch } from "../../src/pipeline/arch.js";
import { fixSuperblockChecksum } from "../helpers/erofs.js";
import type { MutationHints } from "./mutate.js";

export interface FuzzTarget {
  name: string;
  /** what it reaches, for `npm run fuzz -- --list` and the README */
  what: string;
  /** where the mutator plants integers, its tokens */
  hints?: Omit<MutationHints, "maxLen">;
  /** applied to most mutated inputs: recomputes a checksum that would stop every mutation at the door */
  fixup?(data: Uint8Array): void;
  run(data: Uint8Array): void | Promise<void>;
}

/**
 * Decompressed output a decompress() run may produce before the target stops reading: bombs are
 * valid input (the decompression cap is issue 13 item 5's), not a finding, and must not eat the
 * machine while fuzzing.
 */
export const DECOMPRESS_OUTPUT_CAP = 64 << 20;
/** Files the EROFS target reads back; bigger ones are sparse images that are legal but slow. */
const READ_FILE_CAP = 64 << 20;

/** The content every PKCS#7 seed signs. */
export const SIGNED_CONTENT = new TextEncoder().encode("initoverlayfs fuzz content\n");

export interface SignatureCerts {
  rsa: string;
  ec: string;
}

let certs: SignatureCerts | undefined;
/** The certificates the PKCS#7 target checks against (default: $INITOVERLAYFS_FUZZ_CERTS/{rsa,ec}.cert.pem). */
export function setSignatureCerts(c: SignatureCerts): void {
  certs = c;
}
function signatureCerts(): SignatureCerts {
  if (!certs) {
    const dir = process.env.INITOVERLAYFS_FUZZ_CERTS;
    if (!dir) throw new Error("pkcs7 target: set INITOVERLAYFS_FUZZ_CERTS (run.ts does) or call setSignatureCerts()");
    certs = { rsa: readFileSync(join(dir, "rsa.cert.pem"), "utf8"), ec: readFileSync(join(dir, "ec.cert.pem"), "utf8") };
  }
  return certs;
}

/** Our errors are the expected way to refuse input; anything else goes on as a finding. */
function expected(e: unknown): void {
  if (!(e instanceof InitoverlayfsError)) throw e;
}

async function drain(gen: AsyncGenerator<Uint8Array, number, void>): Promise<void> {
  let out = 0;
  for (;;) {
    const r = await gen.next();
    if (r.done) return;
    out += r.value.length;
    if (out > DECOMPRESS_OUTPUT_CAP) {
      await gen.return(0);
      return;
    }
  }
}

/** the superblock (1024..1152) and where mkfs.erofs and our writer put the first inodes */
const EROFS_HINTS = { hot: [[1024, 1152], [4096, 4352]] as [number, number][] };

const CONFIG_TOKENS = [
  "\n", " = ", "=", "\"", "#", "-", "boot", "image", "init", "timeout", "failure", "module", "storage_module", "optional_module", "bootfs_module",
  "shim", "bootfstype", "bootflags", "integrity", "digest", "verity_roothash", "verity_salt", "verity_hashalg", "verity_format",
  "verity_data_blocks", "verity_hash_offset", "verity_sig", "dm-verity", "fs-verity", "copy", "none", "sha256:", "sha512", "sha1",
  "UUID=", "LABEL=", "/dev/", "/lib/modules/x.ko", " a=b", "panic", "reboot", "shell", "ext4", "vfat",
];
const INSTALL_TOKENS = [
  "\n", " = ", "=", "\"", "#", "boot", "boot_fstype", "failure", "timeout", "init", "mini_compression", "add_modules",
  "default_modules", "integrity", "integrity_hash", "sign_key", "sign_cert", "yes", "no", ",", "UUID=", "/", "zstd", "gzip",
];

const BOOT_LOG_TOKENS = [
  "\n", "[", "] ", "    ", ".", ",", ";", "-;", "initoverlayfs: ", "storage-init 0.1.0 starting", "starting /init from the image (12 ms)",
  "FAILED at load modules: x: y", "run-init: switched to /root (pivot_root, old root detached)", "Run /init as init process",
  "Trying to unpack rootfs image as initramfs...", "Freeing initrd memory: 12K", "VFS: Mounted root (ext4 filesystem)",
  "Not activating Mandatory Access Control as /sbin/tomoyo-init does not exist.", "systemd[1]: systemd 252 running in system mode (+PAM)",
  "systemd[1]: Running in initrd.", "Startup finished in ", " (kernel) + ", " (initrd) + ", " (userspace) = ", "1min 2.5s", "876ms",
];

export const TARGETS: readonly FuzzTarget[] = [
  {
    name: "cpio",
    // the header is 110 ASCII hex digits: text mutations rewrite its numbers
    hints: { hot: [[0, 110]], text: true, dictionary: ["070701", "070702", "TRAILER!!!\0", "\0\0\0\0", "00000000", "FFFFFFFF"] },
    what: "newc/crc cpio push parser (src/formats/cpio), input fed in two chunks",
    run(data) {
      let bytes = 0;
      const parser = new CpioParser({ entry: (e) => void (bytes += e.data.length), trailer: () => {} }, "fuzz");
      // a cut that moves with the input: fields straddling two chunks take the copying path
      const cut = data.length === 0 ? 0 : (data[data.length - 1] * 131) % (data.length + 1);
      parser.push(data.subarray(0, cut));
      parser.push(data.subarray(cut));
      parser.end();
    },
  },
  {
    name: "decompress",
    hints: { hot: [[0, 32]] },
    what: "decompress()/detectCompression(): gzip, zstd, xz, lzma, bzip2, lz4 legacy, lzop frames (src/compression)",
    async run(data) {
      // the magic picks the decoder as in the kernel; other inputs go to one picked by the first byte
      const kind = detectCompression(data, 0) ?? COMPRESSIONS[(data[0] ?? 0) % COMPRESSIONS.length];
      await drain(decompress(kind, data, 0));
    },
  },
  {
    name: "initramfs",
    hints: { hot: [[0, 32]], dictionary: ["070701", "070702", "TRAILER!!!\0", "\0\0\0\0"] },
    what: "readInitramfs(): the segment loop, compressed and uncompressed cpio, the unpacker; findEarlyArchives() (src/initramfs)",
    async run(data) {
      let early: EarlyArchives | undefined;
      try {
        early = findEarlyArchives(data, "fuzz");
      } catch (e) {
        expected(e);
      }
      await readInitramfs(data, { source: "fuzz" });
      // what build carries must be a whole number of archives inside the file, 4-byte aligned
      if (!early) throw new Error("findEarlyArchives refused an initramfs readInitramfs accepts");
      if (early.bytes > data.length || early.bytes % 4 || early.members.some((m) => m.offset >= early!.bytes)) {
        throw new Error(`early archives out of bounds: ${early.bytes} B of ${data.length}`);
      }
    },
  },
  {
    name: "erofs",
    hints: EROFS_HINTS,
    fixup: fixSuperblockChecksum,
    what: "readErofs() strict, then lenient, and every file read back, compressed ones decoded (src/formats/erofs)",
    run(data) {
      const readAll = (strict: boolean) => {
        for (const { node } of walk(readErofs(data, { strict }))) if (node.kind === "file" && node.content.size <= READ_FILE_CAP) node.content.read();
      };
      try {
        readAll(true);
      } catch (e) {
        expected(e);
        readAll(false); // lenient mode reads on past the soft problems
      }
    },
  },
  {
    name: "erofs-fsck",
    hints: EROFS_HINTS,
    fixup: fixSuperblockChecksum,
    what: "fsckErofs(): every structure, compressed indexes and pclusters; an 'internal error' problem is a finding",
    run(data) {
      const result = fsckErofs(data, { maxReadBytes: READ_FILE_CAP });
      // fsck turns anything thrown into a problem; a non-FormatError one is a crash it caught
      const internal = result.problems.find((p) => p.message.startsWith("internal error"));
      if (internal) throw new Error(`fsck: ${internal.message} (${internal.path ?? "-"})`);
    },
  },
  {
    name: "dm-verity",
    hints: { hot: [[0, 96]], dictionary: ["verity\0\0", "sha256\0", "sha512\0", "sha1\0"] },
    what: "decodeVeritySuperblock() (src/formats/verity/dm-verity.ts)",
    run(data) {
      decodeVeritySuperblock(data);
    },
  },
  {
    name: "pe",
    hints: { hot: [[0, 64], [0x80, 0x80 + 24 + 240 + 40 * 10]], dictionary: ["MZ", "PE\0\0", "\x0b\x02", ".linux\0\0", ".sdmagic", "HdrS", "\x55\xaa"] },
    what: "parsePe() of systemd-stub, planUki() and emitUki() with small sections, bzImageRelease() (src/formats/pe/)",
    run(data) {
      try {
        bzImageRelease(data);
      } catch (e) {
        if (!(e instanceof InitoverlayfsError)) throw e;
      }
      const parts = { linux: data.subarray(0, 64), initrd: data.subarray(0, 32), cmdline: "root=/dev/vda", osrel: new Uint8Array(8), uname: "6.1.0" };
      emitUki(data, planUki(data, parts), parts);
    },
  },
  {
    name: "elf",
    hints: { hot: [[0, 20]], dictionary: ["\x7fELF", "\x02\x01\x01", "\xb7\x00", "\x3e\x00"] },
    what: "readElfIdent(), moduleElfArch(): the ELF header a module's or storage-init's architecture is read from (src/formats/elf/, src/pipeline/arch.ts)",
    run(data) {
      const e = readElfIdent(data, "fuzz");
      describeElf(e);
      if (elfArch(e) !== moduleElfArch(data, "fuzz")) throw new Error("moduleElfArch disagrees with elfArch");
    },
  },
  {
    name: "ddi",
    hints: { hot: [[446, 66], [512, 92], [1024, 384]], dictionary: ["EFI PART", "verity\0\0"]  },
    what: "readDdiSource(): GPT (both headers, entry CRCs, bounds), DDI partitions, verity superblock, signature JSON (src/formats/gpt, src/formats/ddi)",
    fixup: fixGptCrcs,
    run(data) {
      readDdiSource(bytesSource(data, "fuzz"));
    },
  },
  {
    name: "verity-signature",
    hints: { text: true, dictionary: ['"rootHash"', '"signature"', '"certificateFingerprint"', ":", "\0"] },
    what: "decodeVeritySignature(): the root-verity-sig partition's JSON (src/formats/ddi/verity-signature.ts)",
    run(data) {
      decodeVeritySignature(data);
    },
  },
  {
    name: "pkcs7",
    hints: { hot: [[0, 64]] },
    what: "verifyDetached(): DER PKCS#7 signed-data parsing and checking against an RSA and an EC certificate (src/integrity/signature.ts)",
    run(data) {
      const { rsa, ec } = signatureCerts();
      try {
        verifyDetached(data, SIGNED_CONTENT, rsa, "fuzz");
      } catch (e) {
        expected(e);
      }
      verifyDetached(data, SIGNED_CONTENT, ec, "fuzz");
    },
  },
  {
    name: "config",
    hints: { text: true, dictionary: CONFIG_TOKENS },
    what: "parseConfig(): /etc/initoverlayfs.conf as storage-init reads it; an accepted config renders back to itself (src/formats/storage-init-config)",
    run(data) {
      const config = parseConfig(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1"), "fuzz");
      // what the parser accepts, the build's renderer writes back unchanged (or the two disagree on a limit)
      deepStrictEqual(parseConfig(renderConfig(config), "rendered"), config);
    },
  },
  {
    name: "install-conf",
    hints: { text: true, dictionary: INSTALL_TOKENS },
    what: "parseSettings(): /etc/initoverlayfs/install.conf; a timeout it accepts is within storage-init's limit (src/install/settings.ts)",
    run(data) {
      const s = parseSettings(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1"), "fuzz");
      if (s.timeout !== undefined && !(Number.isSafeInteger(s.timeout) && s.timeout <= LIMITS.timeout)) throw new Error(`timeout ${s.timeout} accepted`);
    },
  },
  {
    name: "boot-log",
    hints: { text: true, dictionary: BOOT_LOG_TOKENS },
    what: "parseKernelLog(), parseSystemdAnalyze(), buildBootReport(): a kernel log and systemd-analyze's summary as boot-report reads them; every phase it reports runs forward (src/formats/boot-log)",
    run(data) {
      const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
      let analyze = null;
      try {
        analyze = parseSystemdAnalyze(text, "fuzz");
      } catch (e) {
        expected(e);
      }
      const report = buildBootReport(parseKernelLog(text, "fuzz"), analyze);
      for (const [name, p] of Object.entries(report.phases)) {
        if (p && !(Number.isFinite(p.seconds) && p.seconds >= 0 && p.to >= p.from)) throw new Error(`phase ${name} runs backwards: ${JSON.stringify(p)}`);
      }
      renderBootReport(report);
    },
  },
];

export function targetNamed(name: string): FuzzTarget {
  const t = TARGETS.find((x) => x.name === name);
  if (!t) throw new Error(`no fuzz target ${JSON.stringify(name)} (have ${TARGETS.map((x) => x.name).join(", ")})`);
  return t;
}

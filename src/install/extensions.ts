/**
 * `status`: the extensions storage-init would consider at the next boot of an installed pair, on
 * the boot partition next to the image (SYSEXT_DIRS; /.extra/sysext exists only at boot), each
 * judged as storage-init judges it against the mini initramfs's pins (integrity/sysext-check.ts).
 */
import { readFileSync } from "node:fs";
import { FormatError } from "../errors.js";
import { isGptDisk } from "../formats/gpt/gpt.js";
import { ErofsImage } from "../formats/erofs/reader.js";
import { configFromKeys, ConfigKeys, LIMITS, SYSEXT_CERT_PATH, SYSEXT_DIRS } from "../formats/storage-init-config/index.js";
import { osReleaseIdOf } from "../formats/sysext/index.js";
import { FsTree, lookup } from "../fs/tree.js";
import { Arch } from "../formats/elf/arch.js";
import { archOfElf, ELF_HEADER_PREFIX } from "../formats/elf/elf.js";
import { readDdi } from "../integrity/ddi-file.js";
import { certificateFingerprint, extensionDirsOf, ExtensionPins, ExtensionVerdict, judgeExtensionDirs } from "../integrity/sysext-check.js";

export interface ExtensionsStatus {
  /** the directories on the boot partition storage-init looks in, in stacking order */
  dirs: string[];
  /** systemd-stub's directory, read at boot only */
  bootOnly: string;
  /** sysext_roothash values of the mini initramfs */
  pinned: string[];
  /** SHA-256 of the pinned signer's DER certificate (SYSEXT_CERT_PATH), if any */
  signer?: string;
  /** the image's os-release ID ("" when it has none); undefined when the image could not be read */
  osId?: string;
  extensions: ExtensionVerdict[];
}

/** The mini's pins: its config's sysext_roothash lines and the certificate file. */
export function pinsOf(config: ConfigKeys, tree: FsTree): ExtensionPins {
  let rootHashes: string[] = [];
  try {
    rootHashes = configFromKeys(config).sysextRootHashes ?? [];
  } catch (e) {
    if (!(e instanceof FormatError)) throw e; // status reports the config's problem elsewhere
  }
  const node = lookup(tree, SYSEXT_CERT_PATH);
  const arch = miniArch(tree);
  return { rootHashes, ...(node?.kind === "file" ? { certificate: node.content.read() } : {}), ...(arch ? { arch } : {}) };
}

/**
 * The mini initramfs's architecture: its /init's (storage-init), from the ELF header; undefined
 * when /init is not an ELF program of one of ours (a script: the caller's default stands).
 */
function miniArch(tree: FsTree): Arch | undefined {
  const init = lookup(tree, "/init");
  if (init?.kind !== "file") return undefined;
  try {
    return archOfElf(init.content.read().subarray(0, ELF_HEADER_PREFIX), "/init");
  } catch (e) {
    if (e instanceof FormatError) return undefined;
    throw e;
  }
}

/** The image's os-release ID, read from its EROFS (a DDI's root partition); undefined when unreadable. */
export function imageOsId(image: string): string | undefined {
  try {
    const bytes = readFileSync(image);
    let erofs: Uint8Array = bytes;
    if (isGptDisk(bytes)) {
      const root = readDdi(image).parts.root;
      erofs = bytes.subarray(root.offset, root.offset + root.size);
    }
    return osReleaseIdOf(ErofsImage.open(erofs));
  } catch (e) {
    if (e instanceof FormatError || (e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

export async function extensionsStatus(image: string, config: ConfigKeys, tree: FsTree): Promise<ExtensionsStatus> {
  const pins = pinsOf(config, tree);
  const dirs = extensionDirsOf(image);
  const osId = imageOsId(image);
  return {
    dirs, bootOnly: SYSEXT_DIRS.stub, pinned: [...pins.rootHashes],
    ...(pins.certificate ? { signer: certificateFingerprint(pins.certificate) } : {}),
    ...(osId !== undefined ? { osId } : {}),
    extensions: await judgeExtensionDirs(dirs, pins, osId, LIMITS.sysexts),
  };
}


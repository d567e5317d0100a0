/**
 * Discoverable Disk Images (UAPI.2, UAPI.3 Discoverable Partitions): a GPT with the root
 * filesystem partition, its dm-verity hash partition (superblock at offset 0, the tree after it)
 * and, when signed, the verity signature partition. Partition GUIDs come from the root hash as
 * systemd-repart sets them (the data partition takes its first 128 bits, the hash partition its
 * last 128 bits, unchanged), so systemd-dissect pairs them with a root hash it is given. Names
 * and attributes follow repart: the type's name as label, read-only (bit 60), no growfs.
 * Pure: sizes and hashes in, the GPT plan out.
 */
import { createHash } from "node:crypto";
import { FormatError, UsageError } from "../../errors.js";
import { GPT_ATTR, GptPartition, GptTable, planGpt } from "../gpt/gpt.js";
import { formatUuid } from "../uuid.js";

/**
 * The Discoverable Partitions type GUIDs, per architecture (systemd's names, as ARCHITECTURE= and
 * `systemd-id128 show` spell them) and per kind of data partition: root (an image's root
 * filesystem) or usr (a /usr filesystem), each with its data, verity and verity-sig partition.
 * The one table: storage-init/src/ddi_types.h is checked against it (test/storage-init/ddi.test.ts)
 * and both against `systemd-id128 show` (test/formats/ddi/types.test.ts).
 */
export const DDI_PARTITION_TYPES = {
  "x86-64": {
    root: { root: "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", verity: "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", signature: "41092b05-9fc8-4523-994f-2def0408b176" },
    usr: { root: "8484680c-9521-48c6-9c11-b0720656f69e", verity: "77ff5f63-e7b6-4633-acf4-1565b864c0e6", signature: "e7bb33fb-06cf-4e81-8273-e543b413e2e2" },
  },
  arm64: {
    root: { root: "b921b045-1df0-41c3-af44-4c6f280d3fae", verity: "df3300ce-d69f-4c92-978c-9bfb0f38d820", signature: "6db69de6-29f4-4758-a7a5-962190f00ce3" },
    usr: { root: "b0e01050-ee5f-4390-949a-9101b17104e9", verity: "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e", signature: "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a" },
  },
  arm: {
    root: { root: "69dad710-2ce4-4e3c-b16c-21a1d49abed3", verity: "7386cdf2-203c-47a9-a498-f2ecce45a2d6", signature: "42b0455f-eb11-491d-98d3-56145ba9d037" },
    usr: { root: "7d0359a3-02b3-4f0a-865c-654403e70625", verity: "c215d751-7bcd-4649-be90-6627490a4c05", signature: "d7ff812f-37d1-4902-a810-d76ba57b975a" },
  },
  riscv64: {
    root: { root: "72ec70a6-cf74-40e6-bd49-4bda08e8f224", verity: "b6ed5582-440b-4209-b8da-5ff7c419ea3d", signature: "efe0f087-ea8d-4469-821a-4c2a96a8386a" },
    usr: { root: "beaec34b-8442-439b-a40b-984381ed097d", verity: "8f1056be-9b05-47c4-81d6-be53128e5b54", signature: "d2f9000a-7a18-453f-b5cd-4d32f77a7b32" },
  },
  x86: {
    root: { root: "44479540-f297-41b2-9af7-d131d5f0458a", verity: "d13c5d3b-b5d1-422a-b29f-9454fdc89d76", signature: "5996fc05-109c-48de-808b-23fa0830b676" },
    usr: { root: "75250d76-8cc6-458e-bd66-bd47cc81a812", verity: "8f461b0d-14ee-4e81-9aa9-049b6fb97abd", signature: "974a71c0-de41-43c3-be5d-5c5ccd1ad2c0" },
  },
} as const satisfies Record<string, Record<"root" | "usr", Record<"root" | "verity" | "signature", string>>>;
export type DdiArch = keyof typeof DDI_PARTITION_TYPES;
export const DDI_ARCHES = Object.keys(DDI_PARTITION_TYPES) as DdiArch[];
/** which file system the data partition holds: the root (an image) or /usr (a system extension) */
export type DdiKind = "root" | "usr";
export const DDI_KINDS: readonly DdiKind[] = ["root", "usr"];
export type DdiRole = "root" | "verity" | "signature";
/** the default target when the input names none */
export const DEFAULT_DDI_ARCH: DdiArch = "x86-64";
/** Node's process.arch names to ours (what this machine's storage-init is built for) */
export const DDI_ARCH_OF_NODE: Record<string, DdiArch> = { x64: "x86-64", arm64: "arm64", arm: "arm", riscv64: "riscv64", ia32: "x86" };
/** "x86-64" etc., or a UsageError naming the supported ones */
export function ddiArchOf(v: string, what = "--arch"): DdiArch {
  if (!Object.hasOwn(DDI_PARTITION_TYPES, v)) throw new UsageError(`${what}: expected one of ${DDI_ARCHES.join(", ")}, got ${JSON.stringify(v)}`);
  return v as DdiArch;
}
/** The spec's name of a partition type, as `systemd-id128 show` prints it: root-x86-64-verity, usr-arm64, ... */
export function ddiTypeName(kind: DdiKind, arch: DdiArch, role: DdiRole): string {
  return `${kind}-${arch}${role === "root" ? "" : role === "verity" ? "-verity" : "-verity-sig"}`;
}
const typeOf = (kind: DdiKind, arch: DdiArch, role: DdiRole): string => DDI_PARTITION_TYPES[arch][kind][role];
/** a partition's role as the spec names it: root, usr-verity, ... */
export function ddiRoleName(kind: DdiKind, role: DdiRole): string {
  return role === "root" ? kind : `${kind}-${role === "verity" ? "verity" : "verity-sig"}`;
}
/** every partition of a DDI is a multiple of this and starts at a multiple of it */
export const DDI_ALIGN = 4096;
export const DDI_ATTRIBUTES = GPT_ATTR.readOnly;

export interface DdiPlanOptions {
  arch: DdiArch;
  /** default root */
  kind?: DdiKind;
  rootHash: Uint8Array;
  /** bytes of each partition; rounded up to DDI_ALIGN */
  dataSize: number;
  hashSize: number;
  signatureSize?: number;
  /** default: derived from the root hash (same image, same bytes) */
  diskGuid?: string;
  /** default GPT_FIRST_LBA (1 MiB, as repart) */
  firstLba?: number;
}

/** A v4-shaped GUID derived from the root hash, for the GUIDs the spec leaves free. */
function derivedGuid(rootHash: Uint8Array, what: string): string {
  const b = createHash("sha256").update(`initoverlayfs ddi ${what}\0`).update(rootHash).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return formatUuid(b);
}

export function ddiPartitionGuids(rootHash: Uint8Array): { root: string; verity: string } {
  if (rootHash.length < 32) throw new UsageError(`DDI: a root hash of at least 32 bytes is needed for the partition GUIDs, got ${rootHash.length}`);
  return { root: formatUuid(rootHash.subarray(0, 16)), verity: formatUuid(rootHash.subarray(rootHash.length - 16)) };
}

export function planDdi(o: DdiPlanOptions): GptTable {
  const kind = o.kind ?? "root";
  const arch = ddiArchOf(o.arch, "DDI architecture");
  const types = DDI_PARTITION_TYPES[arch][kind];
  const guids = ddiPartitionGuids(o.rootHash);
  const up = (n: number) => Math.ceil(n / DDI_ALIGN) * DDI_ALIGN;
  // repart's default label: the type's name
  const part = (role: DdiRole, guid: string, size: number) => ({ type: types[role], guid, name: ddiTypeName(kind, arch, role), size: up(size), attributes: DDI_ATTRIBUTES });
  const partitions = [part("root", guids.root, o.dataSize), part("verity", guids.verity, o.hashSize)];
  if (o.signatureSize !== undefined) partitions.push(part("signature", derivedGuid(o.rootHash, "verity-sig"), o.signatureSize));
  return planGpt({ diskGuid: o.diskGuid ?? derivedGuid(o.rootHash, "disk"), partitions, align: DDI_ALIGN, firstLba: o.firstLba });
}

export interface DdiPartitions {
  arch: DdiArch;
  kind: DdiKind;
  root: GptPartition;
  verity: GptPartition;
  signature?: GptPartition;
}

/**
 * The data, verity and signature partitions of a table: exactly one root (or usr) and one verity
 * partition of one architecture (`only`: of that one, as storage-init built for it looks); root
 * first (an image), else usr (a system extension).
 */
export function findDdiPartitions(t: GptTable, source = "disk image", only?: DdiArch): DdiPartitions {
  const fail = (why: string): never => {
    throw new FormatError("DDI", undefined, why, source);
  };
  for (const kind of DDI_KINDS) {
    for (const arch of only ? [only] : DDI_ARCHES) {
      const of = (role: DdiRole) => t.partitions.filter((p) => p.type === typeOf(kind, arch, role));
      const [root, verity, signature] = (["root", "verity", "signature"] as const).map(of);
      if (!root.length && !verity.length) continue;
      const name = (role: DdiRole) => ddiRoleName(kind, role);
      if (root.length !== 1 || verity.length !== 1) fail(`expected one ${arch} ${name("root")} and one ${name("verity")} partition, found ${root.length} and ${verity.length}`);
      if (signature.length > 1) fail(`expected at most one ${arch} ${name("signature")} partition, found ${signature.length}`);
      for (const p of [root[0], verity[0], ...signature]) {
        if (p.offset % DDI_ALIGN !== 0 || p.size % DDI_ALIGN !== 0) fail(`partition ${p.number} (${p.name}) is not ${DDI_ALIGN}-byte aligned`);
      }
      return { arch, kind, root: root[0], verity: verity[0], signature: signature[0] };
    }
  }
  return fail(only ? `no ${only} root or usr partition` : `no root or usr partition of a known architecture (${DDI_ARCHES.join(", ")})`);
}

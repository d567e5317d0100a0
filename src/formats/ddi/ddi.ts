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
 * root, root-verity and root-verity-sig type GUIDs per architecture (Discoverable Partitions);
 * DDI_USR_PARTITION_TYPES: the usr, usr-verity and usr-verity-sig ones a system extension uses
 * (systemd-id128 show: usr-x86-64, usr-x86-64-verity, usr-x86-64-verity-sig).
 */
export const DDI_PARTITION_TYPES = {
  "x86-64": {
    root: "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
    verity: "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
    signature: "41092b05-9fc8-4523-994f-2def0408b176",
  },
} as const;
export const DDI_USR_PARTITION_TYPES = {
  "x86-64": {
    root: "8484680c-9521-48c6-9c11-b0720656f69e",
    verity: "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
    signature: "e7bb33fb-06cf-4e81-8273-e543b413e2e2",
  },
} as const satisfies Record<keyof typeof DDI_PARTITION_TYPES, Record<"root" | "verity" | "signature", string>>;
export type DdiArch = keyof typeof DDI_PARTITION_TYPES;
export const DDI_ARCHES = Object.keys(DDI_PARTITION_TYPES) as DdiArch[];
export type DdiRole = keyof (typeof DDI_PARTITION_TYPES)[DdiArch];
/** which file system the data partition holds: the root (an image) or /usr (a system extension) */
export type DdiKind = "root" | "usr";
export const DDI_KINDS: readonly DdiKind[] = ["root", "usr"];
const TYPES: Record<DdiKind, Record<DdiArch, Record<DdiRole, string>>> = { root: DDI_PARTITION_TYPES, usr: DDI_USR_PARTITION_TYPES };
/** repart's default labels: the partition type's name */
const LABEL: Record<DdiRole, string> = { root: "%K-%A", verity: "%K-%A-verity", signature: "%K-%A-verity-sig" };
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
  const types = TYPES[kind][o.arch];
  if (!types) throw new UsageError(`DDI: unsupported architecture ${JSON.stringify(o.arch)} (${DDI_ARCHES.join(", ")})`);
  const guids = ddiPartitionGuids(o.rootHash);
  const up = (n: number) => Math.ceil(n / DDI_ALIGN) * DDI_ALIGN;
  const part = (role: DdiRole, guid: string, size: number) => ({ type: types[role], guid, name: LABEL[role].replace("%K", kind).replace("%A", o.arch), size: up(size), attributes: DDI_ATTRIBUTES });
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
 * partition of one architecture; root first (an image), else usr (a system extension).
 */
export function findDdiPartitions(t: GptTable, source = "disk image"): DdiPartitions {
  const fail = (why: string): never => {
    throw new FormatError("DDI", undefined, why, source);
  };
  for (const kind of DDI_KINDS) {
    for (const arch of DDI_ARCHES) {
      const of = (role: DdiRole) => t.partitions.filter((p) => p.type === TYPES[kind][arch][role]);
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
  return fail(`no root or usr partition of a known architecture (${DDI_ARCHES.join(", ")})`);
}

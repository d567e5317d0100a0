/* Discoverable Partitions type GUIDs of a root partition, its root-verity
 * and its root-verity-sig partition, per architecture (systemd's names).
 * The TS table (src/formats/ddi/ddi.ts: DDI_PARTITION_TYPES) is the one
 * definition; test/storage-init/ddi-types.test.ts checks these against it.
 * storage-init looks for the types of the architecture it is built for. */
#ifndef SI_DDI_TYPES_H
#define SI_DDI_TYPES_H

/* name, root, root-verity, root-verity-sig */
#define DDI_TYPES_X86_64 "x86-64", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", \
	"2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", "41092b05-9fc8-4523-994f-2def0408b176"
#define DDI_TYPES_ARM64 "arm64", "b921b045-1df0-41c3-af44-4c6f280d3fae", \
	"df3300ce-d69f-4c92-978c-9bfb0f38d820", "6db69de6-29f4-4758-a7a5-962190f00ce3"
#define DDI_TYPES_ARM "arm", "69dad710-2ce4-4e3c-b16c-21a1d49abed3", \
	"7386cdf2-203c-47a9-a498-f2ecce45a2d6", "42b0455f-eb11-491d-98d3-56145ba9d037"
#define DDI_TYPES_RISCV64 "riscv64", "72ec70a6-cf74-40e6-bd49-4bda08e8f224", \
	"b6ed5582-440b-4209-b8da-5ff7c419ea3d", "efe0f087-ea8d-4469-821a-4c2a96a8386a"
#define DDI_TYPES_X86 "x86", "44479540-f297-41b2-9af7-d131d5f0458a", \
	"d13c5d3b-b5d1-422a-b29f-9454fdc89d76", "5996fc05-109c-48de-808b-23fa0830b676"

#if defined(__x86_64__)
#define DDI_TYPES DDI_TYPES_X86_64
#elif defined(__aarch64__)
#define DDI_TYPES DDI_TYPES_ARM64
#elif defined(__arm__)
#define DDI_TYPES DDI_TYPES_ARM
#elif defined(__riscv) && __riscv_xlen == 64
#define DDI_TYPES DDI_TYPES_RISCV64
#elif defined(__i386__)
#define DDI_TYPES DDI_TYPES_X86
#else
#error "no Discoverable Partitions types for this architecture (ddi_types.h)"
#endif

#endif

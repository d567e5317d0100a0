/* Discoverable Partitions type GUIDs of a root partition, its root-verity
 * and its root-verity-sig partition, then the same three for a usr
 * partition (a system extension of /usr only), per architecture (systemd's
 * names).
 * The TS table (src/formats/ddi/ddi.ts: DDI_PARTITION_TYPES) is the one
 * definition; test/storage-init/ddi-types.test.ts checks these against it.
 * storage-init looks for the types of the architecture it is built for. */
#ifndef SI_DDI_TYPES_H
#define SI_DDI_TYPES_H

/* name, root, root-verity, root-verity-sig, usr, usr-verity, usr-verity-sig */
#define DDI_TYPES_X86_64 "x86-64", "4f68bce3-e8cd-4db1-96e7-fbcaf984b709", \
	"2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", "41092b05-9fc8-4523-994f-2def0408b176", \
	"8484680c-9521-48c6-9c11-b0720656f69e", "77ff5f63-e7b6-4633-acf4-1565b864c0e6", "e7bb33fb-06cf-4e81-8273-e543b413e2e2"
#define DDI_TYPES_ARM64 "arm64", "b921b045-1df0-41c3-af44-4c6f280d3fae", \
	"df3300ce-d69f-4c92-978c-9bfb0f38d820", "6db69de6-29f4-4758-a7a5-962190f00ce3", \
	"b0e01050-ee5f-4390-949a-9101b17104e9", "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e", "c23ce4ff-44bd-4b00-b2d4-b41b3419e02a"
#define DDI_TYPES_ARM "arm", "69dad710-2ce4-4e3c-b16c-21a1d49abed3", \
	"7386cdf2-203c-47a9-a498-f2ecce45a2d6", "42b0455f-eb11-491d-98d3-56145ba9d037", \
	"7d0359a3-02b3-4f0a-865c-654403e70625", "c215d751-7bcd-4649-be90-6627490a4c05", "d7ff812f-37d1-4902-a810-d76ba57b975a"
#define DDI_TYPES_RISCV64 "riscv64", "72ec70a6-cf74-40e6-bd49-4bda08e8f224", \
	"b6ed5582-440b-4209-b8da-5ff7c419ea3d", "efe0f087-ea8d-4469-821a-4c2a96a8386a", \
	"beaec34b-8442-439b-a40b-984381ed097d", "8f1056be-9b05-47c4-81d6-be53128e5b54", "d2f9000a-7a18-453f-b5cd-4d32f77a7b32"
#define DDI_TYPES_X86 "x86", "44479540-f297-41b2-9af7-d131d5f0458a", \
	"d13c5d3b-b5d1-422a-b29f-9454fdc89d76", "5996fc05-109c-48de-808b-23fa0830b676", \
	"75250d76-8cc6-458e-bd66-bd47cc81a812", "8f461b0d-14ee-4e81-9aa9-049b6fb97abd", "974a71c0-de41-43c3-be5d-5c5ccd1ad2c0"

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

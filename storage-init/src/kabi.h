/* Kernel ABI values that musl's libc headers do not provide (no linux/
 * uapi headers are needed to build storage-init). Values are the stable
 * Linux userspace ABI. */
#ifndef SI_KABI_H
#define SI_KABI_H

#include <stdint.h>

/* linux/loop.h */
#define SI_LOOP_SET_FD          0x4C00
#define SI_LOOP_CLR_FD          0x4C01
#define SI_LOOP_SET_STATUS64    0x4C04
#define SI_LOOP_SET_DIRECT_IO   0x4C08
#define SI_LOOP_CONFIGURE       0x4C0A
#define SI_LOOP_CTL_GET_FREE    0x4C82

#define SI_LO_FLAGS_READ_ONLY   1u
#define SI_LO_FLAGS_AUTOCLEAR   4u
#define SI_LO_FLAGS_DIRECT_IO   16u

#define SI_LO_NAME_SIZE 64
#define SI_LO_KEY_SIZE  32

struct si_loop_info64 {
	uint64_t lo_device;
	uint64_t lo_inode;
	uint64_t lo_rdevice;
	uint64_t lo_offset;
	uint64_t lo_sizelimit;
	uint32_t lo_number;
	uint32_t lo_encrypt_type;
	uint32_t lo_encrypt_key_size;
	uint32_t lo_flags;
	uint8_t lo_file_name[SI_LO_NAME_SIZE];
	uint8_t lo_crypt_name[SI_LO_NAME_SIZE];
	uint8_t lo_encrypt_key[SI_LO_KEY_SIZE];
	uint64_t lo_init[2];
};

struct si_loop_config {
	uint32_t fd;
	uint32_t block_size;
	struct si_loop_info64 info;
	uint64_t reserved[8];
};

/* linux/module.h */
#define SI_MODULE_INIT_COMPRESSED_FILE 4u

/* linux/magic.h */
#define SI_TMPFS_MAGIC     0x01021994u
#define SI_RAMFS_MAGIC     0x858458f6u
#define SI_OVERLAYFS_MAGIC 0x794c7630u

#define SI_LOOP_MAJOR 7u

#endif

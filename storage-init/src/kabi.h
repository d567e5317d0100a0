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

/* linux/dm-ioctl.h: device-mapper control interface, version 4 */
#define SI_DM_NAME_LEN 128
#define SI_DM_UUID_LEN 129
#define SI_DM_MAX_TYPE_NAME 16

struct si_dm_ioctl {
	uint32_t version[3];
	uint32_t data_size;     /* whole buffer, this header included */
	uint32_t data_start;    /* payload offset from the header's start */
	uint32_t target_count;
	int32_t open_count;
	uint32_t flags;
	uint32_t event_nr;
	uint32_t padding;
	uint64_t dev;           /* huge_encode_dev(), decoded by major()/minor() */
	char name[SI_DM_NAME_LEN];
	char uuid[SI_DM_UUID_LEN];
	char data[7];
};

struct si_dm_target_spec {
	uint64_t sector_start;
	uint64_t length;
	int32_t status;
	uint32_t next;          /* offset of the next spec from this one */
	char target_type[SI_DM_MAX_TYPE_NAME];
	/* NUL-terminated parameter string follows */
};

#define SI_DM_VERSION_MAJOR 4u
/* _IOWR(0xfd, nr, struct dm_ioctl): 312-byte argument */
#define SI_DM_IOCTL(nr) (0xC0000000ul | ((unsigned long)sizeof(struct si_dm_ioctl) << 16) | 0xfd00ul | (nr))
#define SI_DM_VERSION       SI_DM_IOCTL(0)
#define SI_DM_DEV_CREATE    SI_DM_IOCTL(3)
#define SI_DM_DEV_REMOVE    SI_DM_IOCTL(4)
#define SI_DM_DEV_SUSPEND   SI_DM_IOCTL(6)
#define SI_DM_TABLE_LOAD    SI_DM_IOCTL(9)

#define SI_DM_READONLY_FLAG   (1u << 0)
#define SI_DM_SUSPEND_FLAG    (1u << 1)
#define SI_DM_DEFERRED_REMOVE (1u << 17)

/* linux/fsverity.h: FS_IOC_MEASURE_VERITY = _IOWR('f', 134, struct fsverity_digest) */
struct si_fsverity_digest {
	uint16_t digest_algorithm;  /* 1 SHA-256, 2 SHA-512 */
	uint16_t digest_size;       /* in: room in digest[]; out: its length */
	uint8_t digest[];
};
#define SI_FS_IOC_MEASURE_VERITY 0xC0046686ul

/* linux/keyctl.h */
#define SI_KEY_SPEC_THREAD_KEYRING (-1)

/* linux/fiemap.h: FS_IOC_FIEMAP = _IOWR('f', 11, struct fiemap) */
struct si_fiemap_extent {
	uint64_t fe_logical;
	uint64_t fe_physical;
	uint64_t fe_length;
	uint64_t fe_reserved64[2];
	uint32_t fe_flags;
	uint32_t fe_reserved[3];
};
struct si_fiemap {
	uint64_t fm_start;
	uint64_t fm_length;
	uint32_t fm_flags;
	uint32_t fm_mapped_extents;
	uint32_t fm_extent_count;
	uint32_t fm_reserved;
	/* struct si_fiemap_extent fm_extents[] follows */
};
#define SI_FS_IOC_FIEMAP 0xC020660Bul
#define SI_FIBMAP 1u     /* _IO(0x00, 1): block number in, device block out */
#define SI_FIGETBSZ 2u   /* _IO(0x00, 2): the file's block size */
#define SI_MSDOS_SUPER_MAGIC 0x4d44u
#define SI_FIEMAP_FLAG_SYNC 0x1u
#define SI_FIEMAP_EXTENT_LAST 0x1u
/* a physical location we cannot read from the device as it is */
#define SI_FIEMAP_EXTENT_UNMAPPABLE (0x2u /* UNKNOWN */ | 0x4u /* DELALLOC */ | 0x8u /* ENCODED */ | \
	0x80u /* DATA_ENCRYPTED */ | 0x100u /* NOT_ALIGNED */ | 0x200u /* DATA_INLINE */ | \
	0x400u /* DATA_TAIL */ | 0x800u /* UNWRITTEN */)

_Static_assert(sizeof(struct si_dm_ioctl) == 312, "struct dm_ioctl is 312 bytes");
_Static_assert(sizeof(struct si_dm_target_spec) == 40, "struct dm_target_spec is 40 bytes");
_Static_assert(sizeof(struct si_fiemap_extent) == 56, "struct fiemap_extent is 56 bytes");
_Static_assert(sizeof(struct si_fiemap) == 32, "struct fiemap is 32 bytes");

#endif

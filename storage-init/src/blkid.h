/* Filesystem superblock probes (pure: they only look at a byte buffer
 * holding the start of a device). */
#ifndef SI_BLKID_H
#define SI_BLKID_H

#include <stddef.h>

/* btrfs' primary superblock is at 64 KiB; 68 KiB covers every probe. */
#define PROBE_BUF_SIZE (68 * 1024)
#define PROBE_UUID_MAX 40
#define PROBE_LABEL_MAX 257

struct fs_info {
	char fstype[8];                 /* ext4|ext3|ext2|vfat|xfs|btrfs */
	char uuid[PROBE_UUID_MAX];      /* as blkid prints it */
	char label[PROBE_LABEL_MAX];    /* raw bytes, trailing padding removed */
};

/* Each returns 1 when the filesystem was recognised (out filled), 0 if not.
 * len may be shorter than PROBE_BUF_SIZE (small devices). */
int probe_ext(const unsigned char *buf, size_t len, struct fs_info *out);
int probe_vfat(const unsigned char *buf, size_t len, struct fs_info *out);
int probe_xfs(const unsigned char *buf, size_t len, struct fs_info *out);
int probe_btrfs(const unsigned char *buf, size_t len, struct fs_info *out);
/* Try all of them (btrfs, xfs, ext, vfat). */
int probe_fs(const unsigned char *buf, size_t len, struct fs_info *out);

/* Helpers shared with gpt.c */
unsigned le16(const unsigned char *p);
unsigned long le32(const unsigned char *p);
unsigned long long le64(const unsigned char *p);
/* 16 bytes -> "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", bytes in order */
void uuid_format(const unsigned char *u, char out[37]);

/* The types the boot partition is mounted as, in the order "auto" tries
 * them after the probed one; ext2 and ext3 mount as ext4. */
#define N_MOUNT_FSTYPES 4
extern const char *const mount_fstypes[N_MOUNT_FSTYPES];
/* The type TYPE mounts as: ext4 for ext2 and ext3, else TYPE itself. */
const char *mount_fstype(const char *type);

#endif

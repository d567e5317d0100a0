#include "blkid.h"

#include <stdio.h>
#include <string.h>

unsigned le16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

unsigned long le32(const unsigned char *p)
{
	return (unsigned long)p[0] | (unsigned long)p[1] << 8 |
	       (unsigned long)p[2] << 16 | (unsigned long)p[3] << 24;
}

unsigned long long le64(const unsigned char *p)
{
	return (unsigned long long)le32(p) | (unsigned long long)le32(p + 4) << 32;
}

void uuid_format(const unsigned char *u, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

static int all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Copy a fixed-size on-disk label: stop at NUL, drop trailing pad. */
static void copy_label(char *dst, size_t size, const unsigned char *src, size_t n, char pad)
{
	size_t len = 0;

	while (len < n && src[len] != '\0')
		len++;
	while (len > 0 && (src[len - 1] == (unsigned char)pad || src[len - 1] == ' '))
		len--;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void set_type(struct fs_info *out, const char *t)
{
	size_t n = strlen(t);

	memcpy(out->fstype, t, n + 1 <= sizeof out->fstype ? n + 1 : sizeof out->fstype);
	out->fstype[sizeof out->fstype - 1] = '\0';
}

/* ---- ext2/3/4: superblock at 1024 ------------------------------------- */
#define EXT_SB 1024
#define EXT_COMPAT_HAS_JOURNAL   0x0004u
#define EXT_INCOMPAT_JOURNAL_DEV 0x0008u
#define EXT_INCOMPAT_EXT4_MASK   (0x0040u | 0x0080u | 0x0200u | 0x0400u | 0x1000u | 0x8000u | 0x10000u)
#define EXT_RO_COMPAT_EXT4_MASK  (0x0008u | 0x0010u | 0x0020u | 0x0040u | 0x0400u)

int probe_ext(const unsigned char *buf, size_t len, struct fs_info *out)
{
	const unsigned char *sb = buf + EXT_SB;
	unsigned long compat, incompat, ro_compat;

	if (len < EXT_SB + 1024)
		return 0;
	if (le16(sb + 0x38) != 0xEF53)
		return 0;
	compat = le32(sb + 0x5C);
	incompat = le32(sb + 0x60);
	ro_compat = le32(sb + 0x64);
	if (incompat & EXT_INCOMPAT_JOURNAL_DEV)
		return 0; /* external journal, not a filesystem */
	memset(out, 0, sizeof *out);
	if ((incompat & EXT_INCOMPAT_EXT4_MASK) || (ro_compat & EXT_RO_COMPAT_EXT4_MASK))
		set_type(out, "ext4");
	else if (compat & EXT_COMPAT_HAS_JOURNAL)
		set_type(out, "ext3");
	else
		set_type(out, "ext2");
	if (!all_zero(sb + 0x68, 16))
		uuid_format(sb + 0x68, out->uuid);
	copy_label(out->label, sizeof out->label, sb + 0x78, 16, '\0');
	return 1;
}

/* ---- FAT12/16/32 (vfat): boot sector at 0 ----------------------------- */
static int is_pow2(unsigned long v)
{
	return v && !(v & (v - 1));
}

int probe_vfat(const unsigned char *buf, size_t len, struct fs_info *out)
{
	unsigned long sector_size, cluster, reserved, nfats, fat16_len;
	unsigned media;
	const unsigned char *ext; /* extended BPB (FAT12/16 at 0x24, FAT32 at 0x40) */
	unsigned long id;

	if (len < 512)
		return 0;
	if (!(buf[0] == 0xEB || buf[0] == 0xE9))
		return 0;
	sector_size = le16(buf + 0x0B);
	cluster = buf[0x0D];
	reserved = le16(buf + 0x0E);
	nfats = buf[0x10];
	media = buf[0x15];
	fat16_len = le16(buf + 0x16);
	if (!is_pow2(sector_size) || sector_size < 512 || sector_size > 4096)
		return 0;
	if (!is_pow2(cluster) || reserved == 0 || nfats == 0 || nfats > 4)
		return 0;
	if (media != 0xF0 && media < 0xF8)
		return 0;
	if (fat16_len == 0) {
		/* FAT32: 32-bit FAT size, extended BPB at 0x40 */
		if (le32(buf + 0x24) == 0 || memcmp(buf + 0x52, "FAT32   ", 8) != 0)
			return 0;
		ext = buf + 0x40;
	} else {
		if (memcmp(buf + 0x36, "FAT12   ", 8) != 0 &&
		    memcmp(buf + 0x36, "FAT16   ", 8) != 0 &&
		    memcmp(buf + 0x36, "FAT     ", 8) != 0)
			return 0;
		ext = buf + 0x24;
	}
	memset(out, 0, sizeof *out);
	set_type(out, "vfat");
	/* ext[2] is the extended boot signature: 0x29 (or 0x28: id only) */
	if (ext[2] == 0x29 || ext[2] == 0x28) {
		id = le32(ext + 3);
		snprintf(out->uuid, sizeof out->uuid, "%04lX-%04lX", (id >> 16) & 0xFFFFul, id & 0xFFFFul);
	}
	if (ext[2] == 0x29) {
		copy_label(out->label, sizeof out->label, ext + 7, 11, ' ');
		if (strcmp(out->label, "NO NAME") == 0)
			out->label[0] = '\0';
	}
	return 1;
}

/* ---- XFS: superblock at 0, big-endian --------------------------------- */
int probe_xfs(const unsigned char *buf, size_t len, struct fs_info *out)
{
	if (len < 512 || memcmp(buf, "XFSB", 4) != 0)
		return 0;
	memset(out, 0, sizeof *out);
	set_type(out, "xfs");
	if (!all_zero(buf + 32, 16))
		uuid_format(buf + 32, out->uuid);
	copy_label(out->label, sizeof out->label, buf + 108, 12, '\0');
	return 1;
}

/* ---- btrfs: superblock at 64 KiB -------------------------------------- */
#define BTRFS_SB 0x10000

int probe_btrfs(const unsigned char *buf, size_t len, struct fs_info *out)
{
	const unsigned char *sb = buf + BTRFS_SB;

	if (len < BTRFS_SB + 0x12B + 256)
		return 0;
	if (memcmp(sb + 0x40, "_BHRfS_M", 8) != 0)
		return 0;
	memset(out, 0, sizeof *out);
	set_type(out, "btrfs");
	uuid_format(sb + 0x20, out->uuid);
	copy_label(out->label, sizeof out->label, sb + 0x12B, 256, '\0');
	return 1;
}

int probe_fs(const unsigned char *buf, size_t len, struct fs_info *out)
{
	return probe_btrfs(buf, len, out) || probe_xfs(buf, len, out) ||
	       probe_ext(buf, len, out) || probe_vfat(buf, len, out);
}

const char *const mount_fstypes[N_MOUNT_FSTYPES] = { "ext4", "vfat", "xfs", "btrfs" };

const char *mount_fstype(const char *type)
{
	return strncmp(type, "ext", 3) == 0 ? "ext4" : type;
}

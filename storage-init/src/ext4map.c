#include "ext4map.h"
#include "blkid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* on-disk facts: the kernel's fs/ext4/ext4.h and ext4_extents.h */
#define SB_AT 1024u
#define SB_MAGIC 0xEF53u
#define EXTENT_MAGIC 0xF30Au
#define ROOT_INO 2u
#define DEPTH_MAX 5u             /* EXT4_MAX_EXTENT_DEPTH */
#define INIT_LEN_MAX 32768u      /* longer: an unwritten extent of (len - 32768) blocks */
#define BLOCK_MAX (64u * 1024)
#define NODE_LEN 12u             /* extent header, extent and index entry alike */
#define INODE_READ 128u          /* the part of an inode read here: every inode has it */

#define INCOMPAT_FILETYPE 0x2u
#define INCOMPAT_RECOVER 0x4u
#define INCOMPAT_JOURNAL_DEV 0x8u
#define INCOMPAT_META_BG 0x10u
#define INCOMPAT_EXTENTS 0x40u
#define INCOMPAT_64BIT 0x80u
#define INCOMPAT_MMP 0x100u
#define INCOMPAT_FLEX_BG 0x200u
#define INCOMPAT_EA_INODE 0x400u
#define INCOMPAT_CSUM_SEED 0x2000u
#define INCOMPAT_LARGEDIR 0x4000u
#define INCOMPAT_INLINE_DATA 0x8000u
#define INCOMPAT_ENCRYPT 0x10000u
#define INCOMPAT_CASEFOLD 0x20000u
/* what this reader copes with; inline data and encryption only where no
 * inode on the path uses them (checked per inode) */
#define INCOMPAT_KNOWN (INCOMPAT_FILETYPE | INCOMPAT_EXTENTS | INCOMPAT_64BIT | \
	INCOMPAT_MMP | INCOMPAT_FLEX_BG | INCOMPAT_EA_INODE | INCOMPAT_CSUM_SEED | INCOMPAT_LARGEDIR | \
	INCOMPAT_INLINE_DATA | INCOMPAT_ENCRYPT | INCOMPAT_CASEFOLD)

#define FL_ENCRYPT 0x800u
#define FL_EXTENTS 0x80000u
#define FL_INLINE_DATA 0x10000000u
#define S_IFMT_ 0xF000u
#define S_IFDIR_ 0x4000u
#define S_IFREG_ 0x8000u
#define S_IFLNK_ 0xA000u

/* bounds on the work a malformed filesystem can ask for */
#define NODES_MAX 4096u          /* extent tree blocks visited per file */
#define DIR_EXTENTS_MAX 256u
#define DIR_BLOCKS_MAX 65536u
#define PATH_PARTS_MAX 32u

struct fs {
	ext4_read_fn read;
	void *ctx;
	uint64_t blocks, groups;
	uint32_t bs, ipg, inodes, isize, dsize, first_data;
	int filetype, b64;
	char *err;
	size_t errlen;
};

struct inode {
	uint64_t at;  /* its byte offset, for errors */
	uint32_t ino, mode, flags;
	uint64_t size;
	unsigned char iblock[60];
};

struct walk {
	struct si_fiemap_extent *ext;
	size_t n, max;
	uint64_t next_lblk;  /* extents come in logical order, without overlap */
	unsigned nodes;
};

static long bad(struct fs *f, const char *what, uint64_t at)
{
	snprintf(f->err, f->errlen, "ext4: %s (byte %llu)", what, (unsigned long long)at);
	return -1;
}

static int get(struct fs *f, void *buf, size_t len, uint64_t off)
{
	if (f->read(f->ctx, buf, len, off) == 0)
		return 0;
	snprintf(f->err, f->errlen, "ext4: read %zu bytes at byte %llu: %s", len, (unsigned long long)off,
		 strerror(errno ? errno : EIO));
	return -1;
}

static int superblock(struct fs *f)
{
	unsigned char sb[1024];
	uint32_t log, bpg, incompat, rev;

	if (get(f, sb, sizeof sb, SB_AT) < 0)
		return -1;
	if (le16(sb + 0x38) != SB_MAGIC)
		return (int)bad(f, "no ext2/3/4 superblock", SB_AT + 0x38);
	incompat = (uint32_t)le32(sb + 0x60);
	if (incompat & INCOMPAT_JOURNAL_DEV)
		return (int)bad(f, "an external journal device, not a filesystem", SB_AT + 0x60);
	if (incompat & INCOMPAT_RECOVER)
		return (int)bad(f, "the journal needs recovery (an unclean shutdown)", SB_AT + 0x60);
	if (incompat & INCOMPAT_META_BG)
		return (int)bad(f, "meta_bg group descriptors", SB_AT + 0x60);
	if (incompat & ~INCOMPAT_KNOWN) {
		char why[64];

		snprintf(why, sizeof why, "incompatible features 0x%x unknown here", incompat & ~INCOMPAT_KNOWN);
		return (int)bad(f, why, SB_AT + 0x60);
	}
	log = (uint32_t)le32(sb + 0x18);
	if (log > 6)
		return (int)bad(f, "block size over 64 KiB", SB_AT + 0x18);
	f->bs = 1024u << log;
	f->b64 = (incompat & INCOMPAT_64BIT) != 0;
	f->filetype = (incompat & INCOMPAT_FILETYPE) != 0;
	f->inodes = (uint32_t)le32(sb);
	f->blocks = le32(sb + 0x04) | (f->b64 ? (uint64_t)le32(sb + 0x150) << 32 : 0);
	f->first_data = (uint32_t)le32(sb + 0x14);
	bpg = (uint32_t)le32(sb + 0x20);
	f->ipg = (uint32_t)le32(sb + 0x28);
	rev = (uint32_t)le32(sb + 0x4C);
	f->isize = rev ? le16(sb + 0x58) : 128;
	f->dsize = f->b64 ? le16(sb + 0xFE) : 32;
	if (f->first_data != (f->bs == 1024 ? 1u : 0u))
		return (int)bad(f, "first data block does not match the block size", SB_AT + 0x14);
	if (bpg == 0 || bpg > 8 * f->bs || f->ipg == 0 || f->ipg > 8 * f->bs || f->blocks <= f->first_data)
		return (int)bad(f, "blocks or inodes per group out of range", SB_AT + 0x20);
	if (f->isize < INODE_READ || f->isize > f->bs || (f->isize & (f->isize - 1)))
		return (int)bad(f, "inode size out of range", SB_AT + 0x58);
	if (f->dsize < (f->b64 ? 64u : 32u) || f->dsize > 1024 || (f->dsize & (f->dsize - 1)))
		return (int)bad(f, "group descriptor size out of range", SB_AT + 0xFE);
	f->groups = (f->blocks - f->first_data + bpg - 1) / bpg;
	if (f->inodes == 0 || (uint64_t)f->inodes > f->groups * f->ipg)
		return (int)bad(f, "inode count out of range", SB_AT);
	return 0;
}

static int inode_get(struct fs *f, uint32_t ino, struct inode *out)
{
	unsigned char gd[64], raw[INODE_READ];
	uint64_t gd_at, table, at;
	uint32_t group, idx;

	if (ino == 0 || ino > f->inodes)
		return (int)bad(f, "inode number out of range", SB_AT);
	group = (ino - 1) / f->ipg;
	idx = (ino - 1) % f->ipg;
	gd_at = (uint64_t)(f->first_data + 1) * f->bs + (uint64_t)group * f->dsize;
	if (get(f, gd, f->b64 ? 64 : 32, gd_at) < 0)
		return -1;
	table = le32(gd + 8) | (f->b64 ? (uint64_t)le32(gd + 0x28) << 32 : 0);
	if (table == 0 || table >= f->blocks || (uint64_t)idx * f->isize / f->bs >= f->blocks - table)
		return (int)bad(f, "inode table outside the filesystem", gd_at + 8);
	at = table * f->bs + (uint64_t)idx * f->isize;
	if (get(f, raw, sizeof raw, at) < 0)
		return -1;
	out->at = at;
	out->ino = ino;
	out->mode = le16(raw);
	out->flags = (uint32_t)le32(raw + 0x20);
	out->size = le32(raw + 0x04) | (uint64_t)le32(raw + 0x6C) << 32;
	memcpy(out->iblock, raw + 0x28, sizeof out->iblock);
	if (out->mode == 0)
		return (int)bad(f, "inode not in use", at);
	return 0;
}

/* One 12-byte slot of an extent tree node: in the inode (mem) or a block. */
static int slot(struct fs *f, const unsigned char *mem, uint64_t at, unsigned i, unsigned char *out)
{
	if (mem) {
		memcpy(out, mem + (size_t)i * NODE_LEN, NODE_LEN);
		return 0;
	}
	return get(f, out, NODE_LEN, at + (uint64_t)i * NODE_LEN);
}

/* The node at AT (or MEM, the inode's i_block holding 4 slots): its leaves
 * become extents; WANT is the depth its parent says it has (-1: the root). */
static int walk(struct fs *f, const unsigned char *mem, uint64_t at, unsigned cap, int want,
		struct walk *w)
{
	unsigned char h[NODE_LEN], e[NODE_LEN];
	unsigned entries, max, depth, i;

	if (++w->nodes > NODES_MAX)
		return (int)bad(f, "extent tree too large", at);
	if (slot(f, mem, at, 0, h) < 0)
		return -1;
	entries = le16(h + 2);
	max = le16(h + 4);
	depth = le16(h + 6);
	if (le16(h) != EXTENT_MAGIC || entries > max || max > cap || depth > DEPTH_MAX ||
	    (want >= 0 && depth != (unsigned)want))
		return (int)bad(f, "malformed extent tree node", at);
	for (i = 1; i <= entries; i++) {
		if (slot(f, mem, at, i, e) < 0)
			return -1;
		if (depth == 0) {
			uint64_t lblk = le32(e), start = (uint64_t)le16(e + 6) << 32 | le32(e + 8);
			unsigned len = le16(e + 4), unwritten = len > INIT_LEN_MAX;
			struct si_fiemap_extent *x;

			if (unwritten)
				len -= INIT_LEN_MAX;
			if (len == 0 || lblk < w->next_lblk || start == 0 || start >= f->blocks ||
			    len > f->blocks - start)
				return (int)bad(f, "extent out of order or outside the filesystem", at + i * NODE_LEN);
			if (w->n >= w->max) {
				snprintf(f->err, f->errlen, "ext4: more than %zu extents", w->max);
				return -1;
			}
			x = &w->ext[w->n++];
			memset(x, 0, sizeof *x);
			x->fe_logical = lblk * f->bs;
			x->fe_physical = start * f->bs;
			x->fe_length = (uint64_t)len * f->bs;
			x->fe_flags = unwritten ? 0x800u /* FIEMAP_EXTENT_UNWRITTEN */ : 0;
			w->next_lblk = lblk + len;
		} else {
			uint64_t child = (uint64_t)le16(e + 8) << 32 | le32(e + 4);

			if (child == 0 || child >= f->blocks)
				return (int)bad(f, "extent index outside the filesystem", at + i * NODE_LEN);
			if (walk(f, NULL, child * f->bs, f->bs / NODE_LEN - 1, (int)depth - 1, w) < 0)
				return -1;
		}
	}
	return 0;
}

static long extents_of(struct fs *f, const struct inode *in, struct si_fiemap_extent *ext, size_t max)
{
	struct walk w = { ext, 0, max, 0, 0 };

	if (!(in->flags & FL_EXTENTS))
		return bad(f, "a block-mapped inode (ext2/ext3 style), not extents", in->at);
	if (walk(f, in->iblock, in->at + 0x28, sizeof in->iblock / NODE_LEN - 1, -1, &w) < 0)
		return -1;
	return (long)w.n;
}

/* ext4_rec_len_from_disk: 64 KiB blocks keep the top bits in the low ones */
static uint32_t rec_len(uint32_t raw, uint32_t bs)
{
	if (bs < 65536)
		return raw;
	if (raw == 65535 || raw == 0)
		return 65536;
	return (raw & 65532) | ((raw & 3) << 16);
}

/* The inode of NAME (NLEN bytes) in directory DIR: a linear scan of its
 * blocks (an htree's index blocks read as one empty entry each). */
static int lookup(struct fs *f, const struct inode *dir, const char *name, size_t nlen, uint32_t *ino)
{
	static struct si_fiemap_extent dext[DIR_EXTENTS_MAX];
	static unsigned char blk[BLOCK_MAX];
	unsigned blocks = 0;
	long n, i;

	if ((dir->mode & S_IFMT_) != S_IFDIR_)
		return (int)bad(f, "a path component is not a directory", dir->at);
	if (dir->flags & (FL_INLINE_DATA | FL_ENCRYPT))
		return (int)bad(f, "an inline-data or encrypted directory", dir->at);
	n = extents_of(f, dir, dext, DIR_EXTENTS_MAX);
	if (n < 0)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t b, nb = dext[i].fe_length / f->bs;

		if (dext[i].fe_flags)
			continue; /* unwritten: reads as zeros, no entries */
		for (b = 0; b < nb; b++) {
			uint64_t at = dext[i].fe_physical + b * f->bs;
			uint32_t pos = 0;

			if (++blocks > DIR_BLOCKS_MAX)
				return (int)bad(f, "directory too large", at);
			if (get(f, blk, f->bs, at) < 0)
				return -1;
			while (pos + 8 <= f->bs) {
				uint32_t e_ino = (uint32_t)le32(blk + pos), len = rec_len(le16(blk + pos + 4), f->bs);
				uint32_t e_nlen = f->filetype ? blk[pos + 6] : le16(blk + pos + 6);

				if (len < 8 || len % 4 || len > f->bs - pos || e_nlen > len - 8)
					return (int)bad(f, "malformed directory entry", at + pos);
				if (e_ino && e_nlen == nlen && memcmp(blk + pos + 8, name, nlen) == 0) {
					*ino = e_ino;
					return 0;
				}
				pos += len;
			}
		}
	}
	snprintf(f->err, f->errlen, "ext4: no \"%.*s\" in directory inode %u", (int)(nlen > 64 ? 64 : nlen),
		 name, dir->ino);
	errno = ENOENT;
	return -1;
}

long ext4_file_extents(ext4_read_fn read, void *ctx, const char *path,
		       struct si_fiemap_extent *ext, size_t max, uint64_t *size,
		       char *err, size_t errlen)
{
	struct fs f;
	struct inode in;
	const char *p = path;
	unsigned parts = 0;
	long n;

	memset(&f, 0, sizeof f);
	f.read = read;
	f.ctx = ctx;
	f.err = err;
	f.errlen = errlen;
	if (path[0] != '/') {
		snprintf(err, errlen, "ext4: %s is not an absolute path", path);
		return -1;
	}
	if (superblock(&f) < 0 || inode_get(&f, ROOT_INO, &in) < 0)
		return -1;
	for (;;) {
		size_t len;
		uint32_t ino = 0;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		len = strcspn(p, "/");
		if (++parts > PATH_PARTS_MAX || (len <= 2 && p[0] == '.' && (len == 1 || p[1] == '.'))) {
			snprintf(err, errlen, "ext4: %s: too deep, or . or .. in it", path);
			return -1;
		}
		if ((in.mode & S_IFMT_) == S_IFLNK_) {
			snprintf(err, errlen, "ext4: %s: a symbolic link on the way", path);
			return -1;
		}
		if (lookup(&f, &in, p, len, &ino) < 0 || inode_get(&f, ino, &in) < 0)
			return -1;
		p += len;
	}
	if ((in.mode & S_IFMT_) != S_IFREG_) {
		snprintf(err, errlen, "ext4: %s is not a regular file", path);
		return -1;
	}
	if (in.flags & (FL_INLINE_DATA | FL_ENCRYPT)) {
		snprintf(err, errlen, "ext4: %s is inline data or encrypted", path);
		return -1;
	}
	n = extents_of(&f, &in, ext, max);
	if (n >= 0)
		*size = in.size;
	return n;
}

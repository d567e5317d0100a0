/* Extensions merged into one RAM layer (see merge.h). Paths, not
 * descriptors: the xattr calls on symlinks need them, and the depth is
 * bounded by the path buffer. */
#define _GNU_SOURCE
#include "merge.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#define PATH_LEN 1024
#define LINK_SLOTS 64
#define MAX_DEPTH 64

static char names[64 * 1024]; /* XATTR_LIST_MAX */
static char value[64 * 1024]; /* XATTR_SIZE_MAX */
static char chunk[64 * 1024];

struct walk {
	char src[PATH_LEN], dst[PATH_LEN];
	size_t slen, dlen;
	struct merge_error *e;
};

/* files with several names in the source: the first copy, to link the others to */
static struct {
	dev_t dev;
	ino_t ino;
	char path[PATH_LEN];
} links[LINK_SLOTS];
static size_t n_links;

static int failed(struct merge_error *e, const char *op, const char *path)
{
	e->err = errno;
	e->op = op;
	str_copy(e->path, sizeof e->path, path);
	return -1;
}

static int start(struct walk *w, const char *src, const char *dst, struct merge_error *e)
{
	memset(e, 0, sizeof *e);
	w->e = e;
	w->slen = strlen(src);
	w->dlen = strlen(dst);
	if (w->slen >= PATH_LEN || w->dlen >= PATH_LEN) {
		errno = ENAMETOOLONG;
		return failed(e, "path", src);
	}
	memcpy(w->src, src, w->slen + 1);
	memcpy(w->dst, dst, w->dlen + 1);
	return 0;
}

/* Append /name to both paths; restored by pop(). */
static int push(struct walk *w, const char *name)
{
	size_t n = strlen(name);

	if (w->slen + 1 + n >= PATH_LEN || w->dlen + 1 + n >= PATH_LEN) {
		errno = ENAMETOOLONG;
		return failed(w->e, "path", w->src);
	}
	w->src[w->slen] = '/';
	memcpy(w->src + w->slen + 1, name, n + 1);
	w->dst[w->dlen] = '/';
	memcpy(w->dst + w->dlen + 1, name, n + 1);
	w->slen += 1 + n;
	w->dlen += 1 + n;
	return 0;
}

static void pop(struct walk *w, const char *name)
{
	size_t n = strlen(name) + 1;

	w->slen -= n;
	w->dlen -= n;
	w->src[w->slen] = '\0';
	w->dst[w->dlen] = '\0';
}

static int is_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static int copy_xattrs(struct walk *w)
{
	ssize_t n = llistxattr(w->src, names, sizeof names);
	const char *p;

	if (n < 0)
		return errno == EOPNOTSUPP ? 0 : failed(w->e, "listxattr", w->src);
	for (p = names; p < names + n; p += strlen(p) + 1) {
		ssize_t v = lgetxattr(w->src, p, value, sizeof value);

		if (v < 0)
			return failed(w->e, "getxattr", w->src);
		if (lsetxattr(w->dst, p, value, (size_t)v, 0) < 0)
			return failed(w->e, "setxattr", w->dst);
	}
	return 0;
}

static int copy_data(struct walk *w)
{
	int in = open(w->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	int out, rc = 0;
	ssize_t r;

	if (in < 0)
		return failed(w->e, "open", w->src);
	out = open(w->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		close(in);
		return failed(w->e, "create", w->dst);
	}
	while ((r = read(in, chunk, sizeof chunk)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = failed(w->e, "read", w->src);
			break;
		}
		if (write_full(out, chunk, (size_t)r) < 0) {
			rc = failed(w->e, "write", w->dst);
			break;
		}
	}
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = failed(w->e, "close", w->dst);
	return rc;
}

/* An earlier name of the same file in this tree: link to its copy. 1 when
 * linked, 0 when this is the first name (remembered), -1 on error. */
static int link_known(struct walk *w, const struct stat *st)
{
	size_t i;

	if (st->st_nlink < 2)
		return 0;
	for (i = 0; i < n_links; i++) {
		if (links[i].dev == st->st_dev && links[i].ino == st->st_ino) {
			if (link(links[i].path, w->dst) < 0)
				return failed(w->e, "link", w->dst);
			return 1;
		}
	}
	if (n_links < LINK_SLOTS) { /* beyond: copies of their own */
		links[n_links].dev = st->st_dev;
		links[n_links].ino = st->st_ino;
		str_copy(links[n_links++].path, PATH_LEN, w->dst);
	}
	return 0;
}

/* fn on each entry of the directory at w->src (w->dst following along),
 * stopping at the first failure. */
static int each_entry(struct walk *w, int depth, int (*fn)(struct walk *w, int depth))
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if (depth >= MAX_DEPTH) {
		errno = ELOOP;
		return failed(w->e, "depth", w->src);
	}
	d = opendir(w->src);
	if (!d)
		return failed(w->e, "opendir", w->src);
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = failed(w->e, "readdir", w->src);
			break;
		}
		if (is_dot(de->d_name))
			continue;
		if (push(w, de->d_name) < 0) {
			rc = -1;
			break;
		}
		rc = fn(w, depth + 1);
		pop(w, de->d_name);
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

static int copy_node(struct walk *w, int depth);

static int copy_dir(struct walk *w, int depth)
{
	if (mkdir(w->dst, 0700) < 0)
		return failed(w->e, "mkdir", w->dst);
	return each_entry(w, depth, copy_node);
}

static int copy_node(struct walk *w, int depth)
{
	struct timespec ts[2];
	struct stat st;
	ssize_t n;
	int linked;

	if (lstat(w->src, &st) < 0)
		return failed(w->e, "lstat", w->src);
	switch (st.st_mode & S_IFMT) {
	case S_IFDIR:
		if (copy_dir(w, depth) < 0)
			return -1;
		break;
	case S_IFREG:
		linked = link_known(w, &st);
		if (linked < 0)
			return -1;
		if (linked)
			return 0; /* the same inode: owner, mode and xattrs set once */
		if (copy_data(w) < 0)
			return -1;
		break;
	case S_IFLNK:
		n = readlink(w->src, value, sizeof value - 1);
		if (n < 0)
			return failed(w->e, "readlink", w->src);
		value[n] = '\0';
		if (symlink(value, w->dst) < 0)
			return failed(w->e, "symlink", w->dst);
		break;
	default: /* devices, fifos, sockets; a whiteout is a 0/0 character device */
		if (mknod(w->dst, st.st_mode, st.st_rdev) < 0)
			return failed(w->e, "mknod", w->dst);
		break;
	}
	/* chown before chmod (it clears set-id bits) and before the xattrs (it
	 * clears security.capability) */
	if (lchown(w->dst, st.st_uid, st.st_gid) < 0)
		return failed(w->e, "chown", w->dst);
	if (!S_ISLNK(st.st_mode) && chmod(w->dst, st.st_mode & 07777) < 0)
		return failed(w->e, "chmod", w->dst);
	if (copy_xattrs(w) < 0)
		return -1;
	ts[0] = st.st_atim;
	ts[1] = st.st_mtim;
	if (utimensat(AT_FDCWD, w->dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(w->e, "utimensat", w->dst);
	return 0;
}

int merge_copy_tree(const char *src, const char *dst, struct merge_error *e)
{
	static struct walk w;

	n_links = 0;
	if (start(&w, src, dst, e) < 0)
		return -1;
	return copy_node(&w, 0);
}

static int is_opaque(const char *path)
{
	char v[2];

	return lgetxattr(path, MERGE_OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y';
}

static int remove_node(struct walk *w, int depth);

/* dst, a lower directory merged with the upper src, takes src's owner,
 * mode, xattrs and times (overlayfs shows the upper one's), and stays or
 * becomes opaque when it hid what is below. */
static int take_dir_attrs(struct walk *w, const struct stat *st, int opaque)
{
	ssize_t n = llistxattr(w->dst, names, sizeof names);
	struct timespec ts[2];
	const char *p;

	if (n < 0)
		return failed(w->e, "listxattr", w->dst);
	for (p = names; p < names + n; p += strlen(p) + 1)
		if (lremovexattr(w->dst, p) < 0)
			return failed(w->e, "removexattr", w->dst);
	if (lchown(w->dst, st->st_uid, st->st_gid) < 0)
		return failed(w->e, "chown", w->dst);
	if (chmod(w->dst, st->st_mode & 07777) < 0)
		return failed(w->e, "chmod", w->dst);
	if (copy_xattrs(w) < 0)
		return -1;
	if (opaque && lsetxattr(w->dst, MERGE_OPAQUE_XATTR, "y", 1, 0) < 0)
		return failed(w->e, "setxattr " MERGE_OPAQUE_XATTR, w->dst);
	ts[0] = st->st_atim;
	ts[1] = st->st_mtim;
	if (utimensat(AT_FDCWD, w->dst, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(w->e, "utimensat", w->dst);
	return 0;
}

static int merge_dir(struct walk *w, int depth);

/* w->src: an entry of an upper directory, w->dst: the same name in the
 * lower one it goes over */
static int merge_entry(struct walk *w, int depth)
{
	static struct walk r; /* remove_node never comes back here */
	struct stat us, ls;
	int opaque;

	if (lstat(w->src, &us) < 0)
		return failed(w->e, "lstat", w->src);
	if (lstat(w->dst, &ls) < 0) {
		/* nothing below it */
		if (errno != ENOENT)
			return failed(w->e, "lstat", w->dst);
		return rename(w->src, w->dst) < 0 ? failed(w->e, "rename", w->dst) : 0;
	}
	if (S_ISDIR(us.st_mode) && S_ISDIR(ls.st_mode) && !is_opaque(w->src)) {
		opaque = is_opaque(w->dst);
		if (merge_dir(w, depth) < 0)
			return -1;
		return take_dir_attrs(w, &us, opaque);
	}
	/* the upper entry hides the lower one; an upper directory over a
	 * non-directory stops the merge there: opaque */
	opaque = S_ISDIR(us.st_mode) && !S_ISDIR(ls.st_mode);
	memcpy(r.src, w->dst, w->dlen + 1);
	memcpy(r.dst, w->dst, w->dlen + 1);
	r.slen = r.dlen = w->dlen;
	r.e = w->e;
	if (remove_node(&r, 0) < 0)
		return -1;
	if (rename(w->src, w->dst) < 0)
		return failed(w->e, "rename", w->dst);
	if (opaque && lsetxattr(w->dst, MERGE_OPAQUE_XATTR, "y", 1, 0) < 0)
		return failed(w->e, "setxattr " MERGE_OPAQUE_XATTR, w->dst);
	return 0;
}

/* Only the upper tree is walked: the cost is the new extension's size,
 * not the layer's. */
static int merge_dir(struct walk *w, int depth)
{
	return each_entry(w, depth, merge_entry);
}

int merge_over(const char *upper, const char *lower, struct merge_error *e)
{
	static struct walk w;
	struct stat us;

	if (start(&w, upper, lower, e) < 0)
		return -1;
	if (lstat(upper, &us) < 0)
		return failed(e, "lstat", upper);
	if (merge_dir(&w, 0) < 0)
		return -1;
	return take_dir_attrs(&w, &us, is_opaque(lower));
}

static int remove_node(struct walk *w, int depth)
{
	struct stat st;

	if (lstat(w->src, &st) < 0)
		return failed(w->e, "lstat", w->src);
	if (!S_ISDIR(st.st_mode))
		return unlink(w->src) < 0 ? failed(w->e, "unlink", w->src) : 0;
	if (each_entry(w, depth, remove_node) < 0)
		return -1;
	return rmdir(w->src) < 0 ? failed(w->e, "rmdir", w->src) : 0;
}

int merge_remove_tree(const char *path, struct merge_error *e)
{
	static struct walk w;

	if (start(&w, path, path, e) < 0)
		return -1;
	return remove_node(&w, 0);
}

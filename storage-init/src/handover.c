/* Hand-over of what the boot loader appended (see handover.h). It mirrors
 * what the kernel's own unpacking (init/initramfs.c) does with an archive
 * over an earlier one: an entry of another type is removed first (a
 * directory only when empty), directories get the archive's owner and
 * mode, everything its mtime. */
#define _GNU_SOURCE
#include "handover.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_DEPTH 256      /* two descriptors a level: well below RLIMIT_NOFILE */
#define CHUNK (64 * 1024)
#define LINK_SLOTS 64

static char chunk[CHUNK];
/* files with several names: the first copy's path, to link the others to */
static struct {
	ino_t ino;
	char path[SI_PATH_MAX];
} links[LINK_SLOTS];
static size_t n_links;

struct walk {
	const struct manifest *m;
	const char *skip;
	int dst_root;                /* the new root: copies are linked to from there */
	dev_t dev;
	char path[MANIFEST_PATH_MAX];
	size_t len;
	struct handover_report *rep;
};

/* a directory being walked; its counterpart in the new root is opened
 * (or made) only when something goes into it */
struct level {
	struct level *up;
	const char *name;
	int src, dst;
	const struct manifest_entry *own; /* one of the mini's own directories */
	int is_own, existed, changed;
	struct stat st;              /* as the archives left it, before we empty it */
	struct timespec image_mtime; /* an own directory's in the image */
};

/* Records the first failure (closing the directories after it may fail
 * too); returns -1. */
static int failed(struct walk *w, const char *op)
{
	int e = errno;

	if (w->rep->reason[0])
		return -1;
	str_copy(w->rep->path, sizeof w->rep->path, w->len ? w->path : "/");
	snprintf(w->rep->reason, sizeof w->rep->reason, "%s: %s", op, strerror(e));
	errno = e;
	return -1;
}

static int pwrite_full(int fd, const char *buf, size_t n, off_t off)
{
	while (n) {
		ssize_t r = pwrite(fd, buf, n, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			return -1;
		}
		buf += r;
		n -= (size_t)r;
		off += r;
	}
	return 0;
}

static int set_owner_mode(int fd, const struct stat *st)
{
	/* chown first: it clears set-id bits that chmod then sets */
	if (fchown(fd, st->st_uid, st->st_gid) < 0)
		return -1;
	return fchmod(fd, st->st_mode & 07777);
}

/* Open L's directory in the new root, making it when missing. The
 * archive's own directories replace what is there (a symlink too, as the
 * kernel does); the mini's own are looked up as paths are (a symlink in
 * the image, /lib -> usr/lib, is followed). */
static int open_dst(struct walk *w, struct level *l)
{
	struct level *up = l->up;
	struct stat ds;
	int created = 0, fd;

	if (l->dst >= 0)
		return 0;
	if (open_dst(w, up) < 0)
		return -1;
	if (l->is_own) {
		fd = openat(up->dst, l->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			if (fstat(fd, &ds) < 0) {
				close(fd);
				return failed(w, "stat in the new root");
			}
			l->dst = fd;
			l->existed = 1;
			l->image_mtime = ds.st_mtim;
			if (l->own && (l->own->mode != l->st.st_mode || l->own->uid != l->st.st_uid ||
				       l->own->gid != l->st.st_gid)) {
				/* an appended archive set them */
				if (set_owner_mode(fd, &l->st) < 0)
					return failed(w, "chown/chmod in the new root");
			}
			return 0;
		}
		if (errno != ENOENT)
			return failed(w, "open in the new root");
	} else if (fstatat(up->dst, l->name, &ds, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISDIR(ds.st_mode)) {
			if (unlinkat(up->dst, l->name, 0) < 0)
				return failed(w, "remove the image's entry");
			w->rep->st.replaced++;
			up->changed = 1;
		}
	} else if (errno != ENOENT) {
		return failed(w, "stat in the new root");
	}
	if (mkdirat(up->dst, l->name, 0700) == 0)
		created = 1, up->changed = 1;
	else if (errno != EEXIST)
		return failed(w, "mkdir in the new root");
	fd = openat(up->dst, l->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return failed(w, "open in the new root");
	l->dst = fd;
	if (!l->is_own || created) {
		if (set_owner_mode(fd, &l->st) < 0)
			return failed(w, "chown/chmod in the new root");
	}
	return 0;
}

/* Times as the archive set them (the kernel does so after the last
 * entry); an own directory the image has keeps the image's, as the
 * kernel keeps the first archive's. */
static int close_dst(struct walk *w, struct level *l)
{
	struct timespec t[2];
	int rc = 0;

	if (l->dst < 0)
		return 0;
	if (!l->is_own || !l->existed) {
		t[0] = l->st.st_atim;
		t[1] = l->st.st_mtim;
		rc = futimens(l->dst, t);
	} else if (l->changed) {
		t[0].tv_nsec = UTIME_OMIT;
		t[0].tv_sec = 0;
		t[1] = l->image_mtime;
		rc = futimens(l->dst, t);
	}
	if (rc < 0)
		rc = failed(w, "set times in the new root");
	close(l->dst);
	l->dst = -1;
	return rc;
}

/* pread_full() came back short: an error, or the file shrank meanwhile */
static int short_read(struct walk *w)
{
	if (errno == 0)
		errno = EIO;
	return failed(w, "read on the rootfs");
}

static int copy_data(struct walk *w, int sfd, int dfd, const struct stat *st)
{
	off_t off, start;
	size_t n;

	if (st->st_nlink > 1) { /* the other names still need the bytes */
		for (off = 0; off < st->st_size; off += (off_t)n) {
			n = st->st_size - off < CHUNK ? (size_t)(st->st_size - off) : CHUNK;
			if (pread_full(sfd, chunk, n, off) != (ssize_t)n)
				return short_read(w);
			if (pwrite_full(dfd, chunk, n, off) < 0)
				return failed(w, "write");
		}
		return 0;
	}
	/* back to front, the rootfs copy shrinking as the new one grows */
	for (off = st->st_size; off > 0; off = start) {
		start = (off - 1) / CHUNK * CHUNK;
		n = (size_t)(off - start);
		if (pread_full(sfd, chunk, n, start) != (ssize_t)n)
			return short_read(w);
		if (pwrite_full(dfd, chunk, n, start) < 0)
			return failed(w, "write");
		if (ftruncate(sfd, start) < 0)
			return failed(w, "truncate on the rootfs");
	}
	return 0;
}

static int copy_file(struct walk *w, struct level *l, const char *name, const struct stat *st)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	size_t i;
	int sfd, dfd, rc;

	/* another name of a file copied already: its count went down as
	 * we removed names, so look whatever it says now (no inode is
	 * created on the rootfs meanwhile: a number is not reused) */
	{
		for (i = 0; i < n_links; i++) {
			if (links[i].ino == st->st_ino) {
				if (linkat(w->dst_root, links[i].path + 1, l->dst, name, 0) < 0)
					return failed(w, "link in the new root");
				w->rep->st.links++;
				log_debug("appended %s: a link to %s", w->path, links[i].path);
				return 0;
			}
		}
	}
	sfd = openat(l->src, name, (st->st_nlink > 1 ? O_RDONLY : O_RDWR) | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return failed(w, "open on the rootfs");
	dfd = openat(l->dst, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0) {
		close(sfd);
		return failed(w, "create in the new root");
	}
	rc = copy_data(w, sfd, dfd, st);
	if (rc == 0 && (set_owner_mode(dfd, st) < 0 || futimens(dfd, t) < 0))
		rc = failed(w, "chown/chmod/times in the new root");
	if (close(dfd) < 0 && rc == 0)
		rc = failed(w, "close in the new root");
	close(sfd);
	if (rc < 0)
		return -1;
	w->rep->st.files++;
	w->rep->st.bytes += (unsigned long long)st->st_size;
	log_debug("appended %s: %lld bytes, mode %04o, owner %u:%u", w->path, (long long)st->st_size,
		  (unsigned)(st->st_mode & 07777), (unsigned)st->st_uid, (unsigned)st->st_gid);
	if (st->st_nlink > 1) {
		if (n_links < LINK_SLOTS && str_copy(links[n_links].path, SI_PATH_MAX, w->path) == 0)
			links[n_links++].ino = st->st_ino;
		else
			log_warn("appended %s: %lu names; the others are copied, not linked", w->path,
				 (unsigned long)st->st_nlink);
	}
	return 0;
}

static int copy_entry(struct walk *w, struct level *l, const char *name, const struct stat *st)
{
	struct timespec t[2] = { st->st_atim, st->st_mtim };
	struct stat ds;

	if (open_dst(w, l) < 0)
		return -1;
	if (fstatat(l->dst, name, &ds, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(ds.st_mode) && unlinkat(l->dst, name, AT_REMOVEDIR) < 0) {
			if (errno != ENOTEMPTY && errno != EEXIST)
				return failed(w, "remove the image's directory");
			log_warn("appended %s not handed over: the image has a directory there that is "
				 "not empty (the kernel's unpacking would not replace it either)", w->path);
			w->rep->st.skipped++;
			return 0;
		}
		if (!S_ISDIR(ds.st_mode) && unlinkat(l->dst, name, 0) < 0)
			return failed(w, "remove the image's file");
		w->rep->st.replaced++;
		log_debug("appended %s replaces the image's", w->path);
	} else if (errno != ENOENT) {
		return failed(w, "stat in the new root");
	}
	l->changed = 1;
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		if (copy_file(w, l, name, st) < 0)
			return -1;
		break;
	case S_IFLNK: {
		ssize_t r = readlinkat(l->src, name, chunk, sizeof chunk - 1);

		if (r < 0)
			return failed(w, "readlink on the rootfs");
		chunk[r] = '\0';
		if (symlinkat(chunk, l->dst, name) < 0)
			return failed(w, "symlink in the new root");
		if (fchownat(l->dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    utimensat(l->dst, name, t, AT_SYMLINK_NOFOLLOW) < 0)
			return failed(w, "chown/times in the new root");
		w->rep->st.symlinks++;
		log_debug("appended %s: a symlink", w->path);
		break;
	}
	default: /* device, fifo, socket */
		if (mknodat(l->dst, name, st->st_mode & (S_IFMT | 0777), st->st_rdev) < 0)
			return failed(w, "mknod in the new root");
		if (fchownat(l->dst, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchmodat(l->dst, name, st->st_mode & 07777, 0) < 0 ||
		    utimensat(l->dst, name, t, AT_SYMLINK_NOFOLLOW) < 0)
			return failed(w, "chown/chmod/times in the new root");
		w->rep->st.nodes++;
		log_debug("appended %s: a node %u:%u", w->path, major(st->st_rdev), minor(st->st_rdev));
	}
	if (unlinkat(l->src, name, 0) < 0)
		return failed(w, "remove from the rootfs");
	return 0;
}

static int walk_dir(struct walk *w, struct level *l, int depth);

static int walk_entry(struct walk *w, struct level *l, const char *name, int depth)
{
	const struct manifest_entry *own = NULL;
	struct level c;
	struct stat st;
	int rc;

	if (fstatat(l->src, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return failed(w, "stat on the rootfs");
	if (st.st_dev != w->dev) {
		log_debug("%s: a mount point, left alone", w->path);
		return 0;
	}
	if (w->skip && strcmp(w->path, w->skip) == 0)
		return 0;
	if (l->is_own)
		own = manifest_find(w->m, w->path);
	if (!S_ISDIR(st.st_mode)) {
		if (own) {
			log_debug("%s: the mini initramfs's own, not handed over", w->path);
			return 0;
		}
		return copy_entry(w, l, name, &st);
	}
	if (depth >= MAX_DEPTH) {
		errno = ELOOP;
		return failed(w, "more than 256 directories deep");
	}
	memset(&c, 0, sizeof c);
	c.up = l;
	c.name = name;
	c.dst = -1;
	c.own = own;
	c.is_own = own != NULL;
	c.st = st;
	c.src = openat(l->src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c.src < 0)
		return failed(w, "open on the rootfs");
	/* the archive's directory exists even if empty; an own one whose
	 * owner or mode an archive changed gets them */
	if (!c.is_own || own->mode != st.st_mode || own->uid != st.st_uid || own->gid != st.st_gid) {
		if (open_dst(w, &c) < 0) {
			close(c.src);
			return -1;
		}
		if (!c.is_own)
			w->rep->st.dirs++;
		l->changed = 1;
	}
	rc = walk_dir(w, &c, depth + 1);
	if (close_dst(w, &c) < 0)
		rc = -1;
	if (rc == 0 && !c.is_own && unlinkat(l->src, name, AT_REMOVEDIR) < 0 && errno != ENOTEMPTY)
		rc = failed(w, "remove from the rootfs");
	return rc;
}

/* Walks L (its src descriptor is consumed). */
static int walk_dir(struct walk *w, struct level *l, int depth)
{
	struct dirent *de;
	DIR *d = fdopendir(l->src);
	size_t len = w->len;
	int rc = 0;

	if (!d) {
		close(l->src);
		return failed(w, "opendir on the rootfs");
	}
	for (;;) {
		size_t n;

		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				rc = failed(w, "readdir on the rootfs");
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		n = strlen(de->d_name);
		if (len + 1 + n >= sizeof w->path) {
			errno = ENAMETOOLONG;
			rc = failed(w, de->d_name);
			break;
		}
		w->path[len] = '/';
		memcpy(w->path + len + 1, de->d_name, n + 1);
		w->len = len + 1 + n;
		rc = walk_entry(w, l, de->d_name, depth);
		w->len = len;
		w->path[len] = '\0';
		if (rc < 0)
			break;
	}
	closedir(d);
	return rc;
}

int handover_tree(int src, int dst, const struct manifest *m, const char *skip,
		  struct handover_report *rep)
{
	static struct walk w;
	struct level root;
	struct stat ds;
	int rc;

	memset(rep, 0, sizeof *rep);
	memset(&w, 0, sizeof w);
	memset(&root, 0, sizeof root);
	w.m = m;
	w.skip = skip;
	w.rep = rep;
	n_links = 0;
	if (fstat(src, &root.st) < 0 || fstat(dst, &ds) < 0)
		return failed(&w, "stat");
	w.dev = root.st.st_dev;
	w.dst_root = dst;
	/* the roots: both "own", the new root's times kept */
	root.is_own = 1;
	root.existed = 1;
	root.image_mtime = ds.st_mtim;
	root.src = dup(src);
	if (root.src < 0)
		return failed(&w, "dup");
	root.dst = dup(dst);
	if (root.dst < 0) {
		close(root.src);
		return failed(&w, "dup");
	}
	rc = walk_dir(&w, &root, 0);
	if (close_dst(&w, &root) < 0)
		rc = -1;
	return rc;
}

int handover_appended(const char *newroot, const char *skip, struct handover_report *rep)
{
	static char text[MANIFEST_FILE_MAX + 1];
	static struct manifest m;
	char err[160];
	int src, dst, pipefd[2], status;
	size_t len;
	ssize_t r;
	pid_t pid;

	memset(rep, 0, sizeof *rep);
	str_copy(rep->path, sizeof rep->path, MANIFEST_PATH);
	if (read_file(MANIFEST_PATH, text, sizeof text, &len) < 0) {
		snprintf(rep->reason, sizeof rep->reason, "%s",
			 errno == EFBIG ? "larger than 64 KiB" : strerror(errno));
		return -1;
	}
	if (manifest_parse(&m, text, len, err, sizeof err) < 0) {
		str_copy(rep->reason, sizeof rep->reason, err);
		return -1;
	}
	log_debug("%s: %zu paths of the mini initramfs", MANIFEST_PATH, m.n);
	str_copy(rep->path, sizeof rep->path, "/");
	src = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0) {
		snprintf(rep->reason, sizeof rep->reason, "open: %s", strerror(errno));
		return -1;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(rep->reason, sizeof rep->reason, "pipe/fork: %s", strerror(errno));
		close(src);
		return -1;
	}
	if (pid == 0) {
		int rc = -1;

		close(pipefd[0]);
		if (chroot(newroot) < 0 || chdir("/") < 0 ||
		    (dst = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
			str_copy(rep->path, sizeof rep->path, newroot);
			snprintf(rep->reason, sizeof rep->reason, "chroot: %s", strerror(errno));
		} else {
			rc = handover_tree(src, dst, &m, skip, rep);
		}
		(void)write_full(pipefd[1], rep, sizeof *rep);
		_exit(rc < 0 ? 1 : 0);
	}
	close(pipefd[1]);
	close(src);
	r = read_full(pipefd[0], rep, sizeof *rep);
	close(pipefd[0]);
	if (wait_child(pid, &status) < 0) {
		snprintf(rep->reason, sizeof rep->reason, "waitpid: %s", strerror(errno));
		return -1;
	}
	if (r == (ssize_t)sizeof *rep && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (r != (ssize_t)sizeof *rep || !rep->reason[0]) {
		str_copy(rep->path, sizeof rep->path, newroot);
		snprintf(rep->reason, sizeof rep->reason, "the copying process ended abnormally (status %d)",
			 status);
	}
	return -1;
}

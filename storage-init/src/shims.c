/* Switch-root shims (see shims.h). Everything below install_shims() runs
 * in its child, chrooted into the new root, so that absolute symlinks
 * such as /sbin -> /usr/sbin resolve inside the image. */
#define _GNU_SOURCE
#include "shims.h"
#include "args.h"
#include "log.h"
#include "script.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TEMP_SUFFIX ".initoverlayfs-new"

static int copy_fd(int from, int to)
{
	static char buf[16384];
	off_t off = 0;

	for (;;) {
		ssize_t r = pread_full(from, buf, sizeof buf, off);

		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		if (write_full(to, buf, (size_t)r) < 0)
			return -1;
		off += r;
	}
}

/* Give PATH new contents, mode MODE: the contents of SRC when SRC >= 0,
 * else DATA[0..LEN). Written to a new file next to PATH and renamed over
 * it, never into the old file: the old name is often one hard link of
 * busybox, whose other names must stay as they are. The temp file goes
 * on any failure. Returns 0 or -1 with errno. */
static int replace_file(const char *path, int src, const char *data, size_t len, mode_t mode)
{
	char tmp[SI_PATH_MAX];
	int fd, saved;

	if (str_concat(tmp, sizeof tmp, path, TEMP_SUFFIX) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* one left in the image would make O_EXCL fail */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	/* fchmod: open's mode went through the umask. No fsync: the file is
	 * in the overlay's tmpfs upper layer, which does not outlive the boot. */
	if ((src >= 0 ? copy_fd(src, fd) : write_full(fd, data, len)) < 0 ||
	    fchmod(fd, mode) < 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		goto fail;
	}
	return 0;
fail:
	(void)unlink(tmp); /* best effort: the first error is the one reported */
	errno = saved;
	return -1;
}

/* Copy ourselves over PATH if the image has it. Returns 1 when installed,
 * 0 when PATH is not in the image, -1 with errno. */
static int install_one(int self_fd, const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT) {
			log_debug("shim %s: not in the image, skipped", path);
			return 0;
		}
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	if (replace_file(path, self_fd, NULL, 0, 0755) < 0)
		return -1;
	log_info("shim %s installed (was %s)", path,
		 S_ISLNK(st.st_mode) ? "a symlink" : st.st_nlink > 1 ? "a hard link" : "a file");
	return 1;
}

/* busybox with FEATURE_SH_STANDALONE runs its own applet for a bare
 * "run-init" whatever PATH says: point such calls in the listed scripts at
 * the installed shim. */
static int rewrite_script(const char *path, const char *const *names, const char *const *shims,
			  size_t n)
{
	static char a[SCRIPT_MAX + 1], b[SCRIPT_MAX + 4096];
	struct stat st;
	size_t len, i;
	unsigned total = 0, count;
	long r;

	if (stat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return -1;
	}
	if (!S_ISREG(st.st_mode))
		return 0;
	if (read_file(path, a, sizeof a, &len) < 0)
		return -1;
	if (len < 2 || a[0] != '#' || a[1] != '!')
		return 0; /* not a script (e.g. systemd) */
	for (i = 0; i < n; i++) {
		if (!shims[i])
			continue;
		r = script_rewrite(a, len, names[i], shims[i], b, SCRIPT_MAX, &count);
		if (r < 0) {
			errno = EFBIG;
			return -1;
		}
		if (count) {
			memcpy(a, b, (size_t)r);
			len = (size_t)r;
			total += count;
			log_info("%s: %u call(s) of %s now run %s", path, count, names[i], shims[i]);
		}
	}
	if (total == 0)
		return 0;
	return replace_file(path, -1, a, len, st.st_mode & 07777);
}

/* The child's way out on failure: errno and PATH to the parent, exit 1. */
static _Noreturn void child_failed(int pipefd, struct shim_report *rep, const char *path)
{
	rep->err = errno;
	str_copy(rep->path, sizeof rep->path, path);
	(void)write_full(pipefd, rep, sizeof *rep); /* the parent reports a short read as ECHILD */
	_exit(1);
}

int install_shims(const struct config *c, const char *root, struct shim_report *rep)
{
	int self_fd, pipefd[2], status;
	static const char *const tool_names[3] = { NULL, "run-init", "switch_root" };
	const char *installed[3] = { NULL, NULL, NULL };
	ssize_t r;
	pid_t pid;
	size_t i;

	memset(rep, 0, sizeof *rep);
	str_copy(rep->path, sizeof rep->path, "/proc/self/exe");
	self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		rep->err = errno;
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		rep->err = errno;
		return -1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (chroot(root) < 0 || chdir("/") < 0)
			child_failed(pipefd[1], rep, root);
		for (i = 0; i < c->shims.n; i++) {
			const char *p = c->shims.path[i];
			int rc = install_one(self_fd, p);

			if (rc < 0)
				child_failed(pipefd[1], rep, p);
			if (rc == 1) {
				enum tool t = tool_from_argv0(p);

				if (t != TOOL_STORAGE_INIT && !installed[t])
					installed[t] = p;
			}
		}
		for (i = 0; i < c->scripts.n; i++) {
			if (rewrite_script(c->scripts.path[i], tool_names, installed, 3) < 0)
				child_failed(pipefd[1], rep, c->scripts.path[i]);
		}
		_exit(0);
	}
	close(pipefd[1]);
	close(self_fd);
	r = read_full(pipefd[0], rep, sizeof *rep);
	close(pipefd[0]);
	if (wait_child(pid, &status) < 0) {
		rep->err = errno;
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (r != (ssize_t)sizeof *rep || rep->err == 0) {
		rep->err = ECHILD;
		str_copy(rep->path, sizeof rep->path, root);
	}
	return -1;
}

#define _GNU_SOURCE
#include "switchroot.h"
#include "log.h"
#include "mounts.h"
#include "udevd.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int init_is_executable(const char *newroot, const char *init)
{
	pid_t pid;
	int status;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (chroot(newroot) < 0 || chdir("/") < 0)
			_exit(errno & 0xFF);
		if (access(init, X_OK) < 0)
			_exit(errno & 0xFF);
		_exit(0);
	}
	if (wait_child(pid, &status) < 0)
		return -1;
	if (!WIFEXITED(status)) {
		errno = ECHILD;
		return -1;
	}
	if (WEXITSTATUS(status) != 0) {
		errno = WEXITSTATUS(status);
		return -1;
	}
	return 0;
}

int switch_by_move(const char *old_name, enum move_step *failed)
{
	/* after the move nothing can reach the old root's files: free the RAM now */
	if (is_ram_fs("/")) {
		unsigned long n;
		int rootfd;

		*failed = MOVE_OPEN_ROOT;
		rootfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (rootfd < 0)
			return -1;
		n = delete_tree(rootfd);
		close(rootfd);
		log_debug("removed %lu entries of %s", n, old_name);
	}
	*failed = MOVE_MOUNT;
	if (do_mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		return -1;
	*failed = MOVE_CHROOT;
	if (chroot(".") < 0)
		return -1;
	*failed = MOVE_CHDIR;
	return chdir("/");
}

/* Mount id of an open fd, from PROC/self/fdinfo/FD; -1 if unknown. */
static long fd_mnt_id(const char *proc, int fd)
{
	char path[SI_PATH_MAX], buf[1024];
	const char *p;
	unsigned long v = 0;

	if (snprintf(path, sizeof path, "%s/self/fdinfo/%d", proc, fd) >= (int)sizeof path)
		return -1;
	if (read_file(path, buf, sizeof buf, NULL) < 0)
		return -1;
	p = strstr(buf, "mnt_id:");
	if (!p)
		return -1;
	for (p += 7; *p == ' ' || *p == '\t'; p++)
		;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9' && v < 100000000ul; p++)
		v = v * 10 + (unsigned long)(*p - '0');
	return (long)v;
}

/* Close descriptors that point into the old root mount, so that nothing
 * keeps the overlay (and with it the EROFS image and its loop device)
 * alive. Uses the mount ids in fdinfo (overlay files may report the
 * st_dev of a layer), else st_dev. PROC is procfs. */
static void close_fds_on_root(const char *proc)
{
	struct rlimit rl;
	struct stat root_st;
	long root_mnt = -1;
	int fd, rootfd, max = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || fstat(rootfd, &root_st) < 0)
		return;
	root_mnt = fd_mnt_id(proc, rootfd);
	for (fd = 3; fd < max; fd++) {
		struct stat st;

		if (fd == rootfd || fstat(fd, &st) < 0)
			continue;
		if (root_mnt >= 0 ? fd_mnt_id(proc, fd) == root_mnt : st.st_dev == root_st.st_dev) {
			log_debug("closing fd %d (on the old root)", fd);
			close(fd);
		}
	}
	close(rootfd);
}

/* how long a udevd left running gets to exit: it first waits for its workers */
#define UDEVD_STOP_MS 5000

static int shim_fail(const char *name, const char *what, int err)
{
	log_error("FAILED at %s: %s: %s", name, what, strerror(err));
	return 1;
}

int shim_main(enum tool t, int argc, char **argv)
{
	const char *name = (t == TOOL_RUN_INIT) ? "run-init" : "switch_root";
	struct switch_args a;
	struct stat root_st, new_st;
	char err[256], kmsg[SI_PATH_MAX];
	const char *proc;
	/* how a failed switch_by_move() step is named in the shim's FAILED line */
	static const char *const move_what[] = {
		[MOVE_OPEN_ROOT] = "open /",
		[MOVE_MOUNT] = "mount --move . /",
		[MOVE_CHROOT] = "chroot",
		[MOVE_CHDIR] = "chdir /",
	};
	enum move_step step;

	log_open(NULL);
	if (parse_switch_args(t, argc, argv, &a, err, sizeof err) < 0) {
		log_error("%s", err);
		return 1;
	}
	/* initramfs-tools moves /dev into the new root before exec'ing us */
	if (str_concat(kmsg, sizeof kmsg, a.newroot, "/dev/kmsg") == 0)
		log_open(kmsg);
	/* refusing beats silently booting with more capabilities than the user asked for */
	if (a.drop_caps) {
		log_error("FAILED at %s: -d %s: dropping capabilities is not supported by this shim", name,
			  a.drop_caps);
		return 1;
	}
	if (stat("/", &root_st) < 0)
		return shim_fail(name, "/", errno);
	if (stat(a.newroot, &new_st) < 0)
		return shim_fail(name, a.newroot, errno);
	if (!S_ISDIR(new_st.st_mode))
		return shim_fail(name, a.newroot, ENOTDIR);
	if (new_st.st_dev == root_st.st_dev) {
		log_error("FAILED at %s: %s: not a separate filesystem", name, a.newroot);
		return 1;
	}
	if (init_is_executable(a.newroot, a.init) < 0) {
		char both[2 * SI_PATH_MAX];

		snprintf(both, sizeof both, "%s in %s", a.init, a.newroot);
		return shim_fail(name, both, errno);
	}
	if (a.dry_run)
		return 0;

	if (chdir(a.newroot) < 0)
		return shim_fail(name, a.newroot, errno);
	/* procfs: initramfs-tools moves /proc into the new root before exec'ing us */
	proc = access("proc/self", F_OK) == 0 ? "proc" : "/proc";
	stop_leftover_udevd(proc, name, UDEVD_STOP_MS);
	close_fds_on_root(proc);
	/* pivot_root(".", "."): the old root ends up stacked on "." and is
	 * detached right away; no directory is needed in the new root. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return shim_fail(name, "detach old root", errno);
		if (chroot(".") < 0 || chdir("/") < 0)
			return shim_fail(name, "chroot", errno);
		log_info("%s: switched to %s (pivot_root, old root detached)", name, a.newroot);
	} else {
		log_warn("%s: pivot_root: %s; using mount --move (old root stays mounted)", name,
			 strerror(errno));
		if (switch_by_move("the old root", &step) < 0)
			return shim_fail(name, move_what[step], errno);
		log_info("%s: switched to %s (mount --move)", name, a.newroot);
	}
	if (a.console) {
		int fd = open(a.console, O_RDWR | O_NOCTTY);

		if (fd < 0) {
			log_warn("%s: console %s: %s", name, a.console, strerror(errno));
		} else {
			(void)dup2(fd, 0);
			(void)dup2(fd, 1);
			(void)dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	log_close();
	execv(a.init, a.init_argv);
	log_open(NULL);
	return shim_fail(name, a.init, errno);
}

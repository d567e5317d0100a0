#define _GNU_SOURCE
#include "failure.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <unistd.h>

static enum failure_policy policy = FAILURE_PANIC;
static char shell_path[SI_PATH_MAX] = "/bin/sh";
static char image_root[SI_PATH_MAX];
static void (*cleanup)(void);

void failure_set_policy(enum failure_policy p, const char *shell)
{
	policy = p;
	if (shell)
		str_copy(shell_path, sizeof shell_path, shell);
}

void failure_set_image_root(const char *dir)
{
	if (!dir)
		image_root[0] = '\0';
	else
		str_copy(image_root, sizeof image_root, dir);
}

void failure_set_cleanup(void (*fn)(void))
{
	cleanup = fn;
}

static void exec_shell(void)
{
	char *argv[2];

	argv[0] = shell_path;
	argv[1] = NULL;
	if (access(shell_path, X_OK) == 0) {
		log_error("starting emergency shell %s", shell_path);
		execv(shell_path, argv);
		log_error("exec %s: %s", shell_path, strerror(errno));
	}
	if (image_root[0] && chroot(image_root) == 0 && chdir("/") == 0 &&
	    access(shell_path, X_OK) == 0) {
		log_error("starting emergency shell %s from the image", shell_path);
		execv(shell_path, argv);
		log_error("exec %s in the image: %s", shell_path, strerror(errno));
	}
	log_error("no shell %s available, panicking instead", shell_path);
}

_Noreturn void fail(const char *step, const char *what, const char *reason)
{
	log_error("FAILED at %s: %s: %s", step, what, reason);
	if (cleanup) {
		void (*fn)(void) = cleanup;

		cleanup = NULL;  /* once, even if it fails itself */
		fn();
	}
	sync();
	if (getpid() == 1) {
		if (policy == FAILURE_REBOOT) {
			log_error("rebooting");
			reboot(RB_AUTOBOOT);
			log_error("reboot: %s", strerror(errno));
		} else if (policy == FAILURE_SHELL) {
			exec_shell();
		}
	}
	/* PID 1 exiting makes the kernel panic right below our line. */
	exit(1);
}

_Noreturn void fail_errno(const char *step, const char *what, int err)
{
	fail(step, what, strerror(err));
}

#define _GNU_SOURCE
#include "udevd.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int is_udevd_comm(const char *comm)
{
	/* systemd's daemon, and the name it had before systemd took udev in */
	return strcmp(comm, "systemd-udevd\n") == 0 || strcmp(comm, "udevd\n") == 0;
}

/* Gone: reaped here (it is our child once its parent exited: we are PID 1),
 * or no longer there. */
static int gone(pid_t pid)
{
	int status;
	pid_t r = waitpid(pid, &status, WNOHANG);

	if (r == pid)
		return 1;
	if (r < 0 && errno == ECHILD)
		return kill(pid, 0) < 0 && errno == ESRCH;
	return 0;
}

int stop_leftover_udevd(const char *proc, const char *who, unsigned wait_ms)
{
	DIR *d = opendir(proc);
	struct dirent *de;
	int found = 0;

	if (!d) {
		log_warn("%s: %s: %s; not checking for a udevd left running", who, proc, strerror(errno));
		return 0;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		char path[SI_PATH_MAX], comm[64];
		unsigned long pid;
		unsigned long long t0;
		int stopped;

		if (parse_ulong(de->d_name, 0x7fffffff, &pid) < 0 || pid <= 1 || pid == (unsigned long)getpid())
			continue;
		if (snprintf(path, sizeof path, "%s/%lu/comm", proc, pid) >= (int)sizeof path ||
		    read_file(path, comm, sizeof comm, NULL) < 0 || !is_udevd_comm(comm))
			continue;
		found++;
		if (kill((pid_t)pid, SIGTERM) < 0) {
			if (errno != ESRCH)
				log_warn("%s: udevd (pid %lu) still runs at the hand-over; SIGTERM: %s", who, pid,
					 strerror(errno));
			continue;
		}
		/* one answer per look: once reaped, a second look could find its pid reused */
		t0 = now_ms();
		while (!(stopped = gone((pid_t)pid)) && now_ms() - t0 < wait_ms)
			sleep_ms(10);
		if (stopped)
			log_warn("%s: udevd (pid %lu) still ran at the hand-over: stopped it (%llu ms)",
				 who, pid, now_ms() - t0);
		else
			log_warn("%s: udevd (pid %lu) still runs %u ms after SIGTERM; handing over with it", who, pid,
				 wait_ms);
	}
	if (errno != 0)
		log_warn("%s: reading %s: %s", who, proc, strerror(errno));
	closedir(d);
	return found;
}

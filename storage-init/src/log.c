#define _GNU_SOURCE
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_LINE_MAX 1024

static int kmsg_fd = -1;
static unsigned long max_level = 6;
static int devkmsg_changed;   /* we switched ratelimit -> on */
static int devkmsg_on;        /* kmsg known not to drop our lines */
static long console_level = -1; /* kernel console_loglevel, read once */
static int console_is_stderr;   /* offline tool mode: never /dev/console */

static int console_shows(int level);

void log_open(const char *path)
{
	int fd;

	if (kmsg_fd >= 0)
		return;
	fd = open(path ? path : "/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0)
		kmsg_fd = fd;
}

void log_use_stderr(void)
{
	console_is_stderr = 1;
}

void log_close(void)
{
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	kmsg_fd = -1;
}

void log_set_level(unsigned long level)
{
	max_level = level > 7 ? 7 : level;
}

void log_unlimit_devkmsg(void)
{
	char mode[32];

	(void)console_shows(0); /* cache console_loglevel */
	if (read_sysfs("/proc/sys/kernel/printk_devkmsg", mode, sizeof mode) < 0)
		return;
	if (strcmp(mode, "on") == 0) {
		devkmsg_on = 1;
	} else if (strcmp(mode, "ratelimit") == 0 &&
		   write_file("/proc/sys/kernel/printk_devkmsg", "on\n") == 0) {
		devkmsg_changed = 1;
		devkmsg_on = 1;
	}
}

void log_restore_devkmsg(void)
{
	if (devkmsg_changed && write_file("/proc/sys/kernel/printk_devkmsg", "ratelimit\n") == 0)
		devkmsg_changed = 0;
}

/* Would the kernel itself print a kmsg line of this level on the console?
 * (Read once while /proc is there: later we may be in a chroot without it.) */
static int console_shows(int level)
{
	char buf[64];
	long v = 0;
	size_t i;

	if (console_level < 0) {
		if (read_sysfs("/proc/sys/kernel/printk", buf, sizeof buf) < 0)
			return 0;
		for (i = 0; buf[i] >= '0' && buf[i] <= '9' && v < 100; i++)
			v = v * 10 + (buf[i] - '0');
		console_level = v;
	}
	return level < console_level;
}

static void console_write(const char *line, size_t len)
{
	int fd = console_is_stderr ? -1 :
		 open("/dev/console", O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd >= 0) {
		(void)write_full(fd, line, len);
		close(fd);
	} else {
		(void)write_full(STDERR_FILENO, line, len);
	}
}

static void emit(int level, int to_console, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX];
	int n, m;
	size_t body, len;
	int saved = errno;
	int kmsg_ok = 0;

	if ((unsigned long)level > max_level && !to_console)
		return;
	n = snprintf(line, sizeof line, "<%d>" LOG_PREFIX, level);
	if (n < 0 || (size_t)n >= sizeof line)
		return;
	m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	line[len] = '\0';
	body = (size_t)(strchr(line, '>') - line) + 1;

	if (kmsg_fd >= 0)
		kmsg_ok = write_full(kmsg_fd, line, len) == 0;
	if (to_console) {
		/* one line on the console: skip it when the kernel prints the
		 * kmsg record there anyway */
		if (!(kmsg_ok && devkmsg_on && console_shows(level)))
			console_write(line + body, len - body);
	} else if (!kmsg_ok) {
		(void)write_full(STDERR_FILENO, line + body, len - body);
	}
	errno = saved;
}

#define DEFINE_LOG(fn, level, console)                  \
	void fn(const char *fmt, ...)                   \
	{                                               \
		va_list ap;                             \
		va_start(ap, fmt);                      \
		emit(level, console, fmt, ap);          \
		va_end(ap);                             \
	}

DEFINE_LOG(log_debug, 7, 0)
DEFINE_LOG(log_info, 6, 0)
DEFINE_LOG(log_warn, 4, 0)
DEFINE_LOG(log_error, 2, 1)

#define _GNU_SOURCE
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

int str_copy(char *dst, size_t size, const char *src)
{
	return str_ncopy(dst, size, src, strlen(src));
}

int str_ncopy(char *dst, size_t size, const char *src, size_t n)
{
	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int str_concat(char *dst, size_t size, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (size == 0 || la >= size || lb >= size - la) {
		if (size)
			dst[0] = '\0';
		return -1;
	}
	memcpy(dst, a, la);
	memcpy(dst + la, b, lb);
	dst[la + lb] = '\0';
	return 0;
}

static int ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

int str_ieq(const char *a, const char *b)
{
	while (*a && *b) {
		if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
			return 0;
		a++;
		b++;
	}
	return *a == *b;
}

int parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

long hex_decode(const char *hex, unsigned char *out, size_t size)
{
	size_t n = strlen(hex), i;

	if (n % 2 != 0 || n / 2 > size)
		return -1;
	for (i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

long base64_decode(const char *in, size_t n, unsigned char *out, size_t size, int skip_space)
{
	unsigned long acc = 0;
	size_t i, o = 0, chars = 0, pad = 0;
	int v;

	for (i = 0; i < n; i++) {
		char c = in[i];

		if (skip_space && (c == ' ' || c == '\n' || c == '\r' || c == '\t'))
			continue;
		if (c == '=') {
			pad++;
			chars++;
			continue;
		}
		if (pad || (v = b64_value(c)) < 0)
			return -1; /* data after padding, or not base64 */
		acc = (acc << 6) | (unsigned long)v;
		if (++chars % 4 == 0) {
			if (o + 3 > size)
				return -1;
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (chars % 4 || pad > 2)
		return -1;
	if (pad) {
		/* the last quantum: 4 - pad characters, unused bits must be zero (canonical) */
		acc <<= 6 * pad;
		if ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff)))
			return -1;
		if (o + 3 - pad > size)
			return -1;
		out[o++] = (unsigned char)(acc >> 16);
		if (pad == 1)
			out[o++] = (unsigned char)(acc >> 8);
	}
	return (long)o;
}

const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* read() (off < 0) or pread() until n bytes, EOF or an error other than EINTR */
static ssize_t read_until(int fd, void *buf, size_t n, off_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = off < 0 ? read(fd, (char *)buf + done, n - done)
				    : pread(fd, (char *)buf + done, n - done, off + (off_t)done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t read_full(int fd, void *buf, size_t n)
{
	return read_until(fd, buf, n, -1);
}

ssize_t pread_full(int fd, void *buf, size_t n, off_t off)
{
	if (off < 0) { /* as pread() itself would answer */
		errno = EINVAL;
		return -1;
	}
	return read_until(fd, buf, n, off);
}

int pread_exact(void *fd_ctx, void *buf, size_t n, uint64_t off)
{
	ssize_t r;

	if (off > (uint64_t)INT64_MAX - n) {
		errno = EOVERFLOW;
		return -1;
	}
	errno = 0;
	r = pread_full(*(const int *)fd_ctx, buf, n, (off_t)off);
	if (r == (ssize_t)n)
		return 0;
	if (r >= 0)
		errno = EIO;
	return -1;
}

int write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write(fd, (const char *)buf + done, n - done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)r;
	}
	return 0;
}

int read_file(const char *path, char *buf, size_t size, size_t *len)
{
	int fd, saved;
	ssize_t r;
	char extra;

	if (size == 0) {
		errno = EINVAL;
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	r = read_full(fd, buf, size - 1);
	if (r < 0)
		goto fail;
	if ((size_t)r == size - 1) {
		ssize_t more = read_full(fd, &extra, 1);

		if (more < 0)
			goto fail;
		if (more > 0) {
			errno = EFBIG;
			goto fail;
		}
	}
	buf[r] = '\0';
	if (len)
		*len = (size_t)r;
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int read_sysfs(const char *path, char *buf, size_t size)
{
	size_t len;

	if (read_file(path, buf, size, &len) < 0)
		return -1;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	return 0;
}

int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	int rc, saved;

	if (fd < 0)
		return -1;
	rc = write_full(fd, s, strlen(s));
	saved = errno;
	if (close(fd) < 0 && rc == 0)
		return -1;
	errno = saved;
	return rc;
}

int mkdir_exist_ok(const char *path, unsigned mode)
{
	struct stat st;

	if (mkdir(path, (mode_t)mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (stat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

unsigned long long now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (unsigned long long)ts.tv_sec * 1000ull +
	       (unsigned long long)ts.tv_nsec / 1000000ull;
}

int wait_child(pid_t pid, int *status)
{
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -1;
	}
	return 0;
}

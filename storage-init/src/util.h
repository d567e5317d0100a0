/* Small bounded string and I/O helpers. */
#ifndef SI_UTIL_H
#define SI_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SI_PATH_MAX 256

/* Copy src into dst (size bytes). Returns 0, or -1 if it does not fit
 * (dst then holds a truncated, NUL-terminated copy). */
int str_copy(char *dst, size_t size, const char *src);
/* Copy exactly n bytes of src (which need not be NUL-terminated). */
int str_ncopy(char *dst, size_t size, const char *src, size_t n);
/* dst = a + b. Returns 0 or -1 when too long. */
int str_concat(char *dst, size_t size, const char *a, const char *b);
/* Case-insensitive ASCII equality. */
int str_ieq(const char *a, const char *b);
/* Parse a decimal unsigned number in [0, max]; 0 on success, -1 otherwise. */
int parse_ulong(const char *s, unsigned long max, unsigned long *out);
/* Hex string (even length, any case) to bytes; returns the byte count, or
 * -1 when it is not hex or longer than size bytes. */
long hex_decode(const char *hex, unsigned char *out, size_t size);
/* n bytes to 2n lower-case hex digits and a NUL. */
void hex_encode(char *out, const unsigned char *in, size_t n);
/* Base64 (RFC 4648, '=' padded) of n chars to bytes; with skip_space, ASCII
 * whitespace between characters is ignored (PEM). Returns the byte count, or
 * -1 when it is not canonical base64 or longer than size bytes. */
long base64_decode(const char *in, size_t n, unsigned char *out, size_t size, int skip_space);
/* Basename of a path (pointer into the argument). */
const char *path_base(const char *path);

/* I/O wrappers that retry on EINTR and on short transfers. */
ssize_t read_full(int fd, void *buf, size_t n);
ssize_t pread_full(int fd, void *buf, size_t n, off_t off);
/* All N bytes at byte OFF of the fd *FD_CTX (a reader callback's shape:
 * ext4map.h), or -1 with errno (EIO: the file or device ends first). */
int pread_exact(void *fd_ctx, void *buf, size_t n, uint64_t off);
int write_full(int fd, const void *buf, size_t n);
/* Read a whole small file into buf and NUL-terminate it.
 * Fails with EFBIG when the file does not fit (size - 1 bytes max). */
int read_file(const char *path, char *buf, size_t size, size_t *len);
/* Read one line-ish sysfs value, trailing newline removed. */
int read_sysfs(const char *path, char *buf, size_t size);
/* Write a string to a file (e.g. /proc/sys). */
int write_file(const char *path, const char *s);
/* mkdir that treats EEXIST (of a directory) as success. */
int mkdir_exist_ok(const char *path, unsigned mode);
/* Waits for child pid (EINTR retried): 0 with its wait status, or -1 with errno. */
int wait_child(pid_t pid, int *status);
/* Sleep for ms milliseconds (restarts on EINTR). */
void sleep_ms(unsigned ms);
/* Monotonic clock in milliseconds. */
unsigned long long now_ms(void);

#endif

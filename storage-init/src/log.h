/* Logging to /dev/kmsg ("initoverlayfs: " prefix) and the console. */
#ifndef SI_LOG_H
#define SI_LOG_H

#define LOG_PREFIX "initoverlayfs: "

/* (Re)open /dev/kmsg, or path when given. Safe to call repeatedly. */
void log_open(const char *path);
void log_close(void);
/* Offline tool mode: lines meant for the console go to stderr instead. */
void log_use_stderr(void);
void log_set_level(unsigned long level);
/* Switch printk_devkmsg from "ratelimit" to "on" so that our lines are not
 * dropped; log_restore_devkmsg() puts the old value back. */
void log_unlimit_devkmsg(void);
void log_restore_devkmsg(void);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Error lines go to kmsg and to the console. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

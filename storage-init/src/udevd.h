#ifndef SI_UDEVD_H
#define SI_UDEVD_H

/* Before the hand-over to the real root: stop a systemd-udevd of the
 * initramfs that is still running although its init-bottom asked it to
 * exit. udev 252's control socket can drop that request and close the
 * connection, which `udevadm control --exit` takes for success (by our
 * reading: a message sent before the daemon enables SO_PASSCRED on the
 * accepted socket carries no credentials and is ignored). A udevd left
 * behind keeps the old root, the image and its devices in use, and runs
 * beside the real system's. PROC is procfs.
 * SIGTERM is what the daemon exits on; waits up to WAIT_MS for each.
 * Returns how many were found; logs one line per daemon. */
int stop_leftover_udevd(const char *proc, const char *who, unsigned wait_ms);

#endif

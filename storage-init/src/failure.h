/* Failure policy: one "FAILED at" line, then panic, reboot or a shell. */
#ifndef SI_FAILURE_H
#define SI_FAILURE_H

#include "config.h"

void failure_set_policy(enum failure_policy p, const char *shell);
/* Directory holding the mounted image (for failure=shell once the image is
 * mounted), or NULL. */
void failure_set_image_root(const char *dir);
/* Run fn once before the policy (undo what must not stay so for a shell or
 * the next boot stage), or NULL. */
void failure_set_cleanup(void (*fn)(void));

/* Print "initoverlayfs: FAILED at STEP: WHAT: REASON" and apply the policy.
 * Never returns. */
_Noreturn void fail(const char *step, const char *what, const char *reason);
/* Same with strerror(err). */
_Noreturn void fail_errno(const char *step, const char *what, int err);

#endif

/** Exit codes of the initoverlayfs command (documented in the README). */
export const EXIT = {
  OK: 0,
  /** a check found problems (fsck, verify) */
  PROBLEMS: 1,
  /** bad command line */
  USAGE: 2,
  /** malformed or unsupported input */
  BAD_INPUT: 3,
  /** system error: I/O, permissions, missing tools */
  SYSTEM: 4,
} as const;

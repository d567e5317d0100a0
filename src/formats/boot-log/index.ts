/** Boot logs: the kernel log, systemd-analyze's summary, and the report of where a boot's time went. */
export * from "./markers.js";
export * from "./kernel-log.js";
export * from "./journal.js";
export * from "./systemd-analyze.js";
export * from "./report.js";
export * from "./render.js";

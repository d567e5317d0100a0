/** storage-init's config file: schema, syntax, render, parse, and where a mini initramfs keeps it. */
export * from "./schema.js";
export * from "./text.js";
export * from "./values.js";
export * from "./config.js";
export * from "./integrity.js";
export * from "./render.js";
export * from "./parse.js";
export * from "./mini.js";
export * from "./manifest.js";

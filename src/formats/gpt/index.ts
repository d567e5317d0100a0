export * from "./gpt.js";
export * from "./guid.js";

export * from "./extension-release.js";
export * from "./in-image.js";

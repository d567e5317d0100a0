export * from "./extension-release.js";

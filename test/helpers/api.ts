/** Tests import the library the way users do: through the package name. */
export * from "initoverlayfs";
export { DataLayout, BLOCK_SIZE } from "../../src/formats/erofs/ondisk.js";

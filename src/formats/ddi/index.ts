export * from "./ddi.js";
export * from "./verity-signature.js";

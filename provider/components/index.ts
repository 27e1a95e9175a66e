// Components: the primitives composed the way users think of a lab. Only re-exports.
export * from "./allocation";
export * from "./container";
export * from "./expectedPaths";
export * from "./inspect";
export * from "./network";
export * from "./topology";
export * from "./lab";
export * from "./verifyLab";

// ECS bridge mode: EcsBridgeService on @pulumi/aws and its pure parts. Only re-exports.
export * from "./containerDefinitions";
export * from "./ecsBridgeService";
export * from "./ecsValidationError";
export * from "./iamPolicies";
export * from "./localTasks";
export * from "./portRules";
export * from "./servicePlan";
export * from "./taskDefinitionJson";
export * from "./types";
export * from "./userData";

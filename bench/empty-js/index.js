// An empty Pulumi program in JavaScript (Pulumi.yaml: typescript false, so the runner does not
// load TypeScript or ts-node): the floor of bench/fixedCost.ts without a compiler.

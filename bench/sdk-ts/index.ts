// Declares nothing, like bench/empty-ts, but loads the SDK as every real program does (the runner
// itself loads only the parts it needs): bench/fixedCost.ts's "sdk-ts", what `import` costs.
import "@pulumi/pulumi";

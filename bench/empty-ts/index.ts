// An empty Pulumi program: the runner still registers the stack. bench/fixedCost.ts times its up
// through the same engine as bench/lab's, as the floor of what any program's up costs here.
export {};

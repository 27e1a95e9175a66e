/**
 * A refused EcsBridgeService: every problem found, each prefixed with the component's path
 * (CDK's construct path style, `[parent/name]`), naming the field, the value and the rule.
 *
 *   EcsBridgeService [ecs-bridge/web] is invalid:
 *     [ecs-bridge/web] containers[0].portMappings[0].hostPort 22 is reserved on ECS container instances (…)
 */
export class EcsValidationError extends Error {
  /** The component's path, "parent/name". */
  readonly path: string;
  /** The problems, without the path prefix. */
  readonly problems: string[];

  constructor(path: string, problems: string[]) {
    super(
      problems.length === 1
        ? `EcsBridgeService [${path}] ${problems[0]}`
        : `EcsBridgeService [${path}] is invalid:\n${problems.map((p) => `  [${path}] ${p}`).join("\n")}`,
    );
    this.name = "EcsValidationError";
    this.path = path;
    this.problems = problems;
  }
}

/**
 * IAM documents and managed policies of an ECS bridge service. Pure: plain JSON, no lookups.
 */

/** `aws` in the commercial partition; the ARNs below assume it. */
export const PARTITION = "aws";

/** Lets the ECS agent register the instance, pull images and report tasks. */
export const ECS_INSTANCE_POLICY_ARN = `arn:${PARTITION}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role`;
/** Lets SSM reach the instance: Session Manager and Run Command (the host checks). */
export const SSM_INSTANCE_POLICY_ARN = `arn:${PARTITION}:iam::aws:policy/AmazonSSMManagedInstanceCore`;

/** A trust policy for one AWS service principal, e.g. "ec2.amazonaws.com". */
export function assumeRolePolicy(service: string): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
  });
}

/** What ECS Exec needs in the task role: the SSM agent in the container opens its channels. */
export const ECS_EXEC_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"];

export function ecsExecPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: ECS_EXEC_ACTIONS, Resource: "*" }],
  });
}

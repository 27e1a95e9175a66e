import { ECS_EXEC_ACTIONS, ECS_INSTANCE_POLICY_ARN, SSM_INSTANCE_POLICY_ARN, assumeRolePolicy, ecsExecPolicy } from "../../../provider/ecs/iamPolicies";
import { ECS_AMI_PARAMETER, ecsUserData, ecsUserDataBase64 } from "../../../provider/ecs/userData";

// User data and IAM documents of the container instances and tasks. Pure.
describe("container instance user data", () => {
  it("names the cluster in /etc/ecs/ecs.config", () => {
    expect(ecsUserData("web-bridge")).toBe("#!/bin/bash\necho ECS_CLUSTER=web-bridge >> /etc/ecs/ecs.config\n");
    expect(Buffer.from(ecsUserDataBase64("web-bridge"), "base64").toString()).toBe(ecsUserData("web-bridge"));
    expect(ECS_AMI_PARAMETER).toBe("/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id");
  });
  it("refuses a name that would need quoting", () => {
    expect(() => ecsUserData("web; rm -rf /")).toThrow(`cluster name "web; rm -rf /" may hold only letters, digits, '-' and '_'`);
  });
});

describe("IAM documents", () => {
  it("trust one service and grant ECS Exec its channels", () => {
    expect(JSON.parse(assumeRolePolicy("ec2.amazonaws.com"))).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
    });
    expect(JSON.parse(ecsExecPolicy()).Statement).toEqual([{ Effect: "Allow", Action: ECS_EXEC_ACTIONS, Resource: "*" }]);
    expect(ECS_EXEC_ACTIONS).toEqual(["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]);
    expect(ECS_INSTANCE_POLICY_ARN).toBe("arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role");
    expect(SSM_INSTANCE_POLICY_ARN).toBe("arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore");
  });
});

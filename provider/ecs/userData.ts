/**
 * User data of an ECS container instance: joins the cluster by naming it in the agent's
 * config. Pure. The ECS-optimized AMI runs it once at first boot, before the agent starts:
 *
 *   #!/bin/bash
 *   echo ECS_CLUSTER=web-bridge >> /etc/ecs/ecs.config
 */
export const ECS_AMI_PARAMETER = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id";

/** The cluster name as ECS allows it (letters, digits, '-', '_'), so it needs no quoting. */
const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,255}$/;

export function ecsUserData(clusterName: string): string {
  if (!CLUSTER_NAME.test(clusterName)) throw new Error(`cluster name ${JSON.stringify(clusterName)} may hold only letters, digits, '-' and '_' (1–255 characters)`);
  return `#!/bin/bash\necho ECS_CLUSTER=${clusterName} >> /etc/ecs/ecs.config\n`;
}

/** The same, base64-encoded as a launch template's userData must be. */
export function ecsUserDataBase64(clusterName: string): string {
  return Buffer.from(ecsUserData(clusterName), "utf8").toString("base64");
}

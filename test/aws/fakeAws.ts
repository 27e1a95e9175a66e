/**
 * Fake AWS settings for tests that use the AWS SDK under aws-sdk-client-mock. Nothing here is
 * a real credential; with them set (and the instance metadata service disabled) the SDK never
 * looks for real ones, and the mocked `send` never reaches the network anyway.
 *
 * Import this first in every test under test/aws.
 */
export const FAKE_AWS_ENV = {
  AWS_ACCESS_KEY_ID: "AKIAFAKEFAKEFAKEFAKE",
  AWS_SECRET_ACCESS_KEY: "fake-secret-bridgelab-tests-only",
  AWS_REGION: "us-east-1",
  AWS_EC2_METADATA_DISABLED: "true",
  AWS_CONFIG_FILE: "/nonexistent/bridgelab-tests/aws-config",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/bridgelab-tests/aws-credentials",
} as const;

Object.assign(process.env, FAKE_AWS_ENV);
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_DEFAULT_REGION;

/** A clock for the SSM transport: sleeping advances time at once and is recorded. */
export function fakeClock(start = 1_000_000) {
  let t = start;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => t,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      t += ms;
    },
    random: () => 0.5,
    elapsed: () => t - start,
  };
}

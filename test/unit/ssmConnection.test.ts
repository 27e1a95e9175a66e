import * as pulumi from "@pulumi/pulumi";
import { checkConnection, describeConnection } from "../../provider/transport/connect";
import type { HostConnection } from "../../provider/transport/connection";
import { connectionIdentity, diffFields } from "../../provider/resources/contract";

const ssm = (extra: Record<string, unknown> = {}) => ({ kind: "ssm", instanceId: "i-0123456789abcdef0", ...extra });
const check = (c: unknown) => checkConnection(c, {});

describe("SSM connections", () => {
  it("accepts 8- and 17-digit instance ids, a region and a profile", () => {
    expect(check(ssm())).toEqual([]);
    expect(check(ssm({ instanceId: "i-0abc1234" }))).toEqual([]);
    expect(check(ssm({ region: "eu-central-2", profile: "ops-admin" }))).toEqual([]);
    expect(check(ssm({ region: "us-gov-west-1" }))).toEqual([]);
    expect(check(ssm({ region: "cn-northwest-1" }))).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    ["a missing instance id", { kind: "ssm" }, 'connection.instanceId is missing: give "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")'],
    ["an id of 9 digits", ssm({ instanceId: "i-012345678" }), 'connection.instanceId "i-012345678" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")'],
    ["an uppercase id", ssm({ instanceId: "i-0123456789ABCDEF0" }), 'connection.instanceId "i-0123456789ABCDEF0" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")'],
    ["shell characters in the id", ssm({ instanceId: "i-01234567;id" }), 'connection.instanceId "i-01234567;id" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")'],
    ["an instance ARN", ssm({ instanceId: "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0" }), 'connection.instanceId "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0" is invalid: expected "i-" followed by 8 or 17 lowercase hex digits (e.g. "i-0123456789abcdef0")'],
    ["a region name", ssm({ region: "Frankfurt" }), 'connection.region "Frankfurt" is invalid: expected a region code such as "us-east-1", "eu-central-2" or "us-gov-west-1"'],
    ["an availability zone", ssm({ region: "us-east-1a" }), 'connection.region "us-east-1a" is invalid: expected a region code such as "us-east-1", "eu-central-2" or "us-gov-west-1"'],
    ["a profile with a space", ssm({ profile: "my profile" }), 'connection.profile "my profile" is invalid: a profile name is 1–128 characters: letters, digits and _ . + = , @ -, starting with a letter or digit'],
    ["a misspelt field", ssm({ instanceID: "i-0123456789abcdef0" }), 'connection.instanceID is not a field of a "ssm" connection (did you mean instanceId?)'],
  ])("reports %s", (_what, c, problem) => {
    expect(check(c)).toContain(problem);
  });

  it("refuses credentials in the connection without echoing them", () => {
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const problems = check(ssm({ accessKeyId: "AKIAEXAMPLEEXAMPLE12", secretAccessKey: secret }));
    expect(problems.join("\n")).not.toContain(secret);
    expect(problems.join("\n")).not.toContain("AKIAEXAMPLEEXAMPLE12");
    expect(problems).toContain(
      "connection must not carry AWS credentials (values not shown): they come from the AWS SDK's chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE or connection.profile, SSO, a container or instance role)",
    );
  });

  it("labels, identity and diff: another instance replaces, another region or profile updates", () => {
    const c = ssm({ region: "eu-west-1", profile: "ops" }) as HostConnection;
    expect(describeConnection(c)).toBe("ssm:i-0123456789abcdef0@eu-west-1 (profile ops)");
    expect(describeConnection(ssm() as HostConnection)).toBe("ssm:i-0123456789abcdef0");
    expect(connectionIdentity(c)).toBe("ssm:i-0123456789abcdef0");
    const d = (a: object, b: object) => diffFields({ connection: a }, { connection: b }, { replace: [], update: [] });
    expect(d(ssm(), ssm({ region: "eu-west-1" }))).toMatchObject({ changes: true, replaces: [] });
    expect(d(ssm(), ssm({ instanceId: "i-0abc1234" }))).toMatchObject({ changes: true, replaces: ["connection"] });
  });
});

describe("SSM transport module", () => {
  it("loads the AWS SDK only when a script runs, not when the module loads or a transport opens", () => {
    let loaded = 0;
    jest.isolateModules(() => {
      jest.doMock("@aws-sdk/client-ssm", () => {
        loaded++;
        return {};
      });
      const { openTransport } = require("../../provider/transport/connect");
      const t = openTransport({ kind: "ssm", instanceId: "i-0123456789abcdef0" });
      expect(t.label).toBe("ssm:i-0123456789abcdef0");
    });
    expect(loaded).toBe(0);
    jest.dontMock("@aws-sdk/client-ssm");
  });

  it("serializes with pulumi.runtime.serializeFunction: the SDK required inside functions, no client and no credential captured", async () => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = "fake-secret-that-must-not-be-captured";
    try {
      const { openTransport } = await import("../../provider/transport/connect");
      const fn = async (c: Parameters<typeof openTransport>[0]) => {
        const t = openTransport(c);
        try {
          return await t.run("true");
        } finally {
          await t.close();
        }
      };
      const s = await pulumi.runtime.serializeFunction(fn, { isFactoryFunction: false });
      expect(s.text).toContain('require("@aws-sdk/client-ssm")');
      expect(s.text).not.toMatch(/^\S.*new [\w.]*SSMClient\(/m); // only inside functions, never at module scope
      expect(s.text).not.toContain("fake-secret-that-must-not-be-captured");
    } finally {
      if (saved === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  }, 60_000);
});

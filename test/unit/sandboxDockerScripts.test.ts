import { dockerArgv, dockerImageScript, dockerReadyScript, dockerStartScript, dockerStopScript } from "../../provider/sandbox/sandboxDockerScripts";
import { describeScriptFixtures } from "../support/scriptFixtures";

// Docker inside a sandbox host: the scripts as data (run by provider/sandbox/sandboxDocker.ts;
// test/integration/sandboxDocker.test.ts runs them for real).
describeScriptFixtures("Docker-in-a-sandbox scripts match their fixtures", {
  "docker-start.sh": dockerStartScript("lab-1"),
  "docker-ready.sh": dockerReadyScript(30),
  "docker-image.sh": dockerImageScript(),
  "docker-stop.sh": dockerStopScript(),
});

describe("the docker client", () => {
  it("is the engine's own, on the sandbox's socket: another docker may come first on PATH", () => {
    expect(dockerArgv(["ps", "-q"])).toEqual(["/usr/bin/docker", "-H", "unix:///run/docker.sock", "ps", "-q"]);
  });
});

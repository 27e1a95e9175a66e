import { describeScriptFixtures } from "../support/scriptFixtures";
import { scriptCases } from "./scriptFixtures";

describeScriptFixtures("bridge and netns scripts match their fixtures", scriptCases);

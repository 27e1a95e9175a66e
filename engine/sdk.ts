/**
 * The engine's handles on the Pulumi SDK's wire layer: gRPC, protobuf Struct and the generated
 * service/message modules.
 *
 * gRPC and google-protobuf are dependencies of @pulumi/pulumi, not of this project, so they are
 * loaded through @pulumi/pulumi's own module resolution. That guarantees the engine uses the very
 * same @grpc/grpc-js instance the generated `*_grpc_pb.js` files were built against (mixing two
 * copies of grpc-js breaks service registration) and does not depend on npm hoisting.
 */
import { createRequire } from "node:module";
import type * as grpcTypes from "@grpc/grpc-js";
import type * as structTypes from "google-protobuf/google/protobuf/struct_pb";
import type * as emptyTypes from "google-protobuf/google/protobuf/empty_pb";
import * as resproto from "@pulumi/pulumi/proto/resource_pb";
import * as resrpc from "@pulumi/pulumi/proto/resource_grpc_pb";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";

const sdkRequire = createRequire(require.resolve("@pulumi/pulumi/package.json"));

export const grpc: typeof grpcTypes = sdkRequire("@grpc/grpc-js");
export const structpb: typeof structTypes = sdkRequire("google-protobuf/google/protobuf/struct_pb");
export const emptypb: typeof emptyTypes = sdkRequire("google-protobuf/google/protobuf/empty_pb");
export { resproto, resrpc, engproto, engrpc, provproto, provrpc };

/** Minimal typing of js-yaml (no @types package is installed); it ships with @pulumi/pulumi. */
const yaml: { load(text: string): unknown } = sdkRequire("js-yaml");
export function parseYaml(text: string): unknown {
  return yaml.load(text);
}

/** Same limits the SDK uses, so big `__provider` closures pass both ways. */
export const grpcOptions: grpcTypes.ChannelOptions = {
  "grpc.max_receive_message_length": 400 * 1024 * 1024,
  "grpc.max_send_message_length": 400 * 1024 * 1024,
};

/** JSON-shaped value as carried in a protobuf Struct. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type PropertyMap = Record<string, Json>;

export function toStruct(map: PropertyMap): structTypes.Struct {
  return structpb.Struct.fromJavaScript(map as Record<string, structTypes.JavaScriptValue>);
}

export function fromStruct(s: structTypes.Struct | undefined): PropertyMap {
  return s ? (s.toJavaScript() as PropertyMap) : {};
}

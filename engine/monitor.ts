/**
 * The in-process gRPC server the program runner talks to: the ResourceMonitor service (resource
 * registrations) and the Engine service (logging, root resource), both on one loopback port that is
 * passed as --monitor and --engine. It only decodes requests and encodes answers; what a registration
 * means is decided by the MonitorHandler (the deployment).
 *
 * Feature negotiation: secrets and resourceReferences yes; outputValues, aliasSpecs, transforms,
 * hooks, parameterization, deletedWith/replaceWith no — the SDK then falls back to the older wire
 * forms (plain unknowns, alias URNs) or refuses the option with its own message.
 */
import type { Server, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { emptypb, engproto, engrpc, grpc, grpcOptions, resproto, resrpc, fromStruct, type PropertyMap } from "./sdk";

export interface MonitorHandler {
  registerResource(req: resproto.RegisterResourceRequest): Promise<resproto.RegisterResourceResponse>;
  readResource(req: resproto.ReadResourceRequest): Promise<resproto.ReadResourceResponse>;
  /** A function call (data source): every one belongs to a provider package, so this throws, saying so. */
  invoke(req: resproto.ResourceInvokeRequest): never;
  registerResourceOutputs(urn: string, outputs: PropertyMap): void;
  log(severity: "debug" | "info" | "warning" | "error", message: string, urn: string): void;
}

const supportedFeatures = new Set(["secrets", "resourceReferences"]);

export interface EngineServer {
  addr: string;
  stop(): Promise<void>;
}

type Handler<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

/** Wraps an async handler: a thrown error becomes a gRPC error whose details is the message. */
function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res): Handler<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (e: unknown) => callback({ code: grpc.status.UNKNOWN, details: e instanceof Error ? e.message : String(e) }, null),
      );
  };
}

export async function startServer(handler: MonitorHandler): Promise<EngineServer> {
  const server: Server = new grpc.Server(grpcOptions);
  let rootUrn = "";

  const monitor: UntypedServiceImplementation = {
    supportsFeature: unary((req: resproto.SupportsFeatureRequest) =>
      new resproto.SupportsFeatureResponse().setHassupport(supportedFeatures.has(req.getId())),
    ),
    registerResource: unary((req: resproto.RegisterResourceRequest) => handler.registerResource(req)),
    readResource: unary((req: resproto.ReadResourceRequest) => handler.readResource(req)),
    registerResourceOutputs: unary((req: resproto.RegisterResourceOutputsRequest) => {
      handler.registerResourceOutputs(req.getUrn(), fromStruct(req.getOutputs()));
      return new emptypb.Empty();
    }),
    invoke: unary((req: resproto.ResourceInvokeRequest) => handler.invoke(req)),
    // Steps finish before their RegisterResource call returns, and deletions run after the program
    // has exited, so there is nothing to wait for here.
    signalAndWaitForShutdown: unary(() => new emptypb.Empty()),
  };

  const severities = ["debug", "info", "warning", "error"] as const;
  const engine: UntypedServiceImplementation = {
    log: unary((req: engproto.LogRequest) => {
      handler.log(severities[req.getSeverity()] ?? "info", req.getMessage(), req.getUrn());
      return new emptypb.Empty();
    }),
    getRootResource: unary(() => new engproto.GetRootResourceResponse().setUrn(rootUrn)),
    setRootResource: unary((req: engproto.SetRootResourceRequest) => {
      rootUrn = req.getUrn();
      return new engproto.SetRootResourceResponse();
    }),
  };

  // Methods left out of these objects answer UNIMPLEMENTED (grpc-js default handlers).
  server.addService(resrpc.ResourceMonitorService, monitor);
  server.addService(engrpc.EngineService, engine);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    addr: `127.0.0.1:${port}`,
    // Called once the program has exited: nothing legitimate is still talking to us.
    stop: async () => server.forceShutdown(),
  };
}

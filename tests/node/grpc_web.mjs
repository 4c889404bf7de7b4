// A gRPC-Web client of convene.v1.SchedulingService over HTTP/1.1 (@connectrpc/connect-node):
// the service's descriptors come from a FileDescriptorSet file (no generated code). Calls one
// unary method with a request in the proto JSON mapping and prints the reply as proto JSON.
// Usage: node grpc_web.mjs <http port> <api key> <descriptor set file> <Method> '<request json>'
// Exit 1 with {"code", "message"} on stdout when the call fails.
import { readFileSync } from "node:fs";

import { createFileRegistry, fromBinary, fromJson, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";

const [port, apiKey, descriptors, method, requestJson] = process.argv.slice(2);
if (!requestJson) {
  console.error("usage: node grpc_web.mjs <port> <api key> <descriptor set> <Method> <request json>");
  process.exit(2);
}

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(descriptors)));
const service = registry.getService("convene.v1.SchedulingService");
const transport = createGrpcWebTransport({
  baseUrl: `http://127.0.0.1:${port}`,
  httpVersion: "1.1",
  useBinaryFormat: true, // application/grpc-web+proto
  interceptors: [(next) => (request) => {
    request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  }],
});
const client = createClient(service, transport);
const descriptor = service.methods.find((m) => m.name === method);
const localName = descriptor.localName;

try {
  const reply = await client[localName](fromJson(descriptor.input, JSON.parse(requestJson), { registry }),
                                        { timeoutMs: 10000 });
  console.log(JSON.stringify({ reply: toJson(descriptor.output, reply, { registry }) }));
} catch (error) {
  const failure = ConnectError.from(error);
  console.log(JSON.stringify({ code: Code[failure.code], message: failure.rawMessage }));
  process.exit(1);
}

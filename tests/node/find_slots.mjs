// A Node.js client of convene.v1.SchedulingService: loads proto/ at run time
// (no generated code), calls FindSlots with an API key and prints the reply
// as JSON on stdout. Usage: node find_slots.mjs <port> <api key>
//
// The request is the one tests/server/test_node_client.py sends from Python:
// Alice (Bob as alternate) and Dan for one hour on Mon 2026-12-07, UTC.
import path from "node:path";
import { fileURLToPath } from "node:url";

import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const [port, apiKey] = process.argv.slice(2);
if (!port || !apiKey) {
  console.error("usage: node find_slots.mjs <port> <api key>");
  process.exit(2);
}

const protoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../proto");
const definition = protoLoader.loadSync("convene/v1/scheduling_service.proto", {
  includeDirs: [protoRoot],
  keepCase: true, // proto field names, as in the .proto files
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
const convene = grpc.loadPackageDefinition(definition).convene.v1;
const client = new convene.SchedulingService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

const seconds = (iso) => ({ seconds: String(Date.parse(iso) / 1000), nanos: 0 });
const request = {
  rules: {
    duration: { seconds: "3600", nanos: 0 },
    seats: [
      { label: "host", member: { candidates: ["alice", "bob"] } },
      { member: { candidates: ["dan"] } },
    ],
  },
  window_start: seconds("2026-12-07T00:00:00Z"),
  window_end: seconds("2026-12-08T00:00:00Z"),
  time_zone: "UTC",
  now: seconds("2026-11-30T00:00:00Z"),
};

const metadata = new grpc.Metadata();
metadata.add("authorization", `Bearer ${apiKey}`);
const iso = (ts) => new Date(Number(ts.seconds) * 1000 + ts.nanos / 1e6).toISOString();

client.FindSlots(request, metadata, { deadline: Date.now() + 10000 }, (error, reply) => {
  client.close();
  if (error) {
    console.error(`${grpc.status[error.code]}: ${error.details}`);
    process.exit(1);
  }
  const slots = reply.slots.map((slot) => ({
    start: iso(slot.start),
    end: iso(slot.end),
    seats: slot.seats.map((fill) => ({ label: fill.label, resource_ids: fill.resource_ids, cost: fill.cost })),
  }));
  console.log(JSON.stringify({ total_available: reply.total_available, slots }));
});

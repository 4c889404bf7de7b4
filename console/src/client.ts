// The Convene service over Connect (JSON over HTTP), on the origin that served this page.
// The API key lives in sessionStorage: this tab only, gone when it closes.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

import { SchedulingService } from "./gen/convene/v1/scheduling_service_pb";

const KEY = "convene.apiKey";

export type Scheduling = Client<typeof SchedulingService>;

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

export function schedulingClient(apiKey: string): Scheduling {
  const bearer: Interceptor = (next) => (request) => {
    request.header.set("authorization", `Bearer ${apiKey}`);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: false, // JSON: readable in the browser's network panel
    interceptors: [bearer],
  });
  return createClient(SchedulingService, transport);
}

/** What went wrong, in words for the agent. */
export function describe(error: unknown): string {
  if (error instanceof ConnectError) {
    switch (error.code) {
      case Code.Unauthenticated:
        return "The API key was not accepted.";
      case Code.Unavailable:
        return `The service is unavailable: ${error.rawMessage}`;
      case Code.DeadlineExceeded:
        return "The search took too long; try a shorter window.";
      default:
        return error.rawMessage || Code[error.code];
    }
  }
  return error instanceof Error ? error.message : String(error);
}

export function isUnauthenticated(error: unknown): boolean {
  return error instanceof ConnectError && error.code === Code.Unauthenticated;
}

export { Code, ConnectError };

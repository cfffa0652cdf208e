import type { Server } from "node:http";

/**
 * Stops an HTTP(S) server gracefully: no new connections, idle keep-alive connections closed at
 * once, in-flight requests allowed to finish until the deadline, then every connection closed.
 */
export async function closeHttpServer(server: Server, deadlineMs = 10_000): Promise<void> {
  if (!server.listening) return;
  const closed = new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  // A keep-alive connection whose request finishes after close() becomes idle then: keep closing.
  server.closeIdleConnections();
  const sweeper = setInterval(() => server.closeIdleConnections(), 50);
  const timer = setTimeout(() => server.closeAllConnections(), deadlineMs);
  try {
    await closed;
  } finally {
    clearInterval(sweeper);
    clearTimeout(timer);
  }
}

/** Listens and resolves with the bound port (useful with port 0 in tests). */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}

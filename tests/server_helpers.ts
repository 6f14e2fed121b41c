/** Starts the real server (`deno run main.ts`) on a free port and stops it; tests talk HTTP to it. */

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Everything the server printed so far. */
  output(): string;
  /** The server process's resident memory, MB (from /proc: Linux). */
  rssMb(): Promise<number>;
  /** Resolves when the process has exited. */
  status: Promise<Deno.CommandStatus>;
}

export async function startServer(env: Record<string, string> = {}, cwd = "."): Promise<RunningServer> {
  const child = new Deno.Command(Deno.execPath(), {
    // The same V8 flag as `deno task start`: a 4 MB young generation keeps RSS near 200 MB under load.
    args: ["run", "--v8-flags=--max-semi-space-size=4", "--allow-net", "--allow-read", "--allow-env", "main.ts"],
    cwd,
    env: { PORT: "0", HOST: "127.0.0.1", LOG_REQUESTS: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk);
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const deadline = Date.now() + 60_000;
  while (!/on http:\/\/[^:]+:(\d+)/.test(text)) {
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`server did not start:\n${text}`);
    }
    const status = await Promise.race([child.status, new Promise((r) => setTimeout(() => r(null), 50))]);
    if (status) throw new Error(`server exited at start:\n${text}`);
  }
  const port = /on http:\/\/[^:]+:(\d+)/.exec(text)![1];
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    output: () => text,
    status: child.status,
    rssMb: async () => Number(/VmRSS:\s+(\d+) kB/.exec(await Deno.readTextFile(`/proc/${child.pid}/status`))![1]) / 1024,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await pumps;
    },
  };
}

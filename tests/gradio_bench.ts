/**
 * What the Gradio protocol (routes/gradio.ts) costs over the REST path, per call, for tests/bench.ts: the same
 * clip posted to REST /predict (raw body, and multipart as `requests` sends it) and called through the Gradio
 * protocol by hand as the clients do it (upload, join, the result read from the session's open stream), one
 * call at a time. The clients' own costs are left out: gradio_client alone adds ~100 ms a call (it polls
 * every 50 ms and opens new connections), @gradio/client a few ms.
 */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number) => Math.round(x * 100) / 100;

/** A session as the clients keep one: joins, and one stream that delivers every event's completion. */
function gradioSession(url: string) {
  const api = `${url}/gradio_api`;
  const session = crypto.randomUUID();
  const waiting = new Map<string, (label: string) => void>();
  const arrived = new Map<string, string>();
  let reading: Promise<void> | undefined;
  const read = async () => {
    const response = await fetch(`${api}/queue/data?session_hash=${session}`);
    let buffer = "";
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const messages = buffer.split("\n\n");
      buffer = messages.pop()!;
      for (const text of messages) {
        const message = JSON.parse(text.replace(/^data: ?/, ""));
        if (message.msg === "close_stream") reading = undefined;
        if (message.msg !== "process_completed") continue;
        const label = message.success ? message.output.data[0] : `error ${message.output.error}`;
        const resolve = waiting.get(message.event_id);
        if (resolve) resolve(label);
        else arrived.set(message.event_id, label);
      }
    }
    reading = undefined;
  };
  return async (clip: Uint8Array<ArrayBuffer>): Promise<string> => {
    const form = new FormData();
    form.append("files", new Blob([clip]), "clip.wav");
    const [path] = await (await fetch(`${api}/upload`, { method: "POST", body: form })).json();
    const joined = await fetch(`${api}/queue/join`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ data: [{ path, meta: { _type: "gradio.FileData" } }], fn_index: 0, session_hash: session }),
    });
    const { event_id } = await joined.json();
    reading ??= read();
    const early = arrived.get(event_id);
    if (early !== undefined) return (arrived.delete(event_id), early);
    return await new Promise((resolve) => waiting.set(event_id, resolve));
  };
}

/** Medians over `calls` calls of each kind, interleaved, after a warm-up; ms. */
export async function gradioOverhead(url: string, clip: Uint8Array<ArrayBuffer>, calls = 300) {
  const gradio = gradioSession(url);
  const kinds = {
    rest_raw: async () => await (await fetch(`${url}/predict`, { method: "POST", body: clip })).json(),
    rest_multipart: async () => {
      const form = new FormData();
      form.append("audio", new Blob([clip]), "clip.wav");
      return await (await fetch(`${url}/predict`, { method: "POST", body: form })).json();
    },
    gradio: () => gradio(clip),
  };
  const times: Record<string, number[]> = { rest_raw: [], rest_multipart: [], gradio: [] };
  for (let i = -20; i < calls; i++) {
    for (const [kind, call] of Object.entries(kinds)) {
      const started = performance.now();
      await call();
      if (i >= 0) times[kind].push(performance.now() - started);
    }
  }
  const p50 = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, round(median(v))]));
  return {
    calls,
    p50_ms: p50,
    overhead_p50_ms: { over_raw: round(p50.gradio - p50.rest_raw), over_multipart: round(p50.gradio - p50.rest_multipart) },
  };
}

if (import.meta.main) {
  // deno run -A tests/gradio_bench.ts URL CLIP.wav
  console.log(JSON.stringify(await gradioOverhead(Deno.args[0], await Deno.readFile(Deno.args[1]))));
  Deno.exit(0);
}

/**
 * GET /metrics (Prometheus text format) and SIGTERM's drain, on the real server process: what was asked is
 * counted under its route's pattern with its status, latencies and stage times are histograms, the models and
 * the decoding queue are gauges; on SIGTERM a request in flight is answered, a new one gets 503 with Retry-After,
 * and the process exits within 10 s.
 */
import assert from "node:assert/strict";
import { startServer } from "./server_helpers.ts";

const opts = { sanitizeResources: false, sanitizeOps: false };
const clip = await Deno.readFile("static/examples/7_flite-kal.wav");

/** Sample lines of the exposition: `name{labels} value` -> value, and every line checked against the format. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.trimEnd().split("\n")) {
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      typed.add(type[1]);
      continue;
    }
    if (/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+$/.test(line)) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    const family = sample[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(typed.has(sample[1]) || typed.has(family), `${sample[1]} has no # TYPE before it`);
    samples.set(sample[1] + (sample[2] ?? ""), Number(sample[3]));
  }
  return samples;
}

Deno.test({
  ...opts,
  name: "GET /metrics: requests by route pattern and status, latency and stage histograms, models, queue, in Prometheus text format",
  fn: async () => {
    const server = await startServer();
    try {
      for (let i = 0; i < 3; i++) await (await fetch(`${server.url}/health`)).body?.cancel();
      const post = (body: Uint8Array) =>
        fetch(`${server.url}/predict`, { method: "POST", body: body as Uint8Array<ArrayBuffer> }).then((r) => r.body?.cancel());
      await post(clip);
      await post(new Uint8Array(100).fill(7));
      for (const path of ["/nothing", "/random/a1", "/random/b2?x=1"]) await (await fetch(server.url + path)).body?.cancel();
      const response = await fetch(`${server.url}/metrics`);
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const m = parse(await response.text());
      const health = await (await fetch(`${server.url}/health`)).json();
      assert.equal(m.get('spoken_digits_http_requests_total{route="/health",method="GET",status="200"}'), 3);
      assert.equal(m.get('spoken_digits_http_requests_total{route="/predict",method="POST",status="200"}'), 1);
      assert.equal(m.get('spoken_digits_http_requests_total{route="/predict",method="POST",status="400"}'), 1);
      // Paths no route has share one label: a scan cannot grow the series.
      assert.equal(m.get('spoken_digits_http_requests_total{route="unmatched",method="GET",status="404"}'), 3);
      assert.ok(![...m.keys()].some((k) => k.includes("random")));
      // A histogram: cumulative buckets, +Inf equal to the count.
      const buckets = [...m.entries()].filter(([k]) => k.startsWith('spoken_digits_http_request_duration_seconds_bucket{route="/health"'));
      assert.ok(buckets.length > 5);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], buckets[i][0]);
      assert.equal(buckets.at(-1)![0], 'spoken_digits_http_request_duration_seconds_bucket{route="/health",le="+Inf"}');
      assert.equal(buckets.at(-1)![1], m.get('spoken_digits_http_request_duration_seconds_count{route="/health"}'));
      assert.equal(m.get("spoken_digits_decode_seconds_count"), 2);
      assert.equal(m.get(`spoken_digits_inference_seconds_count{model="${health.model}"}`), 1);
      assert.equal(m.get(`spoken_digits_features_seconds_count{model="${health.model}"}`), 1);
      assert.equal(m.get("spoken_digits_models_loaded"), health.models.length);
      assert.equal(m.get(`spoken_digits_model_info{model="${health.models[0]}",id="${health.model}",default="true"}`), 1);
      assert.equal(m.get("spoken_digits_decode_queue_depth"), 0);
      assert.equal(m.get("spoken_digits_http_requests_in_flight"), 1); // this one
      assert.equal(m.get("spoken_digits_draining"), 0);
      assert.ok(m.get("process_resident_memory_bytes")! > 50e6);
      assert.equal(m.get("spoken_digits_tfjs_tensors"), health.tensors);
    } finally {
      await server.stop();
    }
  },
});

/** Opens a POST /predict and sends all of `clip` but its last byte: the request stays in flight until `finish()`. */
async function requestInFlight(url: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  await conn.write(
    new TextEncoder().encode(
      `POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\nContent-Length: ${clip.length}\r\nConnection: close\r\n\r\n`,
    ),
  );
  await conn.write(clip.subarray(0, clip.length - 1));
  return {
    async finish(): Promise<string> {
      await conn.write(clip.subarray(clip.length - 1));
      let text = "";
      const buffer = new Uint8Array(16384);
      while (true) {
        const n = await conn.read(buffer).catch(() => null);
        if (!n) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      conn.close();
      return text;
    },
    close: () => conn.close(),
  };
}

Deno.test({
  ...opts,
  name: "SIGTERM: the request in flight is answered, a new one gets 503 with Retry-After, the process exits 0 soon after",
  fn: async () => {
    const server = await startServer();
    const inFlight = await requestInFlight(server.url);
    await new Promise((r) => setTimeout(r, 200)); // the server has the request and is reading its body
    const signalled = performance.now();
    Deno.kill(server.pid, "SIGTERM");
    await new Promise((r) => setTimeout(r, 200));
    const refused = await fetch(`${server.url}/health`);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
    assert.equal((await refused.json()).error.code, "shutting_down");
    await new Promise((r) => setTimeout(r, 500)); // still waiting for the request in flight
    const answer = await inFlight.finish();
    assert.match(answer, /^HTTP\/1\.1 200/, answer.slice(0, 300));
    assert.match(answer, /"digit":7/);
    const status = await server.status;
    const seconds = (performance.now() - signalled) / 1000;
    assert.equal(status.code, 0, server.output());
    assert.ok(seconds < 10, `exited ${seconds.toFixed(1)} s after SIGTERM`);
    assert.match(server.output(), /SIGTERM: every request answered/);
    await server.stop();
  },
});

Deno.test({
  ...opts,
  name: "SIGTERM with a request that never finishes: the process still exits within 10 s (code 1, the request cut off)",
  fn: async () => {
    const server = await startServer({ BODY_TIMEOUT_S: "60" });
    const stuck = await requestInFlight(server.url);
    await new Promise((r) => setTimeout(r, 200));
    const signalled = performance.now();
    Deno.kill(server.pid, "SIGTERM");
    const status = await server.status;
    const seconds = (performance.now() - signalled) / 1000;
    stuck.close();
    assert.equal(status.code, 1, server.output());
    assert.ok(seconds < 10, `exited ${seconds.toFixed(1)} s after SIGTERM`);
    assert.match(server.output(), /1 request\(s\) cut off/);
    await server.stop();
  },
});

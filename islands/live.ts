/**
 * Live listening, two ways. startStreaming: the microphone chunk by chunk, for the digit spotter, which hears digits
 * as they are said. startListening: cut into utterances as they end (dsp/endpointer.ts), each handed on at once with
 * the moment its word ended (a model without a live spotter; with one, for the final answers). Both stop after MAX_LIVE_S or on
 * stop().
 */
import { createEndpointer } from "../dsp/endpointer.ts";
import { encodeWav16 } from "../dsp/wav.ts";

export const MAX_LIVE_S = 60;

export interface LiveUtterance {
  wav: Blob;
  /** performance.now() at the end of the word (the endpointer waits its hangover after it). */
  wordEndedAt: number;
}

export interface Listening {
  stop(): void;
  /** Resolves when listening has stopped (stop(), the time limit, or the microphone ended). */
  done: Promise<void>;
}

export async function startListening(onUtterance: (u: LiveUtterance) => void, onLevel: (level: number) => void): Promise<Listening> {
  let endpointer: ReturnType<typeof createEndpointer> | undefined;
  return await openMicrophone((chunk, sampleRate, pushedAt) => {
    endpointer ??= createEndpointer(sampleRate);
    for (const u of endpointer.push(chunk)) {
      const wordEndedAt = pushedAt - (endpointer.positionS - u.speechEndS) * 1000;
      onUtterance({ wav: new Blob([encodeWav16(u.samples, sampleRate)], { type: "audio/wav" }), wordEndedAt });
    }
    onLevel(Math.min(1, Math.max(0, (endpointer.levelDb + 60) / 60)));
  }, () => onLevel(0));
}

/**
 * The microphone as it arrives, a chunk (~21 ms) at a time, for the digit spotter (models/spotter_stream.ts), which
 * needs no silence to answer; `onLevel` gets each chunk's level as the endpointer's meter shows it.
 */
export async function startStreaming(
  onChunk: (chunk: Float32Array, sampleRate: number, pushedAt: number) => void,
  onLevel: (level: number) => void,
): Promise<Listening> {
  return await openMicrophone((chunk, sampleRate, pushedAt) => {
    onChunk(chunk, sampleRate, pushedAt);
    let energy = 0;
    for (const v of chunk) energy += v * v;
    const db = 10 * Math.log10(energy / Math.max(1, chunk.length) + 1e-10);
    onLevel(Math.min(1, Math.max(0, (db + 60) / 60)));
  }, () => onLevel(0));
}

/** Mono chunks of the microphone at the AudioContext's rate, each with performance.now() at its arrival. */
async function openMicrophone(
  onChunk: (chunk: Float32Array, sampleRate: number, pushedAt: number) => void,
  onStop: () => void,
): Promise<Listening> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false } });
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  // ScriptProcessorNode: deprecated but everywhere, and needs no worklet module (our CSP allows only our own scripts).
  const processor = context.createScriptProcessor(1024, 1, 1);
  processor.onaudioprocess = (event) => {
    onChunk(Float32Array.from(event.inputBuffer.getChannelData(0)), context.sampleRate, performance.now());
  };
  source.connect(processor);
  processor.connect(context.destination);
  let finish: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let stopped = false;
  const stop = () => {
    if (stopped) return; // a second Stop while the last digit is being finished
    stopped = true;
    clearTimeout(timer);
    processor.disconnect();
    source.disconnect();
    stream.getTracks().forEach((t) => t.stop());
    onStop();
    context.close().finally(finish);
  };
  const timer = setTimeout(stop, MAX_LIVE_S * 1000);
  return { stop, done };
}

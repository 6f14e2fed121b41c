/**
 * Live listening: the microphone as a stream, cut into utterances as they end (dsp/endpointer.ts), each handed
 * on at once with the moment its word ended, so the page can show how long the answer took. Stops after
 * MAX_LIVE_S or on stop().
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
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false } });
  const context = new AudioContext();
  const source = context.createMediaStreamSource(stream);
  // ScriptProcessorNode: deprecated but everywhere, and needs no worklet module (our CSP allows only our own scripts).
  const processor = context.createScriptProcessor(1024, 1, 1);
  const endpointer = createEndpointer(context.sampleRate);
  processor.onaudioprocess = (event) => {
    const chunk = Float32Array.from(event.inputBuffer.getChannelData(0));
    const pushedAt = performance.now();
    for (const u of endpointer.push(chunk)) {
      const wordEndedAt = pushedAt - (endpointer.positionS - u.speechEndS) * 1000;
      onUtterance({ wav: new Blob([encodeWav16(u.samples, context.sampleRate)], { type: "audio/wav" }), wordEndedAt });
    }
    onLevel(Math.min(1, Math.max(0, (endpointer.levelDb + 60) / 60)));
  };
  source.connect(processor);
  processor.connect(context.destination);
  let finish: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const stop = () => {
    clearTimeout(timer);
    processor.disconnect();
    source.disconnect();
    stream.getTracks().forEach((t) => t.stop());
    onLevel(0);
    context.close().finally(finish);
  };
  const timer = setTimeout(stop, MAX_LIVE_S * 1000);
  return { stop, done };
}

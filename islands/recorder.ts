/** Microphone capture: MediaRecorder for the recording, an AnalyserNode for the live level, 10 s at most. */
import { encodeWav16 } from "../dsp/wav.ts";

export const MAX_RECORDING_S = 10;

export interface Recording {
  stop(): void;
  /** Resolves to a 16-bit mono WAV of what was recorded, whatever container the browser records in. */
  done: Promise<Blob>;
}

export async function startRecording(onLevel: (level: number) => void): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 1024;
  context.createMediaStreamSource(stream).connect(analyser);
  const buffer = new Float32Array(analyser.fftSize);
  const meter = setInterval(() => {
    analyser.getFloatTimeDomainData(buffer);
    let sum = 0;
    for (const v of buffer) sum += v * v;
    onLevel(Math.min(1, Math.sqrt(sum / buffer.length) * 4));
  }, 50);
  const recorder = new MediaRecorder(stream);
  const chunks: Blob[] = [];
  recorder.ondataavailable = (e) => chunks.push(e.data);
  const done = new Promise<Blob>((resolve, reject) => {
    recorder.onstop = async () => {
      clearInterval(meter);
      stream.getTracks().forEach((t) => t.stop());
      onLevel(0);
      try {
        // webm/opus (Chrome), ogg/opus (Firefox), mp4/aac (Safari): decode here, send one plain format.
        const decoded = await context.decodeAudioData(await new Blob(chunks, { type: recorder.mimeType }).arrayBuffer());
        resolve(new Blob([encodeWav16(decoded.getChannelData(0), decoded.sampleRate)], { type: "audio/wav" }));
      } catch (e) {
        reject(e);
      } finally {
        context.close();
      }
    };
  });
  recorder.start();
  const timer = setTimeout(() => recorder.state === "recording" && recorder.stop(), MAX_RECORDING_S * 1000);
  return {
    stop: () => {
      clearTimeout(timer);
      if (recorder.state === "recording") recorder.stop();
    },
    done,
  };
}

/** Samples for the waveform picture: our own reader for WAV, the browser's decoder for the rest. */
export async function samplesForDisplay(blob: Blob): Promise<{ samples: Float32Array; sampleRate: number } | null> {
  try {
    const context = new OfflineAudioContext(1, 1, 44100);
    const decoded = await context.decodeAudioData(await blob.arrayBuffer());
    return { samples: decoded.getChannelData(0), sampleRate: decoded.sampleRate };
  } catch {
    return null;
  }
}

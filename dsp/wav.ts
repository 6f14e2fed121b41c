/**
 * Our own RIFF/WAVE reader: PCM 8/16/24/32-bit, IEEE float 32/64, G.711 A-law and mu-law (telephone
 * recordings), WAVE_FORMAT_EXTENSIBLE,
 * any channel count (downmixed to mono by averaging). Unknown chunks (LIST, fact, cue, ...)
 * are skipped, honouring the pad byte after odd-sized chunks. The sample count is checked
 * against `maxDurationS` before anything is allocated, so a header that claims hours is refused cheaply.
 */
import { AudioError, checkSampleRate } from "./errors.ts";

const FORMAT_PCM = 1;
const FORMAT_FLOAT = 3;
const FORMAT_ALAW = 6;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

export interface PcmAudio {
  samples: Float32Array;
  sampleRate: number;
  channels: number;
}

export function isWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0) === "RIFF" && ascii(bytes, 8) === "WAVE";
}

function ascii(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

interface WavFormat {
  format: number;
  channels: number;
  sampleRate: number;
  bitsPerSample: number;
  blockAlign: number;
}

export function readWav(bytes: Uint8Array, maxDurationS = Infinity): PcmAudio {
  if (!isWav(bytes)) throw new AudioError("undecodable", "not a RIFF/WAVE file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: WavFormat | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = ascii(bytes, offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) throw new AudioError("truncated", "WAV fmt chunk is truncated");
      fmt = readFormat(view, body, size);
    } else if (id === "data") {
      if (!fmt) throw new AudioError("undecodable", "WAV data chunk comes before its fmt chunk");
      // Streamed WAVs write 0 or 0xFFFFFFFF as the size: read to the end of the file.
      const declared = size === 0 || size === 0xffffffff ? bytes.length - body : size;
      const available = Math.min(declared, bytes.length - body);
      return decodeData(view, body, available, fmt, maxDurationS, available < declared);
    }
    offset = body + size + (size & 1);
  }
  throw new AudioError(fmt ? "truncated" : "undecodable", fmt ? "WAV file has no data chunk" : "WAV file has no fmt chunk");
}

function readFormat(view: DataView, at: number, size: number): WavFormat {
  let format = view.getUint16(at, true);
  const channels = view.getUint16(at + 2, true);
  const sampleRate = view.getUint32(at + 4, true);
  const blockAlign = view.getUint16(at + 12, true);
  const bitsPerSample = view.getUint16(at + 14, true);
  if (format === FORMAT_EXTENSIBLE) {
    if (size < 40 || at + 26 > view.byteLength) throw new AudioError("truncated", "WAVE_FORMAT_EXTENSIBLE header is truncated");
    format = view.getUint16(at + 24, true); // first two bytes of the SubFormat GUID
  }
  if (channels === 0) throw new AudioError("no_channels", "WAV file declares zero channels");
  checkSampleRate(sampleRate);
  const pcmOk = format === FORMAT_PCM && [8, 16, 24, 32].includes(bitsPerSample);
  const floatOk = format === FORMAT_FLOAT && (bitsPerSample === 32 || bitsPerSample === 64);
  const g711Ok = (format === FORMAT_ALAW || format === FORMAT_MULAW) && bitsPerSample === 8;
  if (!pcmOk && !floatOk && !g711Ok) {
    throw new AudioError(
      "unsupported_format",
      `WAV encoding ${format} with ${bitsPerSample} bits is not supported (PCM 8/16/24/32, float 32/64, 8-bit A-law and mu-law are)`,
    );
  }
  if (blockAlign !== channels * bitsPerSample / 8) throw new AudioError("undecodable", "WAV block alignment does not match its format");
  return { format, channels, sampleRate, bitsPerSample, blockAlign };
}

function decodeData(
  view: DataView,
  start: number,
  byteLength: number,
  fmt: WavFormat,
  maxDurationS: number,
  truncated: boolean,
): PcmAudio {
  const frames = Math.floor(byteLength / fmt.blockAlign);
  if (frames === 0) throw new AudioError(truncated ? "truncated" : "empty", "WAV file holds no samples");
  if (frames > maxDurationS * fmt.sampleRate) {
    throw new AudioError("too_long", `the audio lasts ${(frames / fmt.sampleRate).toFixed(1)} s, over the limit of ${maxDurationS} s`);
  }
  const read = sampleReader(view, fmt);
  const bytesPer = fmt.bitsPerSample / 8;
  const samples = new Float32Array(frames);
  const scale = 1 / fmt.channels;
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    const frameAt = start + i * fmt.blockAlign;
    for (let c = 0; c < fmt.channels; c++) sum += read(frameAt + c * bytesPer);
    samples[i] = sum * scale;
  }
  return { samples, sampleRate: fmt.sampleRate, channels: fmt.channels };
}

/** A function that reads one sample at a byte offset as a float in [-1, 1). */
function sampleReader(view: DataView, fmt: WavFormat): (at: number) => number {
  if (fmt.format === FORMAT_ALAW) return (at) => ALAW[view.getUint8(at)];
  if (fmt.format === FORMAT_MULAW) return (at) => MULAW[view.getUint8(at)];
  if (fmt.format === FORMAT_FLOAT) {
    return fmt.bitsPerSample === 32 ? (at) => view.getFloat32(at, true) : (at) => view.getFloat64(at, true);
  }
  switch (fmt.bitsPerSample) {
    case 8: // 8-bit WAV is unsigned
      return (at) => (view.getUint8(at) - 128) / 128;
    case 16:
      return (at) => view.getInt16(at, true) / 32768;
    case 24:
      return (at) => {
        const v = view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16);
        return v / 8388608;
      };
    default:
      return (at) => view.getInt32(at, true) / 2147483648;
  }
}

/**
 * G.711 expansion tables (ITU-T G.711, as in Sun's g711.c and ffmpeg's pcm_alaw/pcm_mulaw decoders):
 * each 8-bit code -> its 16-bit linear value / 32768.
 */
const MULAW = Float32Array.from({ length: 256 }, (_, code) => {
  const u = ~code & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
  return (u & 0x80 ? -magnitude : magnitude) / 32768;
});
const ALAW = Float32Array.from({ length: 256 }, (_, code) => {
  const a = code ^ 0x55;
  const segment = (a >> 4) & 7;
  let magnitude = (a & 0x0f) << 4;
  magnitude = segment === 0 ? magnitude + 8 : (magnitude + 0x108) << (segment - 1);
  return (a & 0x80 ? magnitude : -magnitude) / 32768;
});

/** Writes mono float samples as 16-bit PCM WAV (used for test files, examples and the browser's recordings). */
export function encodeWav16(samples: Float32Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(bytes.buffer);
  const text = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, Math.round(s < 0 ? s * 32768 : s * 32767), true);
  }
  return bytes;
}

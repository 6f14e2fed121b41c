/**
 * A sanity check of an MP4/M4A file's sample tables, run before any decoder sees the file. The tables
 * (stco, co64, stsz, stsc, stts, ctts, stss) start with an entry count, and decoders allocate from that count
 * before a single sample is decoded: a 3 KB file whose stco claimed 0x10000000 chunks cost 1.5 GB and 14 s.
 * A true count always fits in the bytes of its own box (and stsz's fixed-size samples in the file), so a
 * count that does not is a forgery or damage, refused here in microseconds.
 */
import { AudioError } from "./errors.ts";

/** Boxes that hold only boxes. `meta` is a full box: 4 bytes of version and flags come before its children. */
const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "edts", "udta", "mvex", "moof", "traf", "dinf", "meta", "ilst"]);

/** Bytes per entry of each table, after the full-box header (4) and the entry count (4). */
const ENTRY_BYTES: Record<string, number> = { stco: 4, co64: 8, stsc: 12, stts: 8, ctts: 8, stss: 4 };

/** Container nesting deeper than this is not a real file (and would otherwise recurse without bound). */
const MAX_DEPTH = 16;

export function checkMp4Tables(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  walk(view, 0, bytes.length, 0, bytes.length);
}

function fourcc(view: DataView, at: number): string {
  return String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
}

function walk(view: DataView, start: number, end: number, depth: number, fileLength: number): void {
  if (depth > MAX_DEPTH) throw malformed(`boxes nested more than ${MAX_DEPTH} deep`);
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    const type = fourcc(view, at + 4);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) return;
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) {
      size = end - at; // "to the end of the enclosing box"
    }
    if (size < header) throw malformed(`box "${printable(type)}" declares ${size} bytes, less than its own header`);
    // A box may run past the end of a truncated file (an unfinished mdat); its payload is what is there.
    const boxEnd = Math.min(end, at + size);
    const body = at + header;
    if (CONTAINERS.has(type)) {
      walk(view, type === "meta" ? body + 4 : body, boxEnd, depth + 1, fileLength);
    } else if (type === "stsz") {
      checkStsz(view, body, boxEnd, fileLength);
    } else if (type in ENTRY_BYTES) {
      checkTable(view, type, body, boxEnd);
    }
    at = at + size;
  }
}

function checkTable(view: DataView, type: string, body: number, boxEnd: number): void {
  if (body + 8 > boxEnd) throw malformed(`the ${type} box is too short to hold its entry count`);
  const count = view.getUint32(body + 4);
  const room = boxEnd - body - 8;
  if (count * ENTRY_BYTES[type] > room) {
    throw malformed(`the ${type} table claims ${count} entries but its box holds room for ${Math.floor(room / ENTRY_BYTES[type])}`);
  }
}

function checkStsz(view: DataView, body: number, boxEnd: number, fileLength: number): void {
  if (body + 12 > boxEnd) throw malformed("the stsz box is too short to hold its sample count");
  const sampleSize = view.getUint32(body + 4);
  const count = view.getUint32(body + 8);
  if (sampleSize === 0 ? count * 4 > boxEnd - body - 12 : count * sampleSize > fileLength) {
    throw malformed(`the stsz table claims ${count} samples, more than the file can hold`);
  }
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, "?");
}

function malformed(why: string): AudioError {
  return new AudioError("undecodable", `the MP4/M4A container is damaged or forged: ${why}`);
}

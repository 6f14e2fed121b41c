/** A one-line progress bar on a terminal; plain lines when output goes to a file or CI. */
import type { EpochReport } from "./training.ts";

export function epochPrinter(label: string): (r: EpochReport) => void {
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  return (r) => {
    // An ensemble's members train one after another: the bar and the ETA cover all of them.
    const member = r.member ?? 1;
    const members = r.members ?? 1;
    const done = (member - 1) * r.epochs + r.epoch;
    const eta = (r.elapsedS / r.epoch) * (members * r.epochs - done);
    const who = members > 1 ? `member ${member}/${members} ` : "";
    const stats = `${who}epoch ${r.epoch}/${r.epochs} loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(1)}% ` +
      `${r.elapsedS.toFixed(0)}s ETA ${eta.toFixed(0)}s`;
    if (tty) {
      const filled = Math.round((done / (members * r.epochs)) * 24);
      const bar = "#".repeat(filled) + "-".repeat(24 - filled);
      Deno.stdout.writeSync(encoder.encode(`\r${label} [${bar}] ${stats}${done === members * r.epochs ? "\n" : ""}`));
    } else {
      console.log(`${label} ${stats}`);
    }
  };
}

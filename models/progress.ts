/** A one-line progress bar on a terminal; plain lines when output goes to a file or CI. */
import type { EpochReport } from "./training.ts";

export function epochPrinter(label: string): (r: EpochReport) => void {
  const tty = Deno.stdout.isTerminal();
  const encoder = new TextEncoder();
  return (r) => {
    const eta = (r.elapsedS / r.epoch) * (r.epochs - r.epoch);
    const stats = `epoch ${r.epoch}/${r.epochs} loss ${r.loss.toFixed(4)} acc ${(r.accuracy * 100).toFixed(1)}% ` +
      `${r.elapsedS.toFixed(0)}s ETA ${eta.toFixed(0)}s`;
    if (tty) {
      const filled = Math.round((r.epoch / r.epochs) * 24);
      const bar = "#".repeat(filled) + "-".repeat(24 - filled);
      Deno.stdout.writeSync(encoder.encode(`\r${label} [${bar}] ${stats}${r.epoch === r.epochs ? "\n" : ""}`));
    } else {
      console.log(`${label} ${stats}`);
    }
  };
}

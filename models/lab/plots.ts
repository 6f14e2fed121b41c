/** Small, dependency-free SVG charts of an evaluation, for the model page. Each returns a complete SVG file. */

const FONT = `font-family="system-ui, sans-serif" font-size="11"`;
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

function svg(width: number, height: number, title: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${title}">` +
    `<title>${title}</title><rect width="100%" height="100%" fill="#fff"/>${body}</svg>\n`;
}

/** Rows are the true digit, columns the predicted one; cell shade is the row's share. */
export function confusionSvg(confusion: number[][], title: string): string {
  const cell = 30;
  const left = 50;
  const top = 40;
  let body = `<text x="${left + 5 * cell}" y="18" text-anchor="middle" ${FONT} font-weight="bold">${title}</text>`;
  body += `<text x="${left + 5 * cell}" y="${top - 6}" text-anchor="middle" ${FONT}>predicted</text>`;
  body += `<text x="14" y="${top + 5 * cell}" text-anchor="middle" ${FONT} transform="rotate(-90 14 ${top + 5 * cell})">true</text>`;
  confusion.forEach((row, i) => {
    const total = row.reduce((a, b) => a + b, 0) || 1;
    body += `<text x="${left - 8}" y="${top + i * cell + 19}" text-anchor="end" ${FONT}>${i}</text>`;
    row.forEach((count, j) => {
      const share = count / total;
      const x = left + j * cell;
      const y = top + i * cell;
      body += `<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="rgb(${Math.round(255 - 225 * share)},${
        Math.round(255 - 150 * share)
      },255)" stroke="#ddd"/>`;
      if (count) {
        body += `<text x="${x + cell / 2}" y="${y + 19}" text-anchor="middle" ${FONT} fill="${
          share > 0.5 ? "#fff" : "#222"
        }">${count}</text>`;
      }
    });
  });
  confusion.forEach((_, j) =>
    body += `<text x="${left + j * cell + cell / 2}" y="${top + 10 * cell + 14}" text-anchor="middle" ${FONT}>${j}</text>`
  );
  return svg(left + 10 * cell + 10, top + 10 * cell + 24, title, body);
}

/** One ROC curve per digit, with its AUC in the legend. */
export function rocSvg(curves: Array<Array<[number, number]>>, aucs: number[], title: string): string {
  const size = 260;
  const left = 40;
  const top = 30;
  const px = (x: number) => left + x * size;
  const py = (y: number) => top + (1 - y) * size;
  let body = `<text x="${left + size / 2}" y="18" text-anchor="middle" ${FONT} font-weight="bold">${title}</text>`;
  body += `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#999"/>`;
  body += `<line x1="${px(0)}" y1="${py(0)}" x2="${px(1)}" y2="${py(1)}" stroke="#ccc" stroke-dasharray="4"/>`;
  curves.forEach((points, digit) => {
    const d = points.map(([x, y], i) => `${i ? "L" : "M"}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join("");
    body += `<path d="${d}" fill="none" stroke="${PALETTE[digit]}" stroke-width="1.5"/>`;
    body += `<text x="${left + size + 12}" y="${top + 12 + digit * 16}" ${FONT} fill="${PALETTE[digit]}">${digit}: AUC ${
      aucs[digit].toFixed(4)
    }</text>`;
  });
  body += `<text x="${left + size / 2}" y="${top + size + 26}" text-anchor="middle" ${FONT}>false positive rate</text>`;
  body += `<text x="12" y="${top + size / 2}" text-anchor="middle" ${FONT} transform="rotate(-90 12 ${
    top + size / 2
  })">true positive rate</text>`;
  return svg(left + size + 120, top + size + 36, title, body);
}

/** Horizontal bars of accuracy per speaker (e.g. leave-one-speaker-out folds). */
export function speakerBarsSvg(accuracies: Record<string, number>, title: string): string {
  const entries = Object.entries(accuracies);
  const left = 80;
  const width = 260;
  const row = 24;
  let body = `<text x="${left + width / 2}" y="18" text-anchor="middle" ${FONT} font-weight="bold">${title}</text>`;
  entries.forEach(([speaker, accuracy], i) => {
    const y = 30 + i * row;
    body += `<text x="${left - 6}" y="${y + 15}" text-anchor="end" ${FONT}>${speaker}</text>`;
    body += `<rect x="${left}" y="${y + 3}" width="${(accuracy * width).toFixed(1)}" height="${row - 8}" fill="#1f77b4"/>`;
    body += `<text x="${left + accuracy * width + 4}" y="${y + 15}" ${FONT}>${(accuracy * 100).toFixed(1)}%</text>`;
  });
  return svg(left + width + 60, 40 + entries.length * row, title, body);
}

/**
 * The refusal trade-off: share of non-digit words refused (y) against share of real digits refused (x, log-ish
 * 0-20%), as the refusal point moves; the shipped point marked.
 */
export function rejectCurveSvg(
  curve: { threshold: number; wordsRefused: number; digitsRefused: number }[],
  shipped: { wordsRefused: number; digitsRefused: number; threshold: number },
  title: string,
): string {
  const size = 260, left = 46, top = 30, maxX = 0.2;
  const px = (x: number) => left + Math.min(x, maxX) / maxX * size;
  const py = (y: number) => top + (1 - y) * size;
  let body = `<text x="${left + size / 2}" y="18" text-anchor="middle" ${FONT} font-weight="bold">${title}</text>`;
  body += `<rect x="${left}" y="${top}" width="${size}" height="${size}" fill="none" stroke="#999"/>`;
  for (const x of [0.02, 0.05, 0.1, 0.2]) {
    body += `<line x1="${px(x)}" y1="${top}" x2="${px(x)}" y2="${top + size}" stroke="#eee"/>`;
    body += `<text x="${px(x)}" y="${top + size + 14}" text-anchor="middle" ${FONT}>${x * 100}%</text>`;
  }
  for (const y of [0.5, 0.9, 0.95]) {
    body += `<line x1="${left}" y1="${py(y)}" x2="${left + size}" y2="${py(y)}" stroke="#eee"/>`;
    body += `<text x="${left - 4}" y="${py(y) + 4}" text-anchor="end" ${FONT}>${y * 100}%</text>`;
  }
  const d = curve.map((p, i) => `${i ? "L" : "M"}${px(p.digitsRefused).toFixed(1)},${py(p.wordsRefused).toFixed(1)}`).join("");
  body += `<path d="${d}" fill="none" stroke="${PALETTE[0]}" stroke-width="1.5"/>`;
  body += `<circle cx="${px(shipped.digitsRefused)}" cy="${py(shipped.wordsRefused)}" r="4" fill="${PALETTE[3]}"/>`;
  body += `<text x="${px(shipped.digitsRefused) + 8}" y="${py(shipped.wordsRefused) + 14}" ${FONT} fill="${PALETTE[3]}">shipped (${
    shipped.threshold.toFixed(2)
  })</text>`;
  body += `<text x="${left + size / 2}" y="${top + size + 30}" text-anchor="middle" ${FONT}>real digits refused (unseen speakers)</text>`;
  body += `<text x="12" y="${top + size / 2}" text-anchor="middle" ${FONT} transform="rotate(-90 12 ${
    top + size / 2
  })">non-digit words refused</text>`;
  return svg(left + size + 20, top + size + 40, title, body);
}

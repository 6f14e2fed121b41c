/**
 * Training convolutions on tfjs's WASM backend, which (4.22) has the forward kernels but not
 * Conv2DBackpropFilter nor the two depthwise backprop kernels: without them a CNN cannot learn there.
 * Registered here, for the lab only (serving never takes a gradient):
 *   Conv2DBackpropFilter               im2col in JS (laid out transposed), then one WASM MatMul: dW = patches^T . dy
 *   DepthwiseConv2dNative...Filter      plain loops, channels innermost (a depthwise layer is ~1/20 of the work)
 *   DepthwiseConv2dNative...Input       stride 1: WASM's forward depthwise kernel with the filter turned; else loops
 * and some that WASM has but runs slowly in a CNN's backward pass (measured on a DS-CNN step, batch 32, which
 * went from ~300 ms to ~100 ms with these and models/lab/batch_norm.ts):
 *   Tile                                 block copies (WASM's took 15-30 ms per batch-norm gradient)
 *   Conv2DBackpropInput                  one MatMul, cols = dy . W^T, then col2im (a 1x1 convolution needs none)
 *   Sum, Mean over leading axes          one pass in JS (WASM transposes the reduced axes last first)
 *   Identity                             shares the data instead of copying it (86 copies a step)
 * NHWC only (what tfjs layers use). Checked against the cpu backend's gradients (tests/model_conv_backprop_test.ts).
 */
import { tf } from "../tfjs.ts";

type Info = tf.TensorInfo;
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
  readSync(dataId: unknown): Float32Array;
  incRef(dataId: unknown): void;
  disposeData(dataId: unknown): boolean;
}
type Pad = "valid" | "same" | number | tf.backend_util.ExplicitPadding;
interface ConvAttrs {
  strides: [number, number] | number;
  dilations?: [number, number] | number;
  pad: Pad;
  dataFormat?: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
  filterShape?: [number, number, number, number];
  inputShape?: [number, number, number, number];
}
type Args = { inputs: Record<string, Info>; backend: WasmBackend; attrs: ConvAttrs };

function info(inShape: number[], filterShape: number[], attrs: ConvAttrs, depthwise: boolean) {
  if (attrs.dataFormat === "NCHW") throw new Error("only NHWC convolutions can be trained on the WASM backend");
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    depthwise,
  );
}

function conv2dBackpropFilter({ inputs: { x, dy }, backend, attrs }: Args): Info {
  const c = info(x.shape, attrs.filterShape!, attrs, false);
  const rows = c.batchSize * c.outHeight * c.outWidth;
  const k = c.filterHeight * c.filterWidth * c.inChannels;
  if (isPlainPointwise(c)) {
    // A 1x1 convolution: x is its own im2col, [rows, ch]; dW = x^T . dy.
    return matMul(
      backend,
      { dataId: x.dataId, shape: [1, rows, k] },
      { dataId: dy.dataId, shape: [1, rows, c.outChannels] },
      true,
      false,
      attrs.filterShape!,
    );
  }
  // im2col laid out transposed, [k][rows], so the MatMul needs no transpose: dW = patches^T . dy.
  const patches = backend.makeOutput([1, k, rows], "float32");
  im2colTransposed(c, backend.typedArrayFromHeap(x), backend.typedArrayFromHeap(patches));
  try {
    return matMul(backend, patches, { dataId: dy.dataId, shape: [1, rows, c.outChannels] }, false, false, attrs.filterShape!);
  } finally {
    backend.disposeData(patches.dataId);
  }
}

/** dx of a convolution: cols = dy . W^T ([rows][taps x ch], one WASM MatMul), then each column added back where it was read. */
function conv2dBackpropInput({ inputs: { dy, filter }, backend, attrs }: Args): Info {
  const c = info(attrs.inputShape!, filter.shape, attrs, false);
  const rows = c.batchSize * c.outHeight * c.outWidth;
  const k = c.filterHeight * c.filterWidth * c.inChannels;
  const dyRows = { dataId: dy.dataId, shape: [1, rows, c.outChannels] };
  const weights = { dataId: filter.dataId, shape: [1, k, c.outChannels] };
  if (isPlainPointwise(c)) return matMul(backend, dyRows, weights, false, true, attrs.inputShape!);
  const cols = matMul(backend, dyRows, weights, false, true, [1, rows, k]);
  try {
    const result = backend.makeOutput(attrs.inputShape!, "float32");
    col2im(c, backend.typedArrayFromHeap(cols), backend.typedArrayFromHeap(result));
    return result;
  } finally {
    backend.disposeData(cols.dataId);
  }
}

const isPlainPointwise = (c: tf.backend_util.Conv2DInfo) =>
  c.filterHeight === 1 && c.filterWidth === 1 && c.strideHeight === 1 && c.strideWidth === 1 && c.padInfo.top === 0 &&
  c.padInfo.left === 0;

/** WASM's MatMul (through initTf's transpose-first wrapper) on [1, m, n] views, its result reshaped to `shape`. */
function matMul(
  backend: WasmBackend,
  a: { dataId: unknown; shape: number[] },
  b: { dataId: unknown; shape: number[] },
  transposeA: boolean,
  transposeB: boolean,
  shape: number[],
): Info {
  const kernel = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc as unknown as (a: unknown) => Info;
  const out = kernel({
    inputs: { a: { ...a, dtype: "float32" }, b: { ...b, dtype: "float32" } },
    backend,
    attrs: { transposeA, transposeB },
  });
  return { dataId: out.dataId, shape, dtype: "float32" };
}

/*
 * The loops below walk (output position, filter tap) pairs that land inside the input (padding skipped), written
 * out in full in each kernel: a shared walk with a callback ran 3-5x slower (V8 does not inline a callback that
 * differs per caller). Offsets: dy at ((b * oh + y) * ow + xo) * f, x at ((b * h + iy) * w + ix) * ch, and the
 * tap's filter values at (i * fw + j) * f (the filter is [fh][fw][ch][f / ch] for a depthwise one, [fh][fw][ch][f]
 * otherwise).
 */

/** patches[(tap * ch + q) * rows + r] = the input value output position r sees through tap, channel q (0 in padding). */
function im2colTransposed(c: tf.backend_util.Conv2DInfo, xs: Float32Array, patches: Float32Array): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top, left } = c.padInfo;
  const rows = n * oh * ow;
  patches.fill(0);
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) {
      for (let q = 0; q < ch; q++) {
        const base = ((i * fw + j) * ch + q) * rows;
        for (let b = 0; b < n; b++) {
          for (let y = 0; y < oh; y++) {
            const iy = y * sh - top + i * dh;
            if (iy < 0 || iy >= h) continue;
            const rowAt = base + (b * oh + y) * ow;
            const xRow = (b * h + iy) * w;
            for (let xo = 0; xo < ow; xo++) {
              const ix = xo * sw - left + j * dw;
              if (ix >= 0 && ix < w) patches[rowAt + xo] = xs[(xRow + ix) * ch + q];
            }
          }
        }
      }
    }
  }
}

/** The inverse walk of im2col: dx[x position, q] += cols[r][tap * ch + q] for every pair that read it. */
function col2im(c: tf.backend_util.Conv2DInfo, cols: Float32Array, dx: Float32Array): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top, left } = c.padInfo;
  const k = fh * fw * ch;
  dx.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const colAt = ((b * oh + y) * ow + xo) * k;
        for (let i = 0; i < fh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < fw; j++) {
            const ix = xo * sw - left + j * dw;
            if (ix < 0 || ix >= w) continue;
            const xAt = ((b * h + iy) * w + ix) * ch;
            const tapAt = colAt + (i * fw + j) * ch;
            for (let q = 0; q < ch; q++) dx[xAt + q] += cols[tapAt + q];
          }
        }
      }
    }
  }
}

function depthwiseBackpropFilter({ inputs: { x, dy }, backend, attrs }: Args): Info {
  const c = info(x.shape, attrs.filterShape!, attrs, true);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow, outChannels: f } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top, left } = c.padInfo;
  const m = f / ch;
  const result = backend.makeOutput(attrs.filterShape!, "float32");
  const [xs, dys, grads] = [x, dy, result].map((t) => backend.typedArrayFromHeap(t));
  // Every tap's sums at once, in the filter's layout: one pass over dy, its neighbours in x still in cache.
  const sums = new Float64Array(fh * fw * f);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const dyAt = ((b * oh + y) * ow + xo) * f;
        for (let i = 0; i < fh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < fw; j++) {
            const ix = xo * sw - left + j * dw;
            if (ix < 0 || ix >= w) continue;
            const xAt = ((b * h + iy) * w + ix) * ch;
            const tapAt = (i * fw + j) * f;
            if (m === 1) {
              for (let q = 0; q < ch; q++) sums[tapAt + q] += xs[xAt + q] * dys[dyAt + q];
            } else {
              for (let q = 0; q < ch; q++) {
                for (let r = 0; r < m; r++) sums[tapAt + q * m + r] += xs[xAt + q] * dys[dyAt + q * m + r];
              }
            }
          }
        }
      }
    }
  }
  grads.set(sums);
  return result;
}

function depthwiseBackpropInput(args: Args): Info {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const c = info(attrs.inputShape!, filter.shape, attrs, true);
  if (isSymmetricSameStride1(c)) return depthwiseBackpropInputByConv(args, c);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow, outChannels: f } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top, left } = c.padInfo;
  const m = f / ch;
  const result = backend.makeOutput(attrs.inputShape!, "float32");
  const [dys, ws, dx] = [dy, filter, result].map((t) => backend.typedArrayFromHeap(t));
  dx.fill(0);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < oh; y++) {
      for (let xo = 0; xo < ow; xo++) {
        const dyAt = ((b * oh + y) * ow + xo) * f;
        for (let i = 0; i < fh; i++) {
          const iy = y * sh - top + i * dh;
          if (iy < 0 || iy >= h) continue;
          for (let j = 0; j < fw; j++) {
            const ix = xo * sw - left + j * dw;
            if (ix < 0 || ix >= w) continue;
            const xAt = ((b * h + iy) * w + ix) * ch;
            const tapAt = (i * fw + j) * f;
            if (m === 1) {
              for (let q = 0; q < ch; q++) dx[xAt + q] += ws[tapAt + q] * dys[dyAt + q];
            } else {
              for (let q = 0; q < ch; q++) {
                let sum = 0;
                for (let r = 0; r < m; r++) sum += ws[tapAt + q * m + r] * dys[dyAt + q * m + r];
                dx[xAt + q] += sum;
              }
            }
          }
        }
      }
    }
  }
  return result;
}

/** Stride 1, no dilation, one filter per channel, odd kernel padded the same on both sides. */
const isSymmetricSameStride1 = (c: tf.backend_util.Conv2DInfo) =>
  c.strideHeight === 1 && c.strideWidth === 1 && c.dilationHeight === 1 && c.dilationWidth === 1 &&
  c.outChannels === c.inChannels && c.padInfo.top === c.padInfo.bottom && c.padInfo.left === c.padInfo.right &&
  c.padInfo.top === (c.filterHeight - 1) / 2 && c.padInfo.left === (c.filterWidth - 1) / 2;

/**
 * For such a convolution, dx is dy convolved (forward, same padding) with the filter turned by 180 degrees:
 * WASM's own depthwise kernel does it, several times faster than loops in JS.
 */
function depthwiseBackpropInputByConv({ inputs: { dy, filter }, backend, attrs }: Args, c: tf.backend_util.Conv2DInfo): Info {
  const { filterHeight: fh, filterWidth: fw, inChannels: ch } = c;
  const turned = backend.makeOutput(filter.shape, "float32");
  const [ws, out] = [filter, turned].map((t) => backend.typedArrayFromHeap(t));
  for (let i = 0; i < fh; i++) {
    for (let j = 0; j < fw; j++) out.set(ws.subarray((i * fw + j) * ch, (i * fw + j + 1) * ch), ((fh - 1 - i) * fw + (fw - 1 - j)) * ch);
  }
  try {
    const kernel = tf.getKernel("DepthwiseConv2dNative", "wasm")!.kernelFunc as unknown as (a: unknown) => Info;
    return kernel({
      inputs: { x: dy, filter: turned },
      backend,
      attrs: { strides: [1, 1], pad: "same", dilations: [1, 1], dataFormat: "NHWC", dimRoundingMode: attrs.dimRoundingMode },
    });
  } finally {
    backend.disposeData(turned.dataId);
  }
}

/**
 * Sum and Mean over leading axes (batch norm's moments and its gradients reduce NHWC over N, H, W): WASM's
 * kernels transpose the reduced axes last first, which made these ~1/6 of a DS-CNN step; one pass here.
 * Any other reduction goes to WASM's own kernel.
 */
function leadingReduction(mean: boolean) {
  return (original: (args: Args) => Info) => (args: Args): Info => {
    const { inputs: { x }, backend } = args;
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((p, q) => p - q);
    const leading = axes.length > 0 && axes.length < rank && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== "float32") return original(args);
    const inner = x.shape.slice(axes.length).reduce((p, q) => p * q, 1);
    const shape = keepDims ? x.shape.map((d, i) => (i < axes.length ? 1 : d)) : x.shape.slice(axes.length);
    const result = backend.makeOutput(shape, "float32");
    const [source, out] = [x, result].map((t) => backend.typedArrayFromHeap(t));
    const outer = source.length / inner;
    const sums = new Float64Array(inner);
    let r = 0;
    for (; r + 4 <= outer; r += 4) { // four rows a pass: a quarter of the loads and stores of the sums
      const a = r * inner, b = a + inner, c = b + inner, d = c + inner;
      for (let q = 0; q < inner; q++) sums[q] += source[a + q] + source[b + q] + source[c + q] + source[d + q];
    }
    for (; r < outer; r++) {
      const at = r * inner;
      for (let q = 0; q < inner; q++) sums[q] += source[at + q];
    }
    for (let q = 0; q < inner; q++) out[q] = mean ? sums[q] / outer : sums[q];
    return result;
  };
}

/** Tile by block copies: each dimension, last to first, repeats the blocks already laid out. */
function tile({ inputs: { x }, backend, attrs }: Args): Info {
  const reps = (attrs as unknown as { reps: number[] }).reps;
  const shape = x.shape.map((d, i) => d * reps[i]);
  const result = backend.makeOutput(shape, x.dtype);
  const out = backend.typedArrayFromHeap(result) as unknown as Float32Array;
  const source = backend.readSync(x.dataId) as unknown as Float32Array;
  // Lay the input out block by block, each block spaced for its repeats, then fill the repeats in place.
  const rank = shape.length;
  const stride = new Array<number>(rank + 1).fill(1); // output strides
  for (let d = rank - 1; d >= 0; d--) stride[d] = stride[d + 1] * shape[d];
  const inner = x.shape[rank - 1];
  const rows = source.length / Math.max(1, inner);
  for (let r = 0; r < rows; r++) {
    let at = 0, rest = r;
    for (let d = rank - 2; d >= 0; d--) {
      at += (rest % x.shape[d]) * stride[d + 1];
      rest = Math.floor(rest / x.shape[d]);
    }
    out.set(source.subarray(r * inner, (r + 1) * inner), at);
  }
  for (let d = rank - 1; d >= 0; d--) {
    const block = x.shape[d] * stride[d + 1];
    if (reps[d] === 1) continue;
    const outer = d === 0 ? 1 : out.length / stride[d];
    for (let o = 0; o < outer; o++) {
      const base = o * stride[d];
      for (let k = 1; k < reps[d]; k++) out.copyWithin(base + k * block, base, base + block);
    }
  }
  return result;
}

/**
 * Identity without the copy: tensors never change in place, so the copy shares the data under one more
 * reference, as WASM's own Reshape does (the copies were ~1/15 of a DS-CNN step, 86 of them).
 */
function identity({ inputs: { x }, backend }: Args): Info {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const MISSING: Array<[string, (args: Args) => Info]> = [
  ["Conv2DBackpropFilter", conv2dBackpropFilter],
  ["DepthwiseConv2dNativeBackpropFilter", depthwiseBackpropFilter],
  ["DepthwiseConv2dNativeBackpropInput", depthwiseBackpropInput],
];

let registered = false;

/** Registers the missing backprop kernels on the WASM backend and replaces the two slow ones (once). */
export function registerConvBackprop(): void {
  if (registered) return;
  registered = true;
  for (const [kernelName, kernelFunc] of MISSING) {
    if (tf.getKernel(kernelName, "wasm")) continue; // the backend's own, if a later version has it, wins
    tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  const replace = (kernelName: string, make: (original: (args: Args) => Info) => (args: Args) => Info) => {
    const original = tf.getKernel(kernelName, "wasm");
    if (!original) return;
    tf.unregisterKernel(kernelName, "wasm");
    tf.registerKernel({
      ...original,
      kernelFunc: make(original.kernelFunc as unknown as (args: Args) => Info) as unknown as tf.KernelFunc,
    });
  };
  replace("Tile", () => tile);
  replace("Conv2DBackpropInput", () => conv2dBackpropInput);
  replace("Sum", leadingReduction(false));
  replace("Mean", leadingReduction(true));
  replace("Identity", () => identity);
}

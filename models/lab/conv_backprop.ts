/**
 * Training convolutions on tfjs's WASM backend, which (4.22) has the forward kernels but not
 * Conv2DBackpropFilter nor the two depthwise backprop kernels: without them a CNN cannot learn there.
 * Registered here, for the lab only (serving never takes a gradient):
 *   Conv2DBackpropFilter               im2col in JS, then one WASM MatMul: dW = patches^T . dy
 *   DepthwiseConv2dNative...Filter      plain loops, channels innermost (a depthwise layer is ~1/20 of the work)
 *   DepthwiseConv2dNative...Input       plain loops, scattering dy back through the filter
 * and two that WASM has but runs slowly in a CNN's backward pass (measured on a DS-CNN step, batch 32):
 *   Tile                                 block copies (WASM's took 15-30 ms per batch-norm gradient, 1/3 of a step)
 *   Conv2DBackpropInput of a 1x1 conv    one MatMul, dx = dy . W^T (others go to WASM's own kernel)
 * NHWC only (what tfjs layers use). Checked against the cpu backend's gradients (tests/model_conv_backprop_test.ts).
 */
import { tf } from "../tfjs.ts";

type Info = tf.TensorInfo;
interface WasmBackend extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): Info;
  typedArrayFromHeap(info: Info): Float32Array;
  readSync(dataId: unknown): Float32Array;
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
  const { batchSize: n, inChannels: ch, outHeight: oh, outWidth: ow, outChannels: f } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = c;
  const { top, left } = c.padInfo;
  const rows = n * oh * ow;
  const k = fh * fw * ch;
  const temporaries: Info[] = [];
  let patches: Info;
  if (fh === 1 && fw === 1 && sh === 1 && sw === 1 && top === 0 && left === 0) {
    patches = { dataId: x.dataId, shape: [1, rows, k], dtype: "float32" }; // a 1x1 convolution: x is its own im2col
  } else {
    const xs = backend.readSync(x.dataId);
    patches = backend.makeOutput([1, rows, k], "float32");
    temporaries.push(patches);
    const out = backend.typedArrayFromHeap(patches);
    out.fill(0);
    // Row r of the patches holds, tap after tap, the ch input values that output position r sees through it.
    forEachTap(c, (dyAt, xAt, tapAt) => out.set(xs.subarray(xAt, xAt + ch), (dyAt / f) * k + (tapAt / f) * ch));
  }
  const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc as unknown as (a: unknown) => Info;
  const grads = matMul({
    inputs: { a: patches, b: { dataId: dy.dataId, shape: [1, rows, f], dtype: "float32" } },
    backend,
    attrs: { transposeA: true, transposeB: false },
  });
  for (const t of temporaries) backend.disposeData(t.dataId);
  return { dataId: grads.dataId, shape: attrs.filterShape!, dtype: "float32" };
}

/**
 * Walks every (output position, filter tap) pair of a convolution that lands inside the input (padding is
 * skipped), and hands `visit` the flat offsets of dy's position, x's position and the tap's first filter value
 * (the filter is [fh][fw][ch][f / ch] for a depthwise one, [fh][fw][ch][f] otherwise: tapAt / f is the tap's
 * index either way). im2col and both depthwise gradients are this walk with different work per tap.
 */
function forEachTap(c: tf.backend_util.Conv2DInfo, visit: (dyAt: number, xAt: number, tapAt: number) => void): void {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ch, outHeight: oh, outWidth: ow, outChannels: f } = c;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = c;
  const { top, left } = c.padInfo;
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
            visit(dyAt, ((b * h + iy) * w + ix) * ch, (i * fw + j) * f);
          }
        }
      }
    }
  }
}

function depthwiseBackpropFilter({ inputs: { x, dy }, backend, attrs }: Args): Info {
  const c = info(x.shape, attrs.filterShape!, attrs, true);
  const ch = c.inChannels, m = c.outChannels / c.inChannels;
  const xs = backend.readSync(x.dataId);
  const dys = backend.readSync(dy.dataId);
  const result = backend.makeOutput(attrs.filterShape!, "float32");
  const grads = backend.typedArrayFromHeap(result);
  grads.fill(0);
  forEachTap(c, (dyAt, xAt, tapAt) => {
    for (let q = 0; q < ch; q++) {
      const xv = xs[xAt + q];
      for (let r = 0; r < m; r++) grads[tapAt + q * m + r] += xv * dys[dyAt + q * m + r];
    }
  });
  return result;
}

function depthwiseBackpropInput({ inputs: { dy, filter }, backend, attrs }: Args): Info {
  const c = info(attrs.inputShape!, filter.shape, attrs, true);
  const ch = c.inChannels, m = c.outChannels / c.inChannels;
  const dys = backend.readSync(dy.dataId);
  const ws = backend.readSync(filter.dataId);
  const result = backend.makeOutput(attrs.inputShape!, "float32");
  const dx = backend.typedArrayFromHeap(result);
  dx.fill(0);
  forEachTap(c, (dyAt, xAt, tapAt) => {
    for (let q = 0; q < ch; q++) {
      let sum = 0;
      for (let r = 0; r < m; r++) sum += ws[tapAt + q * m + r] * dys[dyAt + q * m + r];
      dx[xAt + q] += sum;
    }
  });
  return result;
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

/** dx of a 1x1, stride-1, unpadded convolution is dy . W^T; anything else goes to WASM's own kernel. */
function conv2dBackpropInput(original: (args: Args) => Info) {
  return (args: Args): Info => {
    const { inputs: { dy, filter }, backend, attrs } = args;
    const [fh, fw, ch, f] = filter.shape;
    const strides = typeof attrs.strides === "number" ? [attrs.strides, attrs.strides] : attrs.strides;
    if (fh !== 1 || fw !== 1 || strides[0] !== 1 || strides[1] !== 1 || attrs.dataFormat === "NCHW") return original(args);
    const rows = dy.shape[0] * dy.shape[1] * dy.shape[2];
    const matMul = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc as unknown as (a: unknown) => Info;
    const dx = matMul({
      inputs: {
        a: { dataId: dy.dataId, shape: [1, rows, f], dtype: "float32" },
        b: { dataId: filter.dataId, shape: [1, ch, f], dtype: "float32" },
      },
      backend,
      attrs: { transposeA: false, transposeB: true },
    });
    return { dataId: dx.dataId, shape: attrs.inputShape!, dtype: "float32" };
  };
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
  replace("Conv2DBackpropInput", conv2dBackpropInput);
}

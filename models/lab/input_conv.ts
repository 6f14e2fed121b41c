/**
 * A network's first convolution, for training: the gradient of its input is never computed.
 *
 * tfjs-layers runs every Conv2D through tf.fused.conv2d, whose gradient (a tf.customGrad) computes the input's
 * gradient eagerly, needed or not. For the first convolution it never is (its input is the features, not a
 * weight's output), and on WASM it cost ~6 ms of a ~95 ms DS-CNN step. tf.conv2d's own gradient is lazy: tfjs
 * computes only the gradients on a path to a trained weight, here the kernel's.
 *
 * Only training changes: same class name, weights and forward kernel, so the saved model is a plain Conv2D, and a
 * convolution with a bias or an activation (not the DS-CNN's first) goes through tfjs's own code.
 */
import { tf } from "../tfjs.ts";

/** The arguments tf.layers.conv2d takes. */
export type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

type Conv2DLayer = tf.layers.Layer & {
  kernel: tf.LayerVariable;
  bias: tf.LayerVariable | null;
  strides: [number, number];
  padding: "same" | "valid";
  dataFormat: string;
  dilationRate: [number, number];
  activation: { getClassName(): string };
};
const Conv2D = tf.layers.conv2d({ filters: 1, kernelSize: 1 }).constructor as new (args: Conv2DArgs) => Conv2DLayer;

class InputConv2D extends Conv2D {
  // deno-lint-ignore no-explicit-any
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: any): tf.Tensor | tf.Tensor[] {
    if (this.bias || this.dataFormat !== "channelsLast" || this.activation.getClassName() !== "linear") {
      return super.call(inputs, kwargs);
    }
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.tidy(() => tf.conv2d(x, this.kernel.read() as tf.Tensor4D, this.strides, this.padding, "NHWC", this.dilationRate));
  }
}

/** A Conv2D layer that reads a network's input, for a network about to be trained (no input gradient). */
export function inputConv2d(args: Conv2DArgs): tf.layers.Layer {
  return new InputConv2D(args);
}

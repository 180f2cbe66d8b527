package org.trainkit;

import java.lang.ref.Reference;
import org.trainkit.internal.trainkit_native;

/** A model under construction: a DAG of named nodes, shapes checked as nodes are added. */
public final class Model extends NativeObject {
  public Model() {
    super(trainkit_native.tkb_model_create(), trainkit_native::tkb_model_destroy);
  }

  private Model(long handle) {
    super(handle, trainkit_native::tkb_model_destroy);
  }

  /** Builds a model from its JSON spec. */
  public static Model fromSpec(String json) {
    return new Model(trainkit_native.tkb_model_from_spec(json));
  }

  public static Model loadSpec(String path) {
    return new Model(trainkit_native.tkb_model_load_spec(path));
  }

  /** An input of the given per-sample shape; returns its node. */
  public int input(String name, long... shape) {
    return node(trainkit_native.tkb_model_input(handle(), name, shape.length, Native.shape(shape)));
  }

  public int linear(int input, long units) {
    return node(trainkit_native.tkb_model_linear(handle(), input, units));
  }

  public int relu(int input) {
    return node(trainkit_native.tkb_model_activation(handle(), input, 0));
  }

  public int gelu(int input) {
    return node(trainkit_native.tkb_model_activation(handle(), input, 1));
  }

  public int tanh(int input) {
    return node(trainkit_native.tkb_model_activation(handle(), input, 2));
  }

  public int sigmoid(int input) {
    return node(trainkit_native.tkb_model_activation(handle(), input, 3));
  }

  public int dropout(int input, double probability) {
    return node(trainkit_native.tkb_model_dropout(handle(), input, probability));
  }

  /** Image dropout: drops whole channels of [channels, height, width] samples. */
  public int dropout2d(int input, double probability) {
    return node(trainkit_native.tkb_model_dropout2d(handle(), input, probability));
  }

  /** Batch normalization per channel (PyTorch defaults: eps 1e-5, momentum 0.1). */
  public int batchNorm(int input, double eps, double momentum) {
    return node(trainkit_native.tkb_model_batch_norm(handle(), input, eps, momentum));
  }

  /** Layer normalization over the last {@code axes} axes of each sample. */
  public int layerNorm(int input, int axes, double eps) {
    return node(trainkit_native.tkb_model_layer_norm(handle(), input, axes, eps));
  }

  /** Same element count, new per-sample shape, e.g. [28, 28] to [1, 28, 28]. */
  public int reshape(int input, long... shape) {
    return node(trainkit_native.tkb_model_reshape(handle(), input, shape.length, Native.shape(shape)));
  }

  /** 2-D convolution over [channels, height, width], square kernel, as PyTorch's Conv2d. */
  public int conv2d(int input, long outChannels, long kernel, long stride, long padding, long dilation, long groups,
                    boolean bias) {
    return node(trainkit_native.tkb_model_conv2d(handle(), input, outChannels, kernel, stride, padding, dilation,
                                                 groups, bias ? 1 : 0));
  }

  public int conv2d(int input, long outChannels, long kernel, long padding) {
    return conv2d(input, outChannels, kernel, 1, padding, 1, 1, true);
  }

  public int maxPool2d(int input, long kernel, long stride, long padding) {
    return node(trainkit_native.tkb_model_pool2d(handle(), input, 0, kernel, stride, padding));
  }

  public int avgPool2d(int input, long kernel, long stride, long padding) {
    return node(trainkit_native.tkb_model_pool2d(handle(), input, 1, kernel, stride, padding));
  }

  /** [channels, height, width] to [channels]: the mean of each plane. */
  public int globalAvgPool(int input) {
    return node(trainkit_native.tkb_model_global_avg_pool(handle(), input));
  }

  public int flatten(int input) {
    return node(trainkit_native.tkb_model_flatten(handle(), input));
  }

  public int add(int a, int b) {
    return node(trainkit_native.tkb_model_add(handle(), a, b));
  }

  public Model output(int node, String name) {
    Native.check(trainkit_native.tkb_model_output(handle(), node, name));
    Reference.reachabilityFence(this);
    return this;
  }

  /** Scalar parameters of the model's nodes. */
  public long numParameters() {
    long count = trainkit_native.tkb_model_num_parameters(handle());
    Native.check();
    Reference.reachabilityFence(this);
    return count;
  }

  public void saveSpec(String path) {
    Native.check(trainkit_native.tkb_model_save_spec(handle(), path));
    Reference.reachabilityFence(this);
  }

  private int node(int id) {
    Native.check();
    Reference.reachabilityFence(this);
    return id;
  }
}

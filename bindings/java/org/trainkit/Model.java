package org.trainkit;

import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.Objects;

/**
 * A model under construction: a DAG of named nodes whose per-sample shapes are checked as each node is
 * added. Builder methods return the new node's id. A {@link Trainer} copies the model, so the model may be
 * closed once its trainers exist. Not for use from two threads at once.
 */
public final class Model extends NativeObject<SWIGTYPE_p_tk_model> {
  private final int[] node = new int[1];

  /** An empty model. */
  public Model() {
    this(create());
  }

  private Model(SWIGTYPE_p_tk_model handle) {
    super(handle, TrainKitC::tk_model_destroy);
  }

  private static SWIGTYPE_p_tk_model create() {
    SWIGTYPE_p_tk_model[] out = new SWIGTYPE_p_tk_model[1];
    TrainKitException.check(TrainKitC.tk_model_create(out));
    return out[0];
  }

  /** Builds a model from its JSON spec text (as {@link #spec()} writes it). */
  public static Model fromSpec(String json) {
    SWIGTYPE_p_tk_model[] out = new SWIGTYPE_p_tk_model[1];
    TrainKitException.check(TrainKitC.tk_model_from_spec(json, out));
    return new Model(out[0]);
  }

  /** Builds a model from a spec file (as {@link #saveSpec(String)} writes it). */
  public static Model loadSpec(String path) {
    SWIGTYPE_p_tk_model[] out = new SWIGTYPE_p_tk_model[1];
    TrainKitException.check(TrainKitC.tk_model_load_spec(path, out));
    return new Model(out[0]);
  }

  /**
   * The registered ops as JSON text: {@code {"ops": [{"name": "linear", "inputs": 1, "attributes": [...]},
   * ...]}}, the ops and attributes {@link #op(String, String, int...)} takes.
   */
  public static String opCatalog() {
    long[] length = new long[1];
    TrainKitException.check(TrainKitC.tk_op_catalog(null, length));
    byte[] text = new byte[Support.arraySize(length[0], "the op catalog")];
    TrainKitException.check(TrainKitC.tk_op_catalog(text, length));
    return Support.string(text);
  }

  /** The node id a builder call wrote, once its status is OK. */
  private int node(Status status) {
    try {
      TrainKitException.check(status);
      return node[0];
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** An input of the given per-sample shape (without the batch dimension). */
  public int input(String name, long... shape) {
    return node(TrainKitC.tk_model_input(handle(), name, shape, node));
  }

  /** An input of int32 indices (token ids, categories) of the given per-sample shape; embedding takes it. */
  public int inputIndices(String name, long... shape) {
    return node(TrainKitC.tk_model_input_indices(handle(), name, shape, node));
  }

  /** y = x W^T + b over the last dimension; W is [units, in_features], He-uniform initialized. */
  public int linear(int input, long units) {
    return node(TrainKitC.tk_model_linear(handle(), input, units, node));
  }

  /** A linear layer with or without bias and with the given weight initialization. */
  public int linear(int input, long units, boolean bias, Init weightInit) {
    Objects.requireNonNull(weightInit, "weightInit");
    return node(TrainKitC.tk_model_linear_ex(handle(), input, units, bias ? 1 : 0, weightInit, node));
  }

  /** max(x, 0). */
  public int relu(int input) {
    return node(TrainKitC.tk_model_relu(handle(), input, node));
  }

  /** GELU. */
  public int gelu(int input) {
    return node(TrainKitC.tk_model_gelu(handle(), input, node));
  }

  /** tanh(x). */
  public int tanh(int input) {
    return node(TrainKitC.tk_model_tanh(handle(), input, node));
  }

  /** 1 / (1 + e^-x). */
  public int sigmoid(int input) {
    return node(TrainKitC.tk_model_sigmoid(handle(), input, node));
  }

  /** Drops each element with {@code probability} in training (scaling the rest); identity otherwise. */
  public int dropout(int input, double probability) {
    return node(TrainKitC.tk_model_dropout(handle(), input, probability, node));
  }

  /** Drops whole channels of [channels, height, width] samples in training (PyTorch's Dropout2d). */
  public int dropout2d(int input, double probability) {
    return node(TrainKitC.tk_model_dropout2d(handle(), input, probability, node));
  }

  /** Flattens each sample to one dimension. */
  public int flatten(int input) {
    return node(TrainKitC.tk_model_flatten(handle(), input, node));
  }

  /** Elementwise a + b of two nodes of equal shape. */
  public int add(int a, int b) {
    return node(TrainKitC.tk_model_add(handle(), a, b, node));
  }

  /** The same elements in a new per-sample shape, e.g. [28, 28] to [1, 28, 28]. */
  public int reshape(int input, long... shape) {
    return node(TrainKitC.tk_model_reshape(handle(), input, shape, node));
  }

  /** 2-D convolution over [channels, height, width] with a square kernel, as PyTorch's Conv2d. */
  public int conv2d(int input, long outChannels, long kernel, long stride, long padding, long dilation, long groups,
                    boolean bias) {
    return node(TrainKitC.tk_model_conv2d(handle(), input, outChannels, kernel, stride, padding, dilation, groups,
        bias ? 1 : 0, node));
  }

  /** A convolution with stride 1, dilation 1, one group and a bias. */
  public int conv2d(int input, long outChannels, long kernel, long padding) {
    return conv2d(input, outChannels, kernel, 1, padding, 1, 1, true);
  }

  /** Max pooling over [channels, height, width]; padding at most kernel / 2. */
  public int maxPool2d(int input, long kernel, long stride, long padding) {
    return node(TrainKitC.tk_model_max_pool2d(handle(), input, kernel, stride, padding, node));
  }

  /** Average pooling over [channels, height, width]; padding at most kernel / 2. */
  public int avgPool2d(int input, long kernel, long stride, long padding) {
    return node(TrainKitC.tk_model_avg_pool2d(handle(), input, kernel, stride, padding, node));
  }

  /** [channels, height, width] to [channels]: the mean of each plane. */
  public int globalAvgPool(int input) {
    return node(TrainKitC.tk_model_global_avg_pool(handle(), input, node));
  }

  /** Batch normalization per channel, as PyTorch's BatchNorm1d/2d (its defaults: eps 1e-5, momentum 0.1). */
  public int batchNorm(int input, double eps, double momentum) {
    return node(TrainKitC.tk_model_batch_norm(handle(), input, eps, momentum, node));
  }

  /** Layer normalization over the last {@code axes} axes of each sample, with learned weight and bias. */
  public int layerNorm(int input, int axes, double eps) {
    return node(TrainKitC.tk_model_layer_norm(handle(), input, axes, eps, node));
  }

  /**
   * Any registered op by name (see {@link #opCatalog()}) over earlier nodes, with its attributes as a JSON
   * object, e.g. {@code op("linear", "{\"units\": 10, \"bias\": false}", x)}; null or "" gives the defaults.
   * An unknown op or attribute is a TrainKitException of {@link Status#ERROR_INVALID_ARGUMENT}.
   */
  public int op(String name, String attributesJson, int... inputs) {
    return node(TrainKitC.tk_model_op(handle(), name, inputs, attributesJson, node));
  }

  /** Marks the node the loss and predictions read, under the given name. */
  public Model output(int node, String name) {
    done(TrainKitC.tk_model_output(handle(), node, name));
    return this;
  }

  /** Another named output beside the loss's: {@code predictOutputs} reads it too. */
  public Model addOutput(int node, String name) {
    done(TrainKitC.tk_model_add_output(handle(), node, name));
    return this;
  }

  /** Renames a node (names are unique; ops are named "&lt;type&gt;_&lt;id&gt;" by default). */
  public Model setNodeName(int node, String name) {
    done(TrainKitC.tk_model_set_node_name(handle(), node, name));
    return this;
  }

  /**
   * Multi-head attention over {@code query} [seq, width] as ordinary nodes: projections
   * "&lt;name&gt;.query", ".key" and ".value" (keys and values of {@code context}: the query itself
   * for self-attention), the attention op "&lt;name&gt;.heads" (masked by {@code mask} unless it is
   * -1; {@code keepMask}: 1 attends, 0 hides) and the output projection "&lt;name&gt;.out", whose
   * node it returns.
   */
  public int multiHeadAttention(int query, int context, int mask, long heads, boolean causal, boolean keepMask,
      String name) {
    return node(TrainKitC.tk_model_multi_head_attention(handle(), query, context, mask, heads, causal ? 1 : 0,
        keepMask ? 1 : 0, name, node));
  }

  /**
   * Weight tying: the node's parameter {@code param} becomes the tensor of the earlier node
   * {@code source}'s {@code sourceParam} (same shape; one tensor named after the source, whose
   * gradient sums both uses).
   */
  public Model shareParameter(int node, String param, int source, String sourceParam) {
    done(TrainKitC.tk_model_share_parameter(handle(), node, param, source, sourceParam));
    return this;
  }

  /** A node's name. */
  public String nodeName(int node) {
    try {
      for (int capacity = 64; ; capacity *= 4) {
        byte[] buffer = new byte[capacity];
        TrainKitException.check(TrainKitC.tk_model_node_name(handle(), node, buffer));
        if (!Support.full(buffer) || capacity > (1 << 24)) return Support.string(buffer);
      }
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** A node's per-sample shape. */
  public long[] nodeShape(int node) {
    int[] rank = new int[1];
    long[] shape = new long[TrainKitCConstants.TK_MAX_RANK];
    done(TrainKitC.tk_model_node_shape(handle(), node, rank, shape));
    return Arrays.copyOf(shape, rank[0]);
  }

  /** Scalar parameters of the model's nodes. */
  public long numParameters() {
    long[] count = new long[1];
    done(TrainKitC.tk_model_num_parameters(handle(), count));
    return count[0];
  }

  /** The model's JSON spec, which {@link #fromSpec(String)} rebuilds the same model from. */
  public String spec() {
    try {
      long[] length = new long[1];
      TrainKitException.check(TrainKitC.tk_model_spec_length(handle(), length));
      byte[] text = new byte[Support.arraySize(length[0], "the spec")];
      TrainKitException.check(TrainKitC.tk_model_spec(handle(), text));
      return Support.string(text);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Writes the spec to a file (atomically). */
  public void saveSpec(String path) {
    done(TrainKitC.tk_model_save_spec(handle(), path));
  }
}

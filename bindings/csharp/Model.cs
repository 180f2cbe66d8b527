// Model: a DAG of named nodes, built layer by layer or from a JSON spec.
using System;
using System.Text;

namespace TrainKit {

/// <summary>A model under construction: a DAG of nodes (ids are ints), each with a per-sample
/// shape checked as it is added. A <see cref="Trainer"/> compiles a copy, so a model may be
/// disposed once its trainers exist.</summary>
public sealed class Model : NativeObject<SWIGTYPE_p_tk_model> {
  static Model() => NativeLoader.Load();  // before anything calls into the native library

  static readonly Action<IntPtr> Destroy = address => TrainKitC.tk_model_destroy(new SWIGTYPE_p_tk_model(address, false));

  /// <summary>An empty model.</summary>
  public Model() : this(Create()) {}

  Model(SWIGTYPE_p_tk_model native)
      : base(native, SWIGTYPE_p_tk_model.getCPtr(native).Handle, Destroy) {}

  static SWIGTYPE_p_tk_model Create() {
    Interop.Check(TrainKitC.tk_model_create(out SWIGTYPE_p_tk_model model));
    return model;
  }

  /// <summary>Builds a model from spec text (the JSON that <see cref="Spec"/> returns).</summary>
  public static Model FromSpec(string json) {
    Interop.NotNull(json, nameof(json));
    Interop.Check(TrainKitC.tk_model_from_spec(json, out SWIGTYPE_p_tk_model model));
    return new Model(model);
  }

  /// <summary>Builds a model from a spec file (see <see cref="SaveSpec"/>).</summary>
  public static Model LoadSpec(string path) {
    Interop.NotNull(path, nameof(path));
    Interop.Check(TrainKitC.tk_model_load_spec(path, out SWIGTYPE_p_tk_model model));
    return new Model(model);
  }

  /// <summary>Writes the model's spec to a file, atomically.</summary>
  public void SaveSpec(string path) {
    Interop.NotNull(path, nameof(path));
    using (Lease()) Interop.Check(TrainKitC.tk_model_save_spec(Native, path));
  }

  /// <summary>The model's spec: JSON naming every node, its op, inputs and attributes, and the
  /// output; <see cref="FromSpec"/> rebuilds the same model from it.</summary>
  public string Spec() {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_spec_length(Native, out ulong length));
      var buffer = new byte[length];
      Interop.Check(TrainKitC.tk_model_spec(Native, buffer, length));
      return Interop.Text(buffer);
    }
  }

  /// <summary>The registered ops, their inputs and attributes, as JSON text:
  /// <c>{"ops": [{"name": "linear", "inputs": 1, "attributes": [...]}, ...]}</c>.</summary>
  public static string OpCatalog() {
    Interop.Check(TrainKitC.tk_op_catalog(null, 0, out ulong length));
    var buffer = new byte[length];
    Interop.Check(TrainKitC.tk_op_catalog(buffer, length, out length));
    return Interop.Text(buffer);
  }

  /// <summary>Adds any registered op by name over earlier nodes; every typed method of this class is
  /// one of these with fixed attributes.</summary>
  /// <param name="name">The op's name, e.g. "linear" (see <see cref="OpCatalog"/>).</param>
  /// <param name="attributesJson">A JSON object of numbers, booleans and strings, e.g.
  /// <c>{"units": 10, "bias": false}</c>; null or "" for none (defaults apply).</param>
  /// <param name="inputs">The op's input nodes.</param>
  /// <returns>The new node.</returns>
  /// <exception cref="TrainKitException">An unknown op, a wrong input count, invalid JSON, or a
  /// missing, unknown or wrong-typed attribute (<see cref="Status.ErrorInvalidArgument"/>).</exception>
  public int Op(string name, string attributesJson, params int[] inputs) {
    Interop.NotNull(name, nameof(name));
    Interop.NotNull(inputs, nameof(inputs));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_op(Native, name, inputs, (ulong)inputs.Length, attributesJson, out int node));
      return node;
    }
  }

  /// <summary>An input of per-sample shape <paramref name="shape"/> (without the batch dimension).</summary>
  public int Input(string name, params long[] shape) {
    Interop.NotNull(name, nameof(name));
    Interop.NotNull(shape, nameof(shape));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_input(Native, name, shape.Length, shape, out int node));
      return node;
    }
  }

  /// <summary>An input of int32 indices (token ids, categories) of the given per-sample shape;
  /// embedding takes it.</summary>
  public int InputIndices(string name, params long[] shape) {
    Interop.NotNull(name, nameof(name));
    Interop.NotNull(shape, nameof(shape));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_input_indices(Native, name, shape.Length, shape, out int node));
      return node;
    }
  }

  /// <summary>y = x W^T + b over the last dimension, W [units, in_features] He-uniform, with bias.</summary>
  public int Linear(int input, long units) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_linear(Native, input, units, out int node));
      return node;
    }
  }

  /// <summary>y = x W^T (+ b) over the last dimension, with a choice of bias and weight init.</summary>
  public int Linear(int input, long units, bool bias, Init weightInit = Init.HeUniform) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_linear_ex(Native, input, units, bias ? 1 : 0, weightInit, out int node));
      return node;
    }
  }

  /// <summary>max(x, 0) elementwise.</summary>
  public int Relu(int input) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_relu(Native, input, out int node));
      return node;
    }
  }

  /// <summary>GELU elementwise.</summary>
  public int Gelu(int input) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_gelu(Native, input, out int node));
      return node;
    }
  }

  /// <summary>tanh elementwise.</summary>
  public int Tanh(int input) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_tanh(Native, input, out int node));
      return node;
    }
  }

  /// <summary>The logistic sigmoid elementwise.</summary>
  public int Sigmoid(int input) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_sigmoid(Native, input, out int node));
      return node;
    }
  }

  /// <summary>Drops each element with <paramref name="probability"/> in training (scaling the rest);
  /// the identity in evaluation and prediction.</summary>
  public int Dropout(int input, double probability) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_dropout(Native, input, probability, out int node));
      return node;
    }
  }

  /// <summary>Drops whole channels of [channels, height, width] samples with
  /// <paramref name="probability"/> in training (PyTorch's Dropout2d).</summary>
  public int Dropout2d(int input, double probability) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_dropout2d(Native, input, probability, out int node));
      return node;
    }
  }

  /// <summary>Flattens each sample to one dimension.</summary>
  public int Flatten(int input) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_flatten(Native, input, out int node));
      return node;
    }
  }

  /// <summary>Elementwise a + b; the shapes must be equal.</summary>
  public int Add(int a, int b) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_add(Native, a, b, out int node));
      return node;
    }
  }

  /// <summary>Reshapes each sample (same element count), e.g. [28, 28] to [1, 28, 28].</summary>
  public int Reshape(int input, params long[] shape) {
    Interop.NotNull(shape, nameof(shape));
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_reshape(Native, input, shape.Length, shape, out int node));
      return node;
    }
  }

  /// <summary>2-D convolution over [channels, height, width] with a square kernel, as PyTorch's
  /// Conv2d: weight [outChannels, in / groups, kernel, kernel], bias [outChannels].</summary>
  public int Conv2d(int input, long outChannels, long kernel, long stride = 1, long padding = 0, long dilation = 1,
                    long groups = 1, bool bias = true) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_conv2d(Native, input, outChannels, kernel, stride, padding, dilation, groups,
                                             bias ? 1 : 0, out int node));
      return node;
    }
  }

  /// <summary>Max pooling over [channels, height, width]; padding at most kernel / 2.</summary>
  public int MaxPool2d(int input, long kernel, long stride, long padding = 0) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_max_pool2d(Native, input, kernel, stride, padding, out int node));
      return node;
    }
  }

  /// <summary>Average pooling over [channels, height, width]; padding at most kernel / 2.</summary>
  public int AvgPool2d(int input, long kernel, long stride, long padding = 0) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_avg_pool2d(Native, input, kernel, stride, padding, out int node));
      return node;
    }
  }

  /// <summary>[channels, height, width] to [channels]: the mean of each plane.</summary>
  public int GlobalAvgPool(int input) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_global_avg_pool(Native, input, out int node));
      return node;
    }
  }

  /// <summary>Batch normalization per channel, as PyTorch's BatchNorm1d/2d (running statistics
  /// updated with <paramref name="momentum"/> in training, used in evaluation).</summary>
  public int BatchNorm(int input, double eps = 1e-5, double momentum = 0.1) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_batch_norm(Native, input, eps, momentum, out int node));
      return node;
    }
  }

  /// <summary>Layer normalization over the last <paramref name="axes"/> axes of each sample, with
  /// learned weight and bias of that shape.</summary>
  public int LayerNorm(int input, int axes = 1, double eps = 1e-5) {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_layer_norm(Native, input, axes, eps, out int node));
      return node;
    }
  }

  /// <summary>Marks the node the loss and predictions read, under <paramref name="name"/>.</summary>
  /// <returns>This model.</returns>
  public Model Output(int node, string name) {
    Interop.NotNull(name, nameof(name));
    using (Lease()) Interop.Check(TrainKitC.tk_model_output(Native, node, name));
    return this;
  }

  /// <summary>Another named output beside the loss's: PredictOutputs reads it too.</summary>
  /// <returns>This model.</returns>
  public Model AddOutput(int node, string name) {
    Interop.NotNull(name, nameof(name));
    using (Lease()) Interop.Check(TrainKitC.tk_model_add_output(Native, node, name));
    return this;
  }

  /// <summary>Renames a node (names are unique; ops are "&lt;type&gt;_&lt;id&gt;" by default).</summary>
  public void SetNodeName(int node, string name) {
    Interop.NotNull(name, nameof(name));
    using (Lease()) Interop.Check(TrainKitC.tk_model_set_node_name(Native, node, name));
  }

  /// <summary>Multi-head attention over <paramref name="query"/> [seq, width] as ordinary nodes:
  /// projections "&lt;name&gt;.query", ".key" and ".value" (keys and values of
  /// <paramref name="context"/>, the query itself when it is -1), the attention op
  /// "&lt;name&gt;.heads" (masked by <paramref name="mask"/> unless it is -1; keepMask: 1 attends,
  /// 0 hides) and the output projection "&lt;name&gt;.out", whose node it returns.</summary>
  public int MultiHeadAttention(int query, long heads, int context = -1, int mask = -1, bool causal = false,
                                bool keepMask = false, string name = "") {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_multi_head_attention(Native, query, context < 0 ? query : context, mask, heads,
                                                            causal ? 1 : 0, keepMask ? 1 : 0, name ?? "", out int node));
      return node;
    }
  }

  /// <summary>Weight tying: the node's parameter <paramref name="param"/> becomes the tensor of
  /// the earlier node <paramref name="source"/>'s <paramref name="sourceParam"/> (same shape; one
  /// tensor named after the source, whose gradient sums both uses).</summary>
  public void ShareParameter(int node, string param, int source, string sourceParam) {
    Interop.NotNull(param, nameof(param));
    Interop.NotNull(sourceParam, nameof(sourceParam));
    using (Lease()) Interop.Check(TrainKitC.tk_model_share_parameter(Native, node, param, source, sourceParam));
  }

  /// <summary>The node's name.</summary>
  public string NodeName(int node) {
    using (Lease()) return Interop.Name(buffer => TrainKitC.tk_model_node_name(Native, node, buffer, (ulong)buffer.Length));
  }

  /// <summary>The node's per-sample shape.</summary>
  public long[] NodeShape(int node) {
    var extents = new long[TrainKitC.TK_MAX_RANK];
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_node_shape(Native, node, out int rank, extents));
      return Interop.Shape(rank, extents);
    }
  }

  /// <summary>Scalar parameters of the model's nodes.</summary>
  public long NumParameters() {
    using (Lease()) {
      Interop.Check(TrainKitC.tk_model_num_parameters(Native, out long count));
      return count;
    }
  }
}

}  // namespace TrainKit

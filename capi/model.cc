// tk_model_*: building the DAG.
#include <vector>

#include "capi/handles.h"
#include "core/ops/ops.h"

using tk::capi::guarded;
using tk::capi::require;

namespace {

// Adds an op over inputs and writes the new node id. Everything that may
// allocate (the op, the input list) happens inside guarded.
template <typename MakeOp>
tk_status add_node(tk_model* model, const MakeOp& make_op, tk_node a, tk_node b, int count, tk_node* out_node) {
  return guarded([&] {
    require(model, "model");
    require(out_node, "out_node");
    std::vector<int> inputs = {a};
    if (count == 2) inputs.push_back(b);
    *out_node = model->graph.add(make_op(), inputs);
  });
}

bool valid_init(tk_init init) { return init >= TK_INIT_HE_UNIFORM && init <= TK_INIT_ZEROS; }

tk::Init to_init(tk_init init) {
  switch (init) {
    case TK_INIT_HE_UNIFORM: return tk::Init::kHeUniform;
    case TK_INIT_HE_NORMAL: return tk::Init::kHeNormal;
    case TK_INIT_XAVIER_UNIFORM: return tk::Init::kXavierUniform;
    case TK_INIT_XAVIER_NORMAL: return tk::Init::kXavierNormal;
    case TK_INIT_ZEROS: return tk::Init::kZeros;
  }
  return tk::Init::kHeUniform;
}

}  // namespace

extern "C" {

TK_API tk_status tk_model_create(tk_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = new tk_model();
  });
}

TK_API void tk_model_destroy(tk_model* model) { delete model; }

TK_API tk_status tk_model_input(tk_model* model, const char* name, int32_t rank,
                                const int64_t* shape, tk_node* out_node) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    require(shape, "shape");
    require(out_node, "out_node");
    // The batch adds one dimension, and views hold at most TK_MAX_RANK.
    if (rank < 1 || rank > TK_MAX_RANK - 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "input rank must be in [1, ", TK_MAX_RANK - 1, "], got ", rank);
    *out_node = model->graph.add_input(name, tk::Shape(shape, shape + rank));
  });
}

TK_API tk_status tk_model_linear(tk_model* model, tk_node input, int64_t units, tk_node* out_node) {
  return tk_model_linear_ex(model, input, units, 1, TK_INIT_HE_UNIFORM, out_node);
}

TK_API tk_status tk_model_linear_ex(tk_model* model, tk_node input, int64_t units, int32_t bias,
                                    tk_init weight_init, tk_node* out_node) {
  return add_node(model, [&] {
    if (bias != 0 && bias != 1) tk::fail(tk::ErrorCode::kInvalidArgument, "bias must be 0 or 1, got ", bias);
    if (!valid_init(weight_init)) tk::fail(tk::ErrorCode::kInvalidArgument, "unknown weight init ", static_cast<int>(weight_init));
    return tk::make_linear(units, bias == 1, to_init(weight_init));
  }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_relu(tk_model* model, tk_node input, tk_node* out_node) {
  return add_node(model, [] { return tk::make_activation(tk::Activation::kRelu); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_gelu(tk_model* model, tk_node input, tk_node* out_node) {
  return add_node(model, [] { return tk::make_activation(tk::Activation::kGelu); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_tanh(tk_model* model, tk_node input, tk_node* out_node) {
  return add_node(model, [] { return tk::make_activation(tk::Activation::kTanh); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_sigmoid(tk_model* model, tk_node input, tk_node* out_node) {
  return add_node(model, [] { return tk::make_activation(tk::Activation::kSigmoid); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_dropout(tk_model* model, tk_node input, double probability, tk_node* out_node) {
  return add_node(model, [&] { return tk::make_dropout(probability); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_flatten(tk_model* model, tk_node input, tk_node* out_node) {
  return add_node(model, [] { return tk::make_flatten(); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_add(tk_model* model, tk_node a, tk_node b, tk_node* out_node) {
  return add_node(model, [] { return tk::make_add(); }, a, b, 2, out_node);
}

TK_API tk_status tk_model_reshape(tk_model* model, tk_node input, int32_t rank, const int64_t* shape,
                                  tk_node* out_node) {
  return add_node(model, [&] {
    tk::capi::require(shape, "shape");
    if (rank < 1 || rank > TK_MAX_RANK - 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "reshape rank must be in [1, ", TK_MAX_RANK - 1, "], got ", rank);
    return tk::make_reshape(tk::Shape(shape, shape + rank));
  }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_conv2d(tk_model* model, tk_node input, int64_t out_channels, int64_t kernel, int64_t stride,
                                 int64_t padding, int64_t dilation, int64_t groups, int32_t bias, tk_node* out_node) {
  return add_node(model, [&] {
    if (bias != 0 && bias != 1) tk::fail(tk::ErrorCode::kInvalidArgument, "bias must be 0 or 1, got ", bias);
    return tk::make_conv2d(out_channels, kernel, stride, padding, dilation, groups, bias == 1, tk::Init::kHeUniform);
  }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_max_pool2d(tk_model* model, tk_node input, int64_t kernel, int64_t stride, int64_t padding,
                                     tk_node* out_node) {
  return add_node(model, [&] { return tk::make_max_pool2d(kernel, stride, padding); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_avg_pool2d(tk_model* model, tk_node input, int64_t kernel, int64_t stride, int64_t padding,
                                     tk_node* out_node) {
  return add_node(model, [&] { return tk::make_avg_pool2d(kernel, stride, padding); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_global_avg_pool(tk_model* model, tk_node input, tk_node* out_node) {
  return add_node(model, [] { return tk::make_global_avg_pool(); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_batch_norm(tk_model* model, tk_node input, double eps, double momentum,
                                     tk_node* out_node) {
  return add_node(model, [&] { return tk::make_batch_norm(eps, momentum); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_layer_norm(tk_model* model, tk_node input, int32_t axes, double eps, tk_node* out_node) {
  return add_node(model, [&] { return tk::make_layer_norm(axes, eps); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_dropout2d(tk_model* model, tk_node input, double probability, tk_node* out_node) {
  return add_node(model, [&] { return tk::make_dropout2d(probability); }, input, 0, 1, out_node);
}

TK_API tk_status tk_model_output(tk_model* model, tk_node node, const char* name) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    model->graph.set_output(node, name);
  });
}

TK_API tk_status tk_model_set_node_name(tk_model* model, tk_node node, const char* name) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    model->graph.rename(node, name);
  });
}

TK_API tk_status tk_model_node_name(const tk_model* model, tk_node node, char* buffer, size_t capacity) {
  return guarded([&] {
    require(model, "model");
    require(buffer, "buffer");
    tk::capi::copy_name(model->graph.node(node).name, buffer, capacity);
  });
}

TK_API tk_status tk_model_node_shape(const tk_model* model, tk_node node, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(model, "model");
    require(out_rank, "out_rank");
    require(out_shape, "out_shape");
    tk::capi::write_shape(model->graph.node(node).shape, out_rank, out_shape);
  });
}

TK_API tk_status tk_model_num_parameters(const tk_model* model, int64_t* out_count) {
  return guarded([&] {
    require(model, "model");
    require(out_count, "out_count");
    *out_count = model->graph.num_parameters();
  });
}

}  // extern "C"

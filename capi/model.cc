// tk_model_*: building the DAG.
#include <vector>

#include "capi/handles.h"

using tk::capi::enum_value;
using tk::capi::check_flag;
using tk::capi::guarded;
using tk::capi::require;

namespace {

using Attributes = std::vector<tk::Attribute>;

// Adds a registered op over inputs and writes the new node id: the one path
// that tk_model_op and every typed tk_model_* call take. check runs first and
// may refuse an argument that the C signature allows but the op does not.
template <typename Check>
tk_status add_op(tk_model* model, const char* type, const std::vector<tk_node>& inputs, const Check& check,
                 tk_node* out_node) {
  return guarded([&] {
    require(model, "model");
    require(out_node, "out_node");
    const Attributes attributes = check();
    *out_node = model->model.add_op(type, std::vector<int>(inputs.begin(), inputs.end()), attributes);
  });
}

tk_status add_op(tk_model* model, const char* type, const std::vector<tk_node>& inputs, tk_node* out_node) {
  return add_op(model, type, inputs, [] { return Attributes{}; }, out_node);
}

bool valid_init(int32_t init) { return init >= TK_INIT_HE_UNIFORM && init <= TK_INIT_ZEROS; }

// The registry's name of each C init ("init" attribute values, tk_op_catalog).
const char* init_name(int32_t init) {
  switch (init) {
    case TK_INIT_HE_UNIFORM: return "he_uniform";
    case TK_INIT_HE_NORMAL: return "he_normal";
    case TK_INIT_XAVIER_UNIFORM: return "xavier_uniform";
    case TK_INIT_XAVIER_NORMAL: return "xavier_normal";
    case TK_INIT_ZEROS: return "zeros";
  }
  return "he_uniform";
}

tk::Attribute integer(const char* name, int64_t value) { return {name, value}; }
tk::Attribute real(const char* name, double value) { return {name, value}; }
tk::Attribute boolean(const char* name, int32_t value) { return {name, value == 1}; }

}  // namespace

extern "C" {

TK_API tk_status tk_model_create(tk_model** out_model) {
  return guarded([&] {
    require(out_model, "out_model");
    *out_model = new tk_model();
  });
}

TK_API void tk_model_destroy(tk_model* model) { delete model; }

namespace {

tk_status add_input(tk_model* model, const char* name, int32_t rank, const int64_t* shape, bool indices,
                    tk_node* out_node) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    require(shape, "shape");
    require(out_node, "out_node");
    // The batch adds one dimension, and views hold at most TK_MAX_RANK.
    if (rank < 1 || rank > TK_MAX_RANK - 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "input rank must be in [1, ", TK_MAX_RANK - 1, "], got ", rank);
    *out_node = model->model.add_input(name, tk::Shape(shape, shape + rank), indices);
  });
}

}  // namespace

TK_API tk_status tk_model_input(tk_model* model, const char* name, int32_t rank,
                                const int64_t* shape, tk_node* out_node) {
  return add_input(model, name, rank, shape, false, out_node);
}

TK_API tk_status tk_model_input_indices(tk_model* model, const char* name, int32_t rank, const int64_t* shape,
                                        tk_node* out_node) {
  return add_input(model, name, rank, shape, true, out_node);
}

TK_API tk_status tk_model_linear(tk_model* model, tk_node input, int64_t units, tk_node* out_node) {
  return tk_model_linear_ex(model, input, units, 1, TK_INIT_HE_UNIFORM, out_node);
}

TK_API tk_status tk_model_linear_ex(tk_model* model, tk_node input, int64_t units, int32_t bias,
                                    tk_init weight_init, tk_node* out_node) {
  return add_op(model, "linear", {input}, [&] {
    check_flag(bias, "bias");
    if (!valid_init(enum_value(weight_init)))
      tk::fail(tk::ErrorCode::kInvalidArgument, "unknown weight init ", enum_value(weight_init));
    return Attributes{integer("units", units), boolean("bias", bias),
                      {"init", std::string(init_name(enum_value(weight_init)))}};
  }, out_node);
}

TK_API tk_status tk_model_relu(tk_model* model, tk_node input, tk_node* out_node) {
  return add_op(model, "relu", {input}, out_node);
}

TK_API tk_status tk_model_gelu(tk_model* model, tk_node input, tk_node* out_node) {
  return add_op(model, "gelu", {input}, out_node);
}

TK_API tk_status tk_model_tanh(tk_model* model, tk_node input, tk_node* out_node) {
  return add_op(model, "tanh", {input}, out_node);
}

TK_API tk_status tk_model_sigmoid(tk_model* model, tk_node input, tk_node* out_node) {
  return add_op(model, "sigmoid", {input}, out_node);
}

TK_API tk_status tk_model_dropout(tk_model* model, tk_node input, double probability, tk_node* out_node) {
  return add_op(model, "dropout", {input}, [&] { return Attributes{real("p", probability)}; }, out_node);
}

TK_API tk_status tk_model_flatten(tk_model* model, tk_node input, tk_node* out_node) {
  return add_op(model, "flatten", {input}, out_node);
}

TK_API tk_status tk_model_add(tk_model* model, tk_node a, tk_node b, tk_node* out_node) {
  return add_op(model, "add", {a, b}, out_node);
}

TK_API tk_status tk_model_reshape(tk_model* model, tk_node input, int32_t rank, const int64_t* shape,
                                  tk_node* out_node) {
  return add_op(model, "reshape", {input}, [&] {
    require(shape, "shape");
    if (rank < 1 || rank > TK_MAX_RANK - 1)
      tk::fail(tk::ErrorCode::kInvalidArgument, "reshape rank must be in [1, ", TK_MAX_RANK - 1, "], got ", rank);
    // The registry's form of a shape: "2,3,4".
    std::string extents;
    for (int32_t d = 0; d < rank; ++d) extents += (d ? "," : "") + std::to_string(shape[d]);
    return Attributes{{"shape", extents}};
  }, out_node);
}

TK_API tk_status tk_model_conv2d(tk_model* model, tk_node input, int64_t out_channels, int64_t kernel, int64_t stride,
                                 int64_t padding, int64_t dilation, int64_t groups, int32_t bias, tk_node* out_node) {
  return add_op(model, "conv2d", {input}, [&] {
    check_flag(bias, "bias");
    return Attributes{integer("out_channels", out_channels), integer("kernel", kernel), integer("stride", stride),
                      integer("padding", padding), integer("dilation", dilation), integer("groups", groups),
                      boolean("bias", bias)};
  }, out_node);
}

TK_API tk_status tk_model_max_pool2d(tk_model* model, tk_node input, int64_t kernel, int64_t stride, int64_t padding,
                                     tk_node* out_node) {
  return add_op(model, "max_pool2d", {input}, [&] {
    return Attributes{integer("kernel", kernel), integer("stride", stride), integer("padding", padding)};
  }, out_node);
}

TK_API tk_status tk_model_avg_pool2d(tk_model* model, tk_node input, int64_t kernel, int64_t stride, int64_t padding,
                                     tk_node* out_node) {
  return add_op(model, "avg_pool2d", {input}, [&] {
    return Attributes{integer("kernel", kernel), integer("stride", stride), integer("padding", padding)};
  }, out_node);
}

TK_API tk_status tk_model_global_avg_pool(tk_model* model, tk_node input, tk_node* out_node) {
  return add_op(model, "global_avg_pool", {input}, out_node);
}

TK_API tk_status tk_model_batch_norm(tk_model* model, tk_node input, double eps, double momentum,
                                     tk_node* out_node) {
  return add_op(model, "batch_norm", {input}, [&] { return Attributes{real("eps", eps), real("momentum", momentum)}; },
                out_node);
}

TK_API tk_status tk_model_layer_norm(tk_model* model, tk_node input, int32_t axes, double eps, tk_node* out_node) {
  return add_op(model, "layer_norm", {input}, [&] { return Attributes{integer("axes", axes), real("eps", eps)}; },
                out_node);
}

TK_API tk_status tk_model_dropout2d(tk_model* model, tk_node input, double probability, tk_node* out_node) {
  return add_op(model, "dropout2d", {input}, [&] { return Attributes{real("p", probability)}; }, out_node);
}

TK_API tk_status tk_model_op(tk_model* model, const char* op_name, const tk_node* inputs, size_t n_inputs,
                             const char* attributes_json, tk_node* out_node) {
  return guarded([&] {
    require(model, "model");
    require(op_name, "op_name");
    require(out_node, "out_node");
    if (n_inputs > 0) require(inputs, "inputs");
    const std::vector<int> nodes(inputs, inputs + n_inputs);
    *out_node = model->model.add_op(op_name, nodes, attributes_json ? attributes_json : "");
  });
}

TK_API tk_status tk_model_output(tk_model* model, tk_node node, const char* name) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    model->model.set_output(node, name);
  });
}

TK_API tk_status tk_model_add_output(tk_model* model, tk_node node, const char* name) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    model->model.add_output(node, name);
  });
}

TK_API tk_status tk_model_set_node_name(tk_model* model, tk_node node, const char* name) {
  return guarded([&] {
    require(model, "model");
    require(name, "name");
    model->model.rename(node, name);
  });
}

TK_API tk_status tk_model_multi_head_attention(tk_model* model, tk_node query, tk_node context, tk_node mask,
                                               int64_t heads, int32_t causal, int32_t keep_mask, const char* name,
                                               tk_node* out_node) {
  return guarded([&] {
    require(model, "model");
    require(out_node, "out_node");
    check_flag(causal, "causal");
    check_flag(keep_mask, "keep_mask");
    *out_node = model->model.add_multi_head_attention(query, context, mask, heads, causal != 0, keep_mask != 0,
                                                      name ? name : "");
  });
}

TK_API tk_status tk_model_share_parameter(tk_model* model, tk_node node, const char* param, tk_node source,
                                          const char* source_param) {
  return guarded([&] {
    require(model, "model");
    require(param, "param");
    require(source_param, "source_param");
    model->model.share_param(node, param, source, source_param);
  });
}

TK_API tk_status tk_model_node_name(const tk_model* model, tk_node node, char* buffer, size_t capacity) {
  return guarded([&] {
    require(model, "model");
    require(buffer, "buffer");
    tk::capi::copy_name(model->model.node_name(node), buffer, capacity);
  });
}

TK_API tk_status tk_model_node_shape(const tk_model* model, tk_node node, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(model, "model");
    require(out_rank, "out_rank");
    require(out_shape, "out_shape");
    tk::capi::write_shape(model->model.node_shape(node), out_rank, out_shape);
  });
}

TK_API tk_status tk_model_num_parameters(const tk_model* model, int64_t* out_count) {
  return guarded([&] {
    require(model, "model");
    require(out_count, "out_count");
    *out_count = model->model.num_parameters();
  });
}

}  // extern "C"

// Factories for every op; each is defined in the op's own file.
#pragma once

#include <cstdint>

#include "core/backend/backend.h"
#include "core/ops/activation/activation_kernels.h"
#include "core/ops/op.h"

namespace tk {

OpPtr make_linear(int64_t units, bool bias, Init weight_init);  // linear.cc
OpPtr make_activation(Activation activation);                   // activation.cc
OpPtr make_dropout(double probability);                          // dropout.cc
OpPtr make_dropout2d(double probability);  // dropout.cc: whole channels of [C, ...] samples
OpPtr make_flatten();                                            // flatten.cc
OpPtr make_add();                                                // add.cc
OpPtr make_reshape(const Shape& shape);                          // reshape.cc
// Conv2d over [channels, height, width]: square kernel, PyTorch semantics.
// images_per_product: images whose columns share one matrix product (0: automatic).
OpPtr make_conv2d(int64_t out_channels, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                  int64_t groups, bool bias, Init weight_init, int64_t images_per_product = 0);  // conv2d.cc
OpPtr make_max_pool2d(int64_t kernel, int64_t stride, int64_t padding);  // pool2d.cc
OpPtr make_avg_pool2d(int64_t kernel, int64_t stride, int64_t padding);  // pool2d.cc
OpPtr make_global_avg_pool();                                    // global_avg_pool.cc
OpPtr make_batch_norm(double eps, double momentum);  // batch_norm.cc: per channel of [C, ...]
OpPtr make_layer_norm(int64_t axes, double eps);     // layer_norm.cc: over the last `axes` axes
// Rows of a [vocab, dim] table picked by int32 indices; padding_index -1: none.
OpPtr make_embedding(int64_t vocab, int64_t dim, int64_t padding_index);  // embedding.cc
OpPtr make_learned_positions(int64_t max_length);                         // positions.cc
OpPtr make_sinusoidal_positions();                                        // positions.cc
OpPtr make_l2_normalize(double eps);  // l2_normalize.cc: unit rows over the last axis
OpPtr make_concat(int64_t axis);       // concat.cc: two tensors along a per-sample axis
OpPtr make_slice(int64_t axis, int64_t start, int64_t length);  // slice.cc: a window of one axis
OpPtr make_mean_pool(bool masked);  // sequence_mean.cc: [seq, dim] -> [dim], masked by [seq]
OpPtr make_cls_pool();              // cls_pool.cc: [seq, ...] -> [...], the first token
// a [..., m, k] times b [..., k, n] (or b^T of [..., n, k]) per sample and leading index.
OpPtr make_matmul(bool transpose_b);  // matmul.cc
OpPtr make_softmax(bool log);  // softmax.cc: softmax or log_softmax over the last axis
// softmax(scale q k^T (+ mask)) v per head; scale 0: 1 / sqrt(head_dim);
// keep_mask: the mask is 1 (attend) / 0 (padding) instead of additive.
OpPtr make_attention(int64_t heads, bool causal, double scale, bool masked, bool keep_mask = false);  // attention.cc

// Rebuilds an op from its type and attributes (as Op::attributes() gives
// them); throws kInvalidArgument naming an unknown type or a bad attribute.
OpPtr make_op(const std::string& type, const std::vector<Attribute>& attributes);  // registry.cc
const char* init_name(Init init);
Init init_from_name(const std::string& name);  // throws kInvalidArgument

}  // namespace tk

// tk_predictor_*: inference-only handles, safe for concurrent calls.
#include "capi/handles.h"
#include "core/api/checkpoint.h"

using tk::capi::check_flag;
using tk::capi::guarded;
using tk::capi::require;
using tk::capi::to_host_view;

extern "C" {

TK_API tk_status tk_predictor_create(const tk_trainer* trainer, int32_t threads, tk_predictor** out_predictor) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_predictor, "out_predictor");
    auto handle = std::make_unique<tk_predictor>();
    handle->predictor = std::make_unique<tk::Predictor>(*trainer->trainer, threads);
    *out_predictor = handle.release();
  });
}

TK_API tk_status tk_predictor_load(const tk_model* model, tk_loss loss, const char* weights_path, int32_t threads,
                                   tk_predictor** out_predictor) {
  return guarded([&] {
    require(model, "model");
    require(weights_path, "weights_path");
    require(out_predictor, "out_predictor");
    // The file is read and checked by a plain CPU trainer (SGD: no moments),
    // which is gone once the predictor has copied the weights.
    tk::TrainerConfig config;
    config.loss = tk::capi::loss_kind(loss);
    config.device = tk::kDeviceCpu;
    config.threads = threads;
    tk::Trainer reader(model->model.graph(), config);
    tk::import_weights(reader, weights_path);
    auto handle = std::make_unique<tk_predictor>();
    handle->predictor = std::make_unique<tk::Predictor>(reader, threads);
    *out_predictor = handle.release();
  });
}

TK_API void tk_predictor_destroy(tk_predictor* predictor) { delete predictor; }

TK_API tk_status tk_predictor_predict(tk_predictor* predictor, const tk_tensor_view* inputs, int32_t probabilities,
                                      tk_tensor_view* outputs) {
  return guarded([&] {
    require(predictor, "predictor");
    check_flag(probabilities, "probabilities");
    predictor->predictor->predict(to_host_view(inputs, "inputs"), probabilities == 1, to_host_view(outputs, "outputs"));
  });
}

TK_API tk_status tk_predictor_predict_inputs(tk_predictor* predictor, int32_t input_count,
                                             const tk_tensor_view* inputs, int32_t probabilities,
                                             tk_tensor_view* outputs) {
  return guarded([&] {
    require(predictor, "predictor");
    check_flag(probabilities, "probabilities");
    predictor->predictor->predict(tk::capi::to_input_views(input_count, inputs), probabilities == 1,
                                  to_host_view(outputs, "outputs"));
  });
}

TK_API tk_status tk_predictor_output_shape(const tk_predictor* predictor, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(predictor, "predictor");
    require(out_rank, "out_rank");
    require(out_shape, "out_shape");
    tk::capi::write_shape(predictor->predictor->output_shape(), out_rank, out_shape);
  });
}

TK_API tk_status tk_predictor_input_count(const tk_predictor* predictor, int32_t* out_count) {
  return guarded([&] {
    require(predictor, "predictor");
    require(out_count, "out_count");
    *out_count = static_cast<int32_t>(predictor->predictor->graph().input_nodes().size());
  });
}

TK_API tk_status tk_predictor_input_info(const tk_predictor* predictor, int32_t index, char* name, size_t capacity,
                                         int32_t* out_indices, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(predictor, "predictor");
    tk::capi::write_input_info(predictor->predictor->graph(), index, name, capacity, out_indices, out_rank,
                               out_shape);
  });
}

TK_API tk_status tk_predictor_predict_outputs(tk_predictor* predictor, int32_t input_count,
                                              const tk_tensor_view* inputs, int32_t probabilities,
                                              int32_t output_count, tk_tensor_view* outputs) {
  return guarded([&] {
    require(predictor, "predictor");
    check_flag(probabilities, "probabilities");
    predictor->predictor->predict_outputs(tk::capi::to_input_views(input_count, inputs), probabilities == 1,
                                          tk::capi::to_output_views(output_count, outputs));
  });
}

TK_API tk_status tk_predictor_output_count(const tk_predictor* predictor, int32_t* out_count) {
  return guarded([&] {
    require(predictor, "predictor");
    require(out_count, "out_count");
    *out_count = static_cast<int32_t>(predictor->predictor->graph().output_count());
  });
}

TK_API tk_status tk_predictor_output_info(const tk_predictor* predictor, int32_t index, char* name, size_t capacity,
                                          int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(predictor, "predictor");
    tk::capi::write_output_info(predictor->predictor->graph(), index, name, capacity, out_rank, out_shape);
  });
}

TK_API tk_status tk_predictor_memory(const tk_predictor* predictor, int64_t* out_bytes) {
  return guarded([&] {
    require(predictor, "predictor");
    require(out_bytes, "out_bytes");
    *out_bytes = static_cast<int64_t>(predictor->predictor->bytes());
  });
}

}  // extern "C"

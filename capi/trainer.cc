// tk_trainer_*: create, step, evaluate, predict, and read or write parameters.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>

#include <cstdio>
#include <string>
#include <vector>

#include "capi/handles.h"
#include "core/api/devices.h"
#include "core/api/replica_fanout.h"

using tk::capi::enum_value;
using tk::capi::check_flag;
using tk::capi::guarded;
using tk::capi::require;
using tk::capi::to_host_view;
using tk::capi::to_input_views;

extern "C" {

TK_API tk_status tk_trainer_create(const tk_model* model, tk_loss loss, const tk_trainer_options* options,
                                   tk_trainer** out_trainer) {
  return guarded([&] {
    require(model, "model");
    require(out_trainer, "out_trainer");
    tk::TrainerConfig config = options ? options->config : tk::TrainerConfig{};
    config.loss = tk::capi::loss_kind(loss);
    auto handle = std::make_unique<tk_trainer>();
    handle->session = std::make_unique<tk::TrainingGroup>(model->model, config,
                                                          options ? options->distributed : tk::DistributedOptions{});
    handle->group = &handle->session->replicas();
    handle->trainer = &handle->session->primary();
    *out_trainer = handle.release();
  });
}

TK_API void tk_trainer_destroy(tk_trainer* trainer) { delete trainer; }

TK_API tk_status tk_trainer_step(tk_trainer* trainer, const tk_tensor_view* inputs,
                                 const tk_tensor_view* targets, float* out_loss) {
  return guarded([&] {
    require(trainer, "trainer");
    tk::HostView in = to_host_view(inputs, "inputs");
    tk::HostView target = to_host_view(targets, "targets");
    tk::StepResult result = trainer->group->step(in, target);
    if (out_loss) *out_loss = static_cast<float>(result.loss);
  });
}

namespace {

// Checks the caller's struct_size and fills the fields that fit.
void write_report(const tk::StepResult& result, int64_t optimizer_steps, tk_step_report* out_report) {
  tk_step_report report;
  std::memset(&report, 0, sizeof(report));
  report.applied = result.applied;
  report.skipped = result.skipped;
  report.loss = static_cast<float>(result.loss);
  report.loss_scale = result.loss_scale;
  report.learning_rate = result.learning_rate;
  report.grad_norm = result.grad_norm;
  report.step = optimizer_steps;
  tk::capi::write_sized(report, out_report);
}

void require_report_size(const tk_step_report* out_report) {
  if (out_report->struct_size < offsetof(tk_step_report, loss) + sizeof(float))
    tk::fail(tk::ErrorCode::kInvalidArgument, "set out_report->struct_size to sizeof(tk_step_report) (got ",
             out_report->struct_size, ")");
}

}  // namespace

TK_API tk_status tk_trainer_step_report(tk_trainer* trainer, const tk_tensor_view* inputs,
                                        const tk_tensor_view* targets, tk_step_report* out_report) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_report, "out_report");
    require_report_size(out_report);
    tk::HostView in = to_host_view(inputs, "inputs");
    tk::HostView target = to_host_view(targets, "targets");
    tk::StepResult result = trainer->group->step(in, target);
    write_report(result, trainer->trainer->optimizer_steps(), out_report);
  });
}

TK_API tk_status tk_trainer_step_async(tk_trainer* trainer, const tk_tensor_view* inputs,
                                       const tk_tensor_view* targets) {
  return guarded([&] {
    require(trainer, "trainer");
    tk::HostView in = to_host_view(inputs, "inputs");
    tk::HostView target = to_host_view(targets, "targets");
    trainer->group->step_async(in, target);
  });
}

TK_API tk_status tk_trainer_wait(tk_trainer* trainer, tk_step_report* out_report) {
  return guarded([&] {
    require(trainer, "trainer");
    if (out_report) require_report_size(out_report);
    tk::StepResult result = trainer->group->wait();
    if (out_report) write_report(result, trainer->trainer->optimizer_steps(), out_report);
  });
}

TK_API tk_status tk_trainer_step_inputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                        const tk_tensor_view* targets, tk_step_report* out_report) {
  return guarded([&] {
    require(trainer, "trainer");
    if (out_report) require_report_size(out_report);
    const tk::InputViews in = to_input_views(input_count, inputs);
    tk::HostView target = to_host_view(targets, "targets");
    tk::StepResult result = trainer->group->step(in, target);
    if (out_report) write_report(result, trainer->trainer->optimizer_steps(), out_report);
  });
}

TK_API tk_status tk_trainer_evaluate_inputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                            const tk_tensor_view* targets, double* out_loss, double* out_accuracy) {
  return guarded([&] {
    require(trainer, "trainer");
    tk::Evaluation result =
        trainer->trainer->evaluate(to_input_views(input_count, inputs), to_host_view(targets, "targets"));
    if (out_loss) *out_loss = result.loss;
    if (out_accuracy) *out_accuracy = result.accuracy;
  });
}

TK_API tk_status tk_trainer_predict_inputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                           int32_t probabilities, tk_tensor_view* outputs) {
  return guarded([&] {
    require(trainer, "trainer");
    check_flag(probabilities, "probabilities");
    trainer->trainer->predict(to_input_views(input_count, inputs), probabilities == 1,
                              to_host_view(outputs, "outputs"));
  });
}

TK_API tk_status tk_trainer_predict_outputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                            int32_t probabilities, int32_t output_count, tk_tensor_view* outputs) {
  return guarded([&] {
    require(trainer, "trainer");
    check_flag(probabilities, "probabilities");
    trainer->trainer->predict_outputs(to_input_views(input_count, inputs), probabilities == 1,
                                      tk::capi::to_output_views(output_count, outputs));
  });
}

TK_API tk_status tk_trainer_output_count(const tk_trainer* trainer, int32_t* out_count) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_count, "out_count");
    *out_count = static_cast<int32_t>(trainer->trainer->plan().graph().output_count());
  });
}

TK_API tk_status tk_trainer_output_info(const tk_trainer* trainer, int32_t index, char* name, size_t capacity,
                                        int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(trainer, "trainer");
    tk::capi::write_output_info(trainer->trainer->plan().graph(), index, name, capacity, out_rank, out_shape);
  });
}

TK_API tk_status tk_trainer_input_count(const tk_trainer* trainer, int32_t* out_count) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_count, "out_count");
    *out_count = static_cast<int32_t>(trainer->trainer->plan().inputs().size());
  });
}

TK_API tk_status tk_trainer_input_info(const tk_trainer* trainer, int32_t index, char* name, size_t capacity,
                                       int32_t* out_indices, int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(trainer, "trainer");
    // The model as built: the plan's own (fused) graph numbers its nodes otherwise.
    tk::capi::write_input_info(trainer->trainer->plan().graph(), index, name, capacity, out_indices, out_rank,
                               out_shape);
  });
}

TK_API tk_status tk_trainer_loss_scale(const tk_trainer* trainer, double* out_scale, int64_t* out_growth_tracker,
                                       int64_t* out_skipped) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_scale, "out_scale");
    require(out_growth_tracker, "out_growth_tracker");
    require(out_skipped, "out_skipped");
    *out_scale = trainer->trainer->loss_scaler().scale();
    *out_growth_tracker = trainer->trainer->loss_scaler().growth_tracker();
    *out_skipped = trainer->trainer->skipped_steps();
  });
}

TK_API tk_status tk_trainer_evaluate(tk_trainer* trainer, const tk_tensor_view* inputs,
                                     const tk_tensor_view* targets, double* out_loss, double* out_accuracy) {
  return guarded([&] {
    require(trainer, "trainer");
    tk::Evaluation result =
        trainer->trainer->evaluate(to_host_view(inputs, "inputs"), to_host_view(targets, "targets"));
    if (out_loss) *out_loss = result.loss;
    if (out_accuracy) *out_accuracy = result.accuracy;
  });
}

TK_API tk_status tk_trainer_predict(tk_trainer* trainer, const tk_tensor_view* inputs, int32_t probabilities,
                                    tk_tensor_view* outputs) {
  return guarded([&] {
    require(trainer, "trainer");
    check_flag(probabilities, "probabilities");
    trainer->trainer->predict(to_host_view(inputs, "inputs"), probabilities == 1, to_host_view(outputs, "outputs"));
  });
}

TK_API tk_status tk_trainer_step_count(const tk_trainer* trainer, int64_t* out_optimizer_steps) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_optimizer_steps, "out_optimizer_steps");
    *out_optimizer_steps = trainer->trainer->optimizer_steps();
  });
}

TK_API tk_status tk_trainer_world(const tk_trainer* trainer, int32_t* out_rank, int32_t* out_size) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_rank, "out_rank");
    require(out_size, "out_size");
    *out_rank = trainer->session->rank();
    *out_size = trainer->session->world_size();
  });
}

TK_API tk_status tk_trainer_skipped_steps(const tk_trainer* trainer, int64_t* out_skipped) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_skipped, "out_skipped");
    *out_skipped = trainer->trainer->skipped_steps();
  });
}

TK_API tk_status tk_trainer_learning_rate(const tk_trainer* trainer, double* out_learning_rate) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_learning_rate, "out_learning_rate");
    *out_learning_rate = trainer->trainer->current_learning_rate();
  });
}

TK_API tk_status tk_trainer_last_grad_norm(const tk_trainer* trainer, double* out_norm) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_norm, "out_norm");
    *out_norm = trainer->trainer->last_grad_norm();
  });
}

TK_API tk_status tk_trainer_num_parameter_tensors(const tk_trainer* trainer, int32_t* out_count) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_count, "out_count");
    *out_count = static_cast<int32_t>(trainer->trainer->plan().params().size());
  });
}

TK_API tk_status tk_trainer_parameter_info(const tk_trainer* trainer, int32_t index, char* name, size_t capacity,
                                           int32_t* out_rank, int64_t* out_shape) {
  return guarded([&] {
    require(trainer, "trainer");
    const tk::ParamTensor& p = trainer->trainer->plan().param(index);
    if (out_rank || out_shape) {
      require(out_rank, "out_rank");
      require(out_shape, "out_shape");
    }
    if (name && capacity == 0) tk::fail(tk::ErrorCode::kInvalidArgument, "the name buffer has capacity 0");
    // Every check is done: only now are out-params written.
    if (name) tk::capi::copy_name(p.name, name, capacity);
    if (out_rank) tk::capi::write_shape(p.spec.shape, out_rank, out_shape);
  });
}

TK_API tk_status tk_trainer_get_parameter(const tk_trainer* trainer, int32_t index, tk_tensor_view* out) {
  return guarded([&] {
    require(trainer, "trainer");
    trainer->trainer->plan().param(index);
    trainer->trainer->get_parameter(index, to_host_view(out, "out"));
  });
}

TK_API tk_status tk_trainer_set_parameter(tk_trainer* trainer, int32_t index, const tk_tensor_view* values) {
  return guarded([&] {
    require(trainer, "trainer");
    trainer->trainer->plan().param(index);
    tk::set_parameter_on_all(*trainer->group, index, to_host_view(values, "values"));
  });
}

TK_API tk_status tk_trainer_device_name(const tk_trainer* trainer, char* buffer, size_t capacity) {
  return guarded([&] {
    require(trainer, "trainer");
    require(buffer, "buffer");
    if (capacity == 0) tk::fail(tk::ErrorCode::kInvalidArgument, "the buffer has no room");
    std::snprintf(buffer, capacity, "%s", trainer->trainer->backend().name());
  });
}

TK_API tk_status tk_gpu_count(int32_t* out_count, char* reason, size_t capacity) {
  return guarded([&] {
    require(out_count, "out_count");
    std::string why;
    const size_t count = tk::usable_gpus(&why).size();
    if (reason && capacity > 0) std::snprintf(reason, capacity, "%s", count ? "" : why.c_str());
    *out_count = static_cast<int32_t>(count);
  });
}

TK_API tk_status tk_gpu_info_get(int32_t index, tk_gpu_info* out_info) {
  return guarded([&] {
    require(out_info, "out_info");
    if (out_info->struct_size < sizeof(tk_gpu_info))
      tk::fail(tk::ErrorCode::kInvalidArgument, "set struct_size to sizeof(tk_gpu_info) (", sizeof(tk_gpu_info),
               "), got ", out_info->struct_size);
    std::string why;
    const std::vector<tk::GpuInfo> devices = tk::usable_gpus(&why);
    if (index < 0 || index >= static_cast<int32_t>(devices.size()))
      tk::fail(tk::ErrorCode::kInvalidArgument, "GPU ", index, " does not exist (", devices.size(), " present",
               devices.empty() ? ": " + why : std::string(), ")");
    const tk::GpuInfo& d = devices[index];
    std::snprintf(out_info->name, sizeof out_info->name, "%s", d.name.c_str());
    out_info->memory_bytes = d.memory_bytes;
    out_info->compute_major = d.compute_major;
    out_info->compute_minor = d.compute_minor;
  });
}

TK_API tk_status tk_trainer_num_parameters(const tk_trainer* trainer, int64_t* out_count) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out_count, "out_count");
    *out_count = trainer->trainer->plan().param_elements();
  });
}

TK_API tk_status tk_trainer_copy_parameters(const tk_trainer* trainer, float* out, int64_t count) {
  return guarded([&] {
    require(trainer, "trainer");
    require(out, "out");
    const auto& params = trainer->trainer->plan().params();
    const int64_t total = trainer->trainer->plan().param_elements();
    if (count != total)
      tk::fail(tk::ErrorCode::kShapeMismatch, "the model has ", total, " parameters, the buffer holds ", count);
    int64_t offset = 0;
    for (size_t i = 0; i < params.size(); ++i) {
      trainer->trainer->get_parameter(i, {out + offset, tk::DType::kF32, params[i].spec.shape, {}});
      offset += params[i].count;
    }
  });
}

}  // extern "C"

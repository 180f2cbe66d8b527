// tk_get_api: the versioned function table for hosts that dlopen the library.
// The static_asserts pin every entry's slot: a shipped entry never moves.
// (Generated from the tk_api struct in trainkit.h; keep the two in step.)
#include <cstddef>

#include "capi/trainkit.h"

namespace {

const tk_api kApiV1 = {
    1,
    sizeof(tk_api),
    tk_last_error_message,
    tk_status_string,
    tk_version,
    tk_view,
    tk_model_create,
    tk_model_destroy,
    tk_model_input,
    tk_model_linear,
    tk_model_linear_ex,
    tk_model_relu,
    tk_model_gelu,
    tk_model_tanh,
    tk_model_sigmoid,
    tk_model_dropout,
    tk_model_flatten,
    tk_model_add,
    tk_model_output,
    tk_model_set_node_name,
    tk_model_node_name,
    tk_model_node_shape,
    tk_model_num_parameters,
    tk_trainer_options_create,
    tk_trainer_options_destroy,
    tk_trainer_options_set_optimizer,
    tk_trainer_options_set_learning_rate,
    tk_trainer_options_set_momentum,
    tk_trainer_options_set_weight_decay,
    tk_trainer_options_set_adam,
    tk_trainer_options_set_schedule,
    tk_trainer_options_set_clip_norm,
    tk_trainer_options_set_accumulation_steps,
    tk_trainer_options_set_seed,
    tk_trainer_options_set_threads,
    tk_trainer_options_set_reduction,
    tk_trainer_options_set_nonfinite,
    tk_trainer_options_set_device,
    tk_trainer_options_set_compute_dtype,
    tk_trainer_options_set_batch_hint,
    tk_trainer_options_set_memory_limit,
    tk_trainer_create,
    tk_trainer_destroy,
    tk_trainer_step,
    tk_trainer_evaluate,
    tk_trainer_predict,
    tk_trainer_step_count,
    tk_trainer_skipped_steps,
    tk_trainer_learning_rate,
    tk_trainer_last_grad_norm,
    tk_trainer_num_parameter_tensors,
    tk_trainer_parameter_info,
    tk_trainer_get_parameter,
    tk_trainer_set_parameter,
    tk_trainer_num_parameters,
    tk_trainer_copy_parameters,
    tk_dataset_load_idx,
    tk_dataset_create,
    tk_dataset_destroy,
    tk_dataset_normalize,
    tk_dataset_stats,
    tk_dataset_size,
    tk_dataset_sample_shape,
    tk_trainer_evaluate_dataset,
    tk_batcher_create,
    tk_batcher_destroy,
    tk_batcher_reset,
    tk_batcher_next,
    tk_trainer_options_set_precision,
    tk_trainer_options_set_loss_scaling,
    tk_trainer_step_report,
    tk_trainer_loss_scale,
    tk_model_from_spec,
    tk_model_load_spec,
    tk_model_save_spec,
    tk_model_spec_length,
    tk_model_spec,
    tk_trainer_save,
    tk_trainer_save_keep_last,
    tk_trainer_load,
    tk_trainer_export_weights,
    tk_trainer_import_weights,
    tk_trainer_set_property,
    tk_trainer_get_property,
};

}  // namespace

static_assert(offsetof(tk_api, last_error_message) / sizeof(void*) == 1, "tk_api.last_error_message moved");
static_assert(offsetof(tk_api, status_string) / sizeof(void*) == 2, "tk_api.status_string moved");
static_assert(offsetof(tk_api, version_string) / sizeof(void*) == 3, "tk_api.version_string moved");
static_assert(offsetof(tk_api, view) / sizeof(void*) == 4, "tk_api.view moved");
static_assert(offsetof(tk_api, model_create) / sizeof(void*) == 5, "tk_api.model_create moved");
static_assert(offsetof(tk_api, model_destroy) / sizeof(void*) == 6, "tk_api.model_destroy moved");
static_assert(offsetof(tk_api, model_input) / sizeof(void*) == 7, "tk_api.model_input moved");
static_assert(offsetof(tk_api, model_linear) / sizeof(void*) == 8, "tk_api.model_linear moved");
static_assert(offsetof(tk_api, model_linear_ex) / sizeof(void*) == 9, "tk_api.model_linear_ex moved");
static_assert(offsetof(tk_api, model_relu) / sizeof(void*) == 10, "tk_api.model_relu moved");
static_assert(offsetof(tk_api, model_gelu) / sizeof(void*) == 11, "tk_api.model_gelu moved");
static_assert(offsetof(tk_api, model_tanh) / sizeof(void*) == 12, "tk_api.model_tanh moved");
static_assert(offsetof(tk_api, model_sigmoid) / sizeof(void*) == 13, "tk_api.model_sigmoid moved");
static_assert(offsetof(tk_api, model_dropout) / sizeof(void*) == 14, "tk_api.model_dropout moved");
static_assert(offsetof(tk_api, model_flatten) / sizeof(void*) == 15, "tk_api.model_flatten moved");
static_assert(offsetof(tk_api, model_add) / sizeof(void*) == 16, "tk_api.model_add moved");
static_assert(offsetof(tk_api, model_output) / sizeof(void*) == 17, "tk_api.model_output moved");
static_assert(offsetof(tk_api, model_set_node_name) / sizeof(void*) == 18, "tk_api.model_set_node_name moved");
static_assert(offsetof(tk_api, model_node_name) / sizeof(void*) == 19, "tk_api.model_node_name moved");
static_assert(offsetof(tk_api, model_node_shape) / sizeof(void*) == 20, "tk_api.model_node_shape moved");
static_assert(offsetof(tk_api, model_num_parameters) / sizeof(void*) == 21, "tk_api.model_num_parameters moved");
static_assert(offsetof(tk_api, trainer_options_create) / sizeof(void*) == 22, "tk_api.trainer_options_create moved");
static_assert(offsetof(tk_api, trainer_options_destroy) / sizeof(void*) == 23, "tk_api.trainer_options_destroy moved");
static_assert(offsetof(tk_api, trainer_options_set_optimizer) / sizeof(void*) == 24, "tk_api.trainer_options_set_optimizer moved");
static_assert(offsetof(tk_api, trainer_options_set_learning_rate) / sizeof(void*) == 25, "tk_api.trainer_options_set_learning_rate moved");
static_assert(offsetof(tk_api, trainer_options_set_momentum) / sizeof(void*) == 26, "tk_api.trainer_options_set_momentum moved");
static_assert(offsetof(tk_api, trainer_options_set_weight_decay) / sizeof(void*) == 27, "tk_api.trainer_options_set_weight_decay moved");
static_assert(offsetof(tk_api, trainer_options_set_adam) / sizeof(void*) == 28, "tk_api.trainer_options_set_adam moved");
static_assert(offsetof(tk_api, trainer_options_set_schedule) / sizeof(void*) == 29, "tk_api.trainer_options_set_schedule moved");
static_assert(offsetof(tk_api, trainer_options_set_clip_norm) / sizeof(void*) == 30, "tk_api.trainer_options_set_clip_norm moved");
static_assert(offsetof(tk_api, trainer_options_set_accumulation_steps) / sizeof(void*) == 31, "tk_api.trainer_options_set_accumulation_steps moved");
static_assert(offsetof(tk_api, trainer_options_set_seed) / sizeof(void*) == 32, "tk_api.trainer_options_set_seed moved");
static_assert(offsetof(tk_api, trainer_options_set_threads) / sizeof(void*) == 33, "tk_api.trainer_options_set_threads moved");
static_assert(offsetof(tk_api, trainer_options_set_reduction) / sizeof(void*) == 34, "tk_api.trainer_options_set_reduction moved");
static_assert(offsetof(tk_api, trainer_options_set_nonfinite) / sizeof(void*) == 35, "tk_api.trainer_options_set_nonfinite moved");
static_assert(offsetof(tk_api, trainer_options_set_device) / sizeof(void*) == 36, "tk_api.trainer_options_set_device moved");
static_assert(offsetof(tk_api, trainer_options_set_compute_dtype) / sizeof(void*) == 37, "tk_api.trainer_options_set_compute_dtype moved");
static_assert(offsetof(tk_api, trainer_options_set_batch_hint) / sizeof(void*) == 38, "tk_api.trainer_options_set_batch_hint moved");
static_assert(offsetof(tk_api, trainer_options_set_memory_limit) / sizeof(void*) == 39, "tk_api.trainer_options_set_memory_limit moved");
static_assert(offsetof(tk_api, trainer_create) / sizeof(void*) == 40, "tk_api.trainer_create moved");
static_assert(offsetof(tk_api, trainer_destroy) / sizeof(void*) == 41, "tk_api.trainer_destroy moved");
static_assert(offsetof(tk_api, trainer_step) / sizeof(void*) == 42, "tk_api.trainer_step moved");
static_assert(offsetof(tk_api, trainer_evaluate) / sizeof(void*) == 43, "tk_api.trainer_evaluate moved");
static_assert(offsetof(tk_api, trainer_predict) / sizeof(void*) == 44, "tk_api.trainer_predict moved");
static_assert(offsetof(tk_api, trainer_step_count) / sizeof(void*) == 45, "tk_api.trainer_step_count moved");
static_assert(offsetof(tk_api, trainer_skipped_steps) / sizeof(void*) == 46, "tk_api.trainer_skipped_steps moved");
static_assert(offsetof(tk_api, trainer_learning_rate) / sizeof(void*) == 47, "tk_api.trainer_learning_rate moved");
static_assert(offsetof(tk_api, trainer_last_grad_norm) / sizeof(void*) == 48, "tk_api.trainer_last_grad_norm moved");
static_assert(offsetof(tk_api, trainer_num_parameter_tensors) / sizeof(void*) == 49, "tk_api.trainer_num_parameter_tensors moved");
static_assert(offsetof(tk_api, trainer_parameter_info) / sizeof(void*) == 50, "tk_api.trainer_parameter_info moved");
static_assert(offsetof(tk_api, trainer_get_parameter) / sizeof(void*) == 51, "tk_api.trainer_get_parameter moved");
static_assert(offsetof(tk_api, trainer_set_parameter) / sizeof(void*) == 52, "tk_api.trainer_set_parameter moved");
static_assert(offsetof(tk_api, trainer_num_parameters) / sizeof(void*) == 53, "tk_api.trainer_num_parameters moved");
static_assert(offsetof(tk_api, trainer_copy_parameters) / sizeof(void*) == 54, "tk_api.trainer_copy_parameters moved");
static_assert(offsetof(tk_api, dataset_load_idx) / sizeof(void*) == 55, "tk_api.dataset_load_idx moved");
static_assert(offsetof(tk_api, dataset_create) / sizeof(void*) == 56, "tk_api.dataset_create moved");
static_assert(offsetof(tk_api, dataset_destroy) / sizeof(void*) == 57, "tk_api.dataset_destroy moved");
static_assert(offsetof(tk_api, dataset_normalize) / sizeof(void*) == 58, "tk_api.dataset_normalize moved");
static_assert(offsetof(tk_api, dataset_stats) / sizeof(void*) == 59, "tk_api.dataset_stats moved");
static_assert(offsetof(tk_api, dataset_size) / sizeof(void*) == 60, "tk_api.dataset_size moved");
static_assert(offsetof(tk_api, dataset_sample_shape) / sizeof(void*) == 61, "tk_api.dataset_sample_shape moved");
static_assert(offsetof(tk_api, trainer_evaluate_dataset) / sizeof(void*) == 62, "tk_api.trainer_evaluate_dataset moved");
static_assert(offsetof(tk_api, batcher_create) / sizeof(void*) == 63, "tk_api.batcher_create moved");
static_assert(offsetof(tk_api, batcher_destroy) / sizeof(void*) == 64, "tk_api.batcher_destroy moved");
static_assert(offsetof(tk_api, batcher_reset) / sizeof(void*) == 65, "tk_api.batcher_reset moved");
static_assert(offsetof(tk_api, batcher_next) / sizeof(void*) == 66, "tk_api.batcher_next moved");
static_assert(offsetof(tk_api, trainer_options_set_precision) / sizeof(void*) == 67, "tk_api.trainer_options_set_precision moved");
static_assert(offsetof(tk_api, trainer_options_set_loss_scaling) / sizeof(void*) == 68, "tk_api.trainer_options_set_loss_scaling moved");
static_assert(offsetof(tk_api, trainer_step_report) / sizeof(void*) == 69, "tk_api.trainer_step_report moved");
static_assert(offsetof(tk_api, trainer_loss_scale) / sizeof(void*) == 70, "tk_api.trainer_loss_scale moved");
static_assert(offsetof(tk_api, model_from_spec) / sizeof(void*) == 71, "tk_api.model_from_spec moved");
static_assert(offsetof(tk_api, model_load_spec) / sizeof(void*) == 72, "tk_api.model_load_spec moved");
static_assert(offsetof(tk_api, model_save_spec) / sizeof(void*) == 73, "tk_api.model_save_spec moved");
static_assert(offsetof(tk_api, model_spec_length) / sizeof(void*) == 74, "tk_api.model_spec_length moved");
static_assert(offsetof(tk_api, model_spec) / sizeof(void*) == 75, "tk_api.model_spec moved");
static_assert(offsetof(tk_api, trainer_save) / sizeof(void*) == 76, "tk_api.trainer_save moved");
static_assert(offsetof(tk_api, trainer_save_keep_last) / sizeof(void*) == 77, "tk_api.trainer_save_keep_last moved");
static_assert(offsetof(tk_api, trainer_load) / sizeof(void*) == 78, "tk_api.trainer_load moved");
static_assert(offsetof(tk_api, trainer_export_weights) / sizeof(void*) == 79, "tk_api.trainer_export_weights moved");
static_assert(offsetof(tk_api, trainer_import_weights) / sizeof(void*) == 80, "tk_api.trainer_import_weights moved");
static_assert(offsetof(tk_api, trainer_set_property) / sizeof(void*) == 81, "tk_api.trainer_set_property moved");
static_assert(offsetof(tk_api, trainer_get_property) / sizeof(void*) == 82, "tk_api.trainer_get_property moved");
static_assert(sizeof(tk_api) == 83 * sizeof(void*), "tk_api v1 has 82 entries");

extern "C" TK_API const tk_api* tk_get_api(uint32_t version) {
  return version == 1 ? &kApiV1 : nullptr;
}

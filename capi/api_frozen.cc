// The shipped versions of tk_api, frozen. Each line pins one entry of a
// released table to its slot (slot 0 holds the version and size counters),
// so a host built against that version finds every function where it was.
// No generator writes this file: tools/generate_api_table.py reads it and
// refuses to write a table whose header moved, renamed or removed any entry
// named here, and the compiler refuses the same through the asserts below.
//
// Never edit a line above the marker. When a version ships, copy its new
// entries below the marker as "tk_api vN" asserts, then move the marker under
// them. Version 2 (TK_API_VERSION 2) has not shipped yet and is still open.
#include <cstddef>

#include "capi/trainkit.h"

// ---- Version 1 (trainkit 0.1): 93 entries ----
static_assert(offsetof(tk_api, last_error_message) / sizeof(void*) == 1, "tk_api v1");
static_assert(offsetof(tk_api, status_string) / sizeof(void*) == 2, "tk_api v1");
static_assert(offsetof(tk_api, version_string) / sizeof(void*) == 3, "tk_api v1");
static_assert(offsetof(tk_api, view) / sizeof(void*) == 4, "tk_api v1");
static_assert(offsetof(tk_api, model_create) / sizeof(void*) == 5, "tk_api v1");
static_assert(offsetof(tk_api, model_destroy) / sizeof(void*) == 6, "tk_api v1");
static_assert(offsetof(tk_api, model_input) / sizeof(void*) == 7, "tk_api v1");
static_assert(offsetof(tk_api, model_linear) / sizeof(void*) == 8, "tk_api v1");
static_assert(offsetof(tk_api, model_linear_ex) / sizeof(void*) == 9, "tk_api v1");
static_assert(offsetof(tk_api, model_relu) / sizeof(void*) == 10, "tk_api v1");
static_assert(offsetof(tk_api, model_gelu) / sizeof(void*) == 11, "tk_api v1");
static_assert(offsetof(tk_api, model_tanh) / sizeof(void*) == 12, "tk_api v1");
static_assert(offsetof(tk_api, model_sigmoid) / sizeof(void*) == 13, "tk_api v1");
static_assert(offsetof(tk_api, model_dropout) / sizeof(void*) == 14, "tk_api v1");
static_assert(offsetof(tk_api, model_flatten) / sizeof(void*) == 15, "tk_api v1");
static_assert(offsetof(tk_api, model_add) / sizeof(void*) == 16, "tk_api v1");
static_assert(offsetof(tk_api, model_output) / sizeof(void*) == 17, "tk_api v1");
static_assert(offsetof(tk_api, model_set_node_name) / sizeof(void*) == 18, "tk_api v1");
static_assert(offsetof(tk_api, model_node_name) / sizeof(void*) == 19, "tk_api v1");
static_assert(offsetof(tk_api, model_node_shape) / sizeof(void*) == 20, "tk_api v1");
static_assert(offsetof(tk_api, model_num_parameters) / sizeof(void*) == 21, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_create) / sizeof(void*) == 22, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_destroy) / sizeof(void*) == 23, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_optimizer) / sizeof(void*) == 24, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_learning_rate) / sizeof(void*) == 25, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_momentum) / sizeof(void*) == 26, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_weight_decay) / sizeof(void*) == 27, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_adam) / sizeof(void*) == 28, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_schedule) / sizeof(void*) == 29, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_clip_norm) / sizeof(void*) == 30, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_accumulation_steps) / sizeof(void*) == 31, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_seed) / sizeof(void*) == 32, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_threads) / sizeof(void*) == 33, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_reduction) / sizeof(void*) == 34, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_nonfinite) / sizeof(void*) == 35, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_device) / sizeof(void*) == 36, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_compute_dtype) / sizeof(void*) == 37, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_batch_hint) / sizeof(void*) == 38, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_memory_limit) / sizeof(void*) == 39, "tk_api v1");
static_assert(offsetof(tk_api, trainer_create) / sizeof(void*) == 40, "tk_api v1");
static_assert(offsetof(tk_api, trainer_destroy) / sizeof(void*) == 41, "tk_api v1");
static_assert(offsetof(tk_api, trainer_step) / sizeof(void*) == 42, "tk_api v1");
static_assert(offsetof(tk_api, trainer_evaluate) / sizeof(void*) == 43, "tk_api v1");
static_assert(offsetof(tk_api, trainer_predict) / sizeof(void*) == 44, "tk_api v1");
static_assert(offsetof(tk_api, trainer_step_count) / sizeof(void*) == 45, "tk_api v1");
static_assert(offsetof(tk_api, trainer_skipped_steps) / sizeof(void*) == 46, "tk_api v1");
static_assert(offsetof(tk_api, trainer_learning_rate) / sizeof(void*) == 47, "tk_api v1");
static_assert(offsetof(tk_api, trainer_last_grad_norm) / sizeof(void*) == 48, "tk_api v1");
static_assert(offsetof(tk_api, trainer_num_parameter_tensors) / sizeof(void*) == 49, "tk_api v1");
static_assert(offsetof(tk_api, trainer_parameter_info) / sizeof(void*) == 50, "tk_api v1");
static_assert(offsetof(tk_api, trainer_get_parameter) / sizeof(void*) == 51, "tk_api v1");
static_assert(offsetof(tk_api, trainer_set_parameter) / sizeof(void*) == 52, "tk_api v1");
static_assert(offsetof(tk_api, trainer_num_parameters) / sizeof(void*) == 53, "tk_api v1");
static_assert(offsetof(tk_api, trainer_copy_parameters) / sizeof(void*) == 54, "tk_api v1");
static_assert(offsetof(tk_api, dataset_load_idx) / sizeof(void*) == 55, "tk_api v1");
static_assert(offsetof(tk_api, dataset_create) / sizeof(void*) == 56, "tk_api v1");
static_assert(offsetof(tk_api, dataset_destroy) / sizeof(void*) == 57, "tk_api v1");
static_assert(offsetof(tk_api, dataset_normalize) / sizeof(void*) == 58, "tk_api v1");
static_assert(offsetof(tk_api, dataset_stats) / sizeof(void*) == 59, "tk_api v1");
static_assert(offsetof(tk_api, dataset_size) / sizeof(void*) == 60, "tk_api v1");
static_assert(offsetof(tk_api, dataset_sample_shape) / sizeof(void*) == 61, "tk_api v1");
static_assert(offsetof(tk_api, trainer_evaluate_dataset) / sizeof(void*) == 62, "tk_api v1");
static_assert(offsetof(tk_api, batcher_create) / sizeof(void*) == 63, "tk_api v1");
static_assert(offsetof(tk_api, batcher_destroy) / sizeof(void*) == 64, "tk_api v1");
static_assert(offsetof(tk_api, batcher_reset) / sizeof(void*) == 65, "tk_api v1");
static_assert(offsetof(tk_api, batcher_next) / sizeof(void*) == 66, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_precision) / sizeof(void*) == 67, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_loss_scaling) / sizeof(void*) == 68, "tk_api v1");
static_assert(offsetof(tk_api, trainer_step_report) / sizeof(void*) == 69, "tk_api v1");
static_assert(offsetof(tk_api, trainer_loss_scale) / sizeof(void*) == 70, "tk_api v1");
static_assert(offsetof(tk_api, model_from_spec) / sizeof(void*) == 71, "tk_api v1");
static_assert(offsetof(tk_api, model_load_spec) / sizeof(void*) == 72, "tk_api v1");
static_assert(offsetof(tk_api, model_save_spec) / sizeof(void*) == 73, "tk_api v1");
static_assert(offsetof(tk_api, model_spec_length) / sizeof(void*) == 74, "tk_api v1");
static_assert(offsetof(tk_api, model_spec) / sizeof(void*) == 75, "tk_api v1");
static_assert(offsetof(tk_api, trainer_save) / sizeof(void*) == 76, "tk_api v1");
static_assert(offsetof(tk_api, trainer_save_keep_last) / sizeof(void*) == 77, "tk_api v1");
static_assert(offsetof(tk_api, trainer_load) / sizeof(void*) == 78, "tk_api v1");
static_assert(offsetof(tk_api, trainer_export_weights) / sizeof(void*) == 79, "tk_api v1");
static_assert(offsetof(tk_api, trainer_import_weights) / sizeof(void*) == 80, "tk_api v1");
static_assert(offsetof(tk_api, trainer_set_property) / sizeof(void*) == 81, "tk_api v1");
static_assert(offsetof(tk_api, trainer_get_property) / sizeof(void*) == 82, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_replicas) / sizeof(void*) == 83, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_bucket_bytes) / sizeof(void*) == 84, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_distributed) / sizeof(void*) == 85, "tk_api v1");
static_assert(offsetof(tk_api, trainer_options_set_communication_timeout) / sizeof(void*) == 86, "tk_api v1");
static_assert(offsetof(tk_api, trainer_world) / sizeof(void*) == 87, "tk_api v1");
static_assert(offsetof(tk_api, batcher_set_shard) / sizeof(void*) == 88, "tk_api v1");
static_assert(offsetof(tk_api, model_reshape) / sizeof(void*) == 89, "tk_api v1");
static_assert(offsetof(tk_api, model_conv2d) / sizeof(void*) == 90, "tk_api v1");
static_assert(offsetof(tk_api, model_max_pool2d) / sizeof(void*) == 91, "tk_api v1");
static_assert(offsetof(tk_api, model_avg_pool2d) / sizeof(void*) == 92, "tk_api v1");
static_assert(offsetof(tk_api, model_global_avg_pool) / sizeof(void*) == 93, "tk_api v1");
// ---- DO NOT MODIFY ABOVE: shipped versions are frozen ----

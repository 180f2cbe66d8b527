/* shim.c - see shim.h. Every function records its status for tkb_last_status(). */
#include "bindings/shim.h"

#include <math.h>
#include <string.h>

#include "capi/trainkit.h"

static _Thread_local int32_t last_status = TK_OK;

#define HANDLE(type, value) ((type*)(intptr_t)(value))
#define ADDRESS(pointer) ((int64_t)(intptr_t)(pointer))

static int32_t record(tk_status status) {
  last_status = status;
  return status;
}

static tk_tensor_view view_of(void* data, int32_t dtype, int32_t rank, void* shape) {
  int64_t dims[TK_MAX_RANK] = {0};
  if (shape && rank > 0 && rank <= TK_MAX_RANK) memcpy(dims, shape, (size_t)rank * sizeof(int64_t));
  return tk_view(data, (tk_dtype)dtype, rank, dims);
}

int32_t tkb_last_status(void) { return last_status; }
const char* tkb_last_message(void) { return tk_last_error_message(); }
const char* tkb_version(void) { return tk_version(); }

int64_t tkb_model_create(void) {
  tk_model* model = NULL;
  record(tk_model_create(&model));
  return ADDRESS(model);
}

int64_t tkb_model_from_spec(const char* json) {
  tk_model* model = NULL;
  record(tk_model_from_spec(json, &model));
  return ADDRESS(model);
}

int64_t tkb_model_load_spec(const char* path) {
  tk_model* model = NULL;
  record(tk_model_load_spec(path, &model));
  return ADDRESS(model);
}

void tkb_model_destroy(int64_t model) { tk_model_destroy(HANDLE(tk_model, model)); }

int32_t tkb_model_input(int64_t model, const char* name, int32_t rank, void* shape) {
  tk_node node = -1;
  record(shape ? tk_model_input(HANDLE(tk_model, model), name, rank, (const int64_t*)shape, &node)
               : tk_model_input(HANDLE(tk_model, model), name, rank, NULL, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_linear(int64_t model, int32_t input, int64_t units) {
  tk_node node = -1;
  record(tk_model_linear(HANDLE(tk_model, model), input, units, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_activation(int64_t model, int32_t input, int32_t kind) {
  tk_node node = -1;
  tk_model* m = HANDLE(tk_model, model);
  switch (kind) {
    case 0: record(tk_model_relu(m, input, &node)); break;
    case 1: record(tk_model_gelu(m, input, &node)); break;
    case 2: record(tk_model_tanh(m, input, &node)); break;
    case 3: record(tk_model_sigmoid(m, input, &node)); break;
    default: record(TK_ERROR_INVALID_ARGUMENT); return -1;
  }
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_dropout(int64_t model, int32_t input, double probability) {
  tk_node node = -1;
  record(tk_model_dropout(HANDLE(tk_model, model), input, probability, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_dropout2d(int64_t model, int32_t input, double probability) {
  tk_node node = -1;
  record(tk_model_dropout2d(HANDLE(tk_model, model), input, probability, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_batch_norm(int64_t model, int32_t input, double eps, double momentum) {
  tk_node node = -1;
  record(tk_model_batch_norm(HANDLE(tk_model, model), input, eps, momentum, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_layer_norm(int64_t model, int32_t input, int32_t axes, double eps) {
  tk_node node = -1;
  record(tk_model_layer_norm(HANDLE(tk_model, model), input, axes, eps, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_reshape(int64_t model, int32_t input, int32_t rank, void* shape) {
  tk_node node = -1;
  record(tk_model_reshape(HANDLE(tk_model, model), input, rank, (const int64_t*)shape, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_conv2d(int64_t model, int32_t input, int64_t out_channels, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t dilation, int64_t groups, int32_t bias) {
  tk_node node = -1;
  record(tk_model_conv2d(HANDLE(tk_model, model), input, out_channels, kernel, stride, padding, dilation, groups, bias,
                         &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_pool2d(int64_t model, int32_t input, int32_t kind, int64_t kernel, int64_t stride, int64_t padding) {
  tk_node node = -1;
  tk_model* m = HANDLE(tk_model, model);
  switch (kind) {
    case 0: record(tk_model_max_pool2d(m, input, kernel, stride, padding, &node)); break;
    case 1: record(tk_model_avg_pool2d(m, input, kernel, stride, padding, &node)); break;
    default: record(TK_ERROR_INVALID_ARGUMENT); return -1;
  }
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_global_avg_pool(int64_t model, int32_t input) {
  tk_node node = -1;
  record(tk_model_global_avg_pool(HANDLE(tk_model, model), input, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_flatten(int64_t model, int32_t input) {
  tk_node node = -1;
  record(tk_model_flatten(HANDLE(tk_model, model), input, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_add(int64_t model, int32_t a, int32_t b) {
  tk_node node = -1;
  record(tk_model_add(HANDLE(tk_model, model), a, b, &node));
  return last_status == TK_OK ? node : -1;
}

int32_t tkb_model_output(int64_t model, int32_t node, const char* name) {
  return record(tk_model_output(HANDLE(tk_model, model), node, name));
}

int64_t tkb_model_num_parameters(int64_t model) {
  int64_t count = -1;
  record(tk_model_num_parameters(HANDLE(tk_model, model), &count));
  return count;
}

int32_t tkb_model_save_spec(int64_t model, const char* path) {
  return record(tk_model_save_spec(HANDLE(tk_model, model), path));
}

int64_t tkb_options_create(void) {
  tk_trainer_options* options = NULL;
  record(tk_trainer_options_create(&options));
  return ADDRESS(options);
}

void tkb_options_destroy(int64_t options) { tk_trainer_options_destroy(HANDLE(tk_trainer_options, options)); }

#define OPTIONS HANDLE(tk_trainer_options, options)
int32_t tkb_options_set_optimizer(int64_t options, int32_t optimizer) {
  return record(tk_trainer_options_set_optimizer(OPTIONS, (tk_optimizer)optimizer));
}
int32_t tkb_options_set_learning_rate(int64_t options, double learning_rate) {
  return record(tk_trainer_options_set_learning_rate(OPTIONS, learning_rate));
}
int32_t tkb_options_set_momentum(int64_t options, double momentum, int32_t nesterov) {
  return record(tk_trainer_options_set_momentum(OPTIONS, momentum, nesterov));
}
int32_t tkb_options_set_weight_decay(int64_t options, double weight_decay) {
  return record(tk_trainer_options_set_weight_decay(OPTIONS, weight_decay));
}
int32_t tkb_options_set_schedule(int64_t options, int32_t schedule, int64_t warmup_steps, int64_t step_size,
                                 double gamma, int64_t total_steps, double min_lr) {
  return record(tk_trainer_options_set_schedule(OPTIONS, (tk_schedule)schedule, warmup_steps, step_size, gamma,
                                                total_steps, min_lr));
}
int32_t tkb_options_set_clip_norm(int64_t options, double max_norm) {
  return record(tk_trainer_options_set_clip_norm(OPTIONS, max_norm));
}
int32_t tkb_options_set_accumulation_steps(int64_t options, int32_t steps) {
  return record(tk_trainer_options_set_accumulation_steps(OPTIONS, steps));
}
int32_t tkb_options_set_seed(int64_t options, int64_t seed) {
  return record(tk_trainer_options_set_seed(OPTIONS, (uint64_t)seed));
}
int32_t tkb_options_set_threads(int64_t options, int32_t threads) {
  return record(tk_trainer_options_set_threads(OPTIONS, threads));
}
int32_t tkb_options_set_precision(int64_t options, int32_t precision) {
  return record(tk_trainer_options_set_precision(OPTIONS, (tk_precision)precision));
}
int32_t tkb_options_set_batch_hint(int64_t options, int64_t rows) {
  return record(tk_trainer_options_set_batch_hint(OPTIONS, rows));
}
int32_t tkb_options_set_device(int64_t options, int32_t device) {
  return record(tk_trainer_options_set_device(OPTIONS, (tk_device)device));
}
int32_t tkb_options_set_cuda_device(int64_t options, int32_t index) {
  return record(tk_trainer_options_set_cuda_device(OPTIONS, index));
}
int32_t tkb_gpu_count(void) {
  int32_t count = -1;
  record(tk_gpu_count(&count, NULL, 0));
  return last_status == TK_OK ? count : -1;
}
#undef OPTIONS

int64_t tkb_trainer_create(int64_t model, int32_t loss, int64_t options) {
  tk_trainer* trainer = NULL;
  record(tk_trainer_create(HANDLE(tk_model, model), (tk_loss)loss, HANDLE(tk_trainer_options, options), &trainer));
  return ADDRESS(trainer);
}

void tkb_trainer_destroy(int64_t trainer) { tk_trainer_destroy(HANDLE(tk_trainer, trainer)); }

#define TRAINER HANDLE(tk_trainer, trainer)
double tkb_trainer_step(int64_t trainer, void* x, int32_t x_dtype, int32_t x_rank, void* x_shape, void* y,
                        int32_t y_dtype, int32_t y_rank, void* y_shape) {
  tk_tensor_view in = view_of(x, x_dtype, x_rank, x_shape), target = view_of(y, y_dtype, y_rank, y_shape);
  float loss = NAN;
  record(tk_trainer_step(TRAINER, &in, &target, &loss));
  return last_status == TK_OK ? loss : NAN;
}

int32_t tkb_trainer_evaluate(int64_t trainer, void* x, int32_t x_dtype, int32_t x_rank, void* x_shape, void* y,
                             int32_t y_dtype, int32_t y_rank, void* y_shape, void* out) {
  tk_tensor_view in = view_of(x, x_dtype, x_rank, x_shape), target = view_of(y, y_dtype, y_rank, y_shape);
  double* result = (double*)out;
  if (!result) return record(TK_ERROR_NULL_ARGUMENT);
  return record(tk_trainer_evaluate(TRAINER, &in, &target, &result[0], &result[1]));
}

int32_t tkb_trainer_predict(int64_t trainer, void* x, int32_t x_dtype, int32_t x_rank, void* x_shape,
                            int32_t probabilities, void* out, int32_t out_dtype, int32_t out_rank, void* out_shape) {
  tk_tensor_view in = view_of(x, x_dtype, x_rank, x_shape), result = view_of(out, out_dtype, out_rank, out_shape);
  return record(tk_trainer_predict(TRAINER, &in, probabilities, &result));
}

int32_t tkb_trainer_step_next(int64_t trainer, int64_t batcher, void* out) {
  tk_tensor_view features, targets;
  int32_t has_batch = 0;
  float loss = NAN;
  if (record(tk_batcher_next(HANDLE(tk_batcher, batcher), &features, &targets, &has_batch)) != TK_OK) return -1;
  if (!has_batch) return 0;
  if (record(tk_trainer_step(TRAINER, &features, &targets, &loss)) != TK_OK) return -1;
  if (out) *(double*)out = loss;
  return 1;
}

int32_t tkb_trainer_evaluate_dataset(int64_t trainer, int64_t dataset, int64_t batch_size, void* out) {
  double* result = (double*)out;
  if (!result) return record(TK_ERROR_NULL_ARGUMENT);
  return record(tk_trainer_evaluate_dataset(TRAINER, HANDLE(tk_dataset, dataset), batch_size, &result[0], &result[1]));
}

int64_t tkb_trainer_step_count(int64_t trainer) {
  int64_t steps = -1;
  record(tk_trainer_step_count(TRAINER, &steps));
  return steps;
}

int64_t tkb_trainer_num_parameters(int64_t trainer) {
  int64_t count = -1;
  record(tk_trainer_num_parameters(TRAINER, &count));
  return count;
}

int32_t tkb_trainer_copy_parameters(int64_t trainer, void* out, int64_t count) {
  return record(tk_trainer_copy_parameters(TRAINER, (float*)out, count));
}

int32_t tkb_trainer_save(int64_t trainer, const char* path, int64_t batcher) {
  return record(tk_trainer_save(TRAINER, path, HANDLE(tk_batcher, batcher)));
}

int32_t tkb_trainer_load(int64_t trainer, const char* path, int64_t batcher) {
  return record(tk_trainer_load(TRAINER, path, HANDLE(tk_batcher, batcher)));
}

int32_t tkb_trainer_export_weights(int64_t trainer, const char* path, int32_t dtype) {
  return record(tk_trainer_export_weights(TRAINER, path, (tk_dtype)dtype));
}

int32_t tkb_trainer_import_weights(int64_t trainer, const char* path) {
  return record(tk_trainer_import_weights(TRAINER, path));
}
#undef TRAINER

int64_t tkb_dataset_load_idx(const char* images_path, const char* labels_path) {
  tk_dataset* dataset = NULL;
  record(tk_dataset_load_idx(images_path, labels_path, &dataset));
  return ADDRESS(dataset);
}

void tkb_dataset_destroy(int64_t dataset) { tk_dataset_destroy(HANDLE(tk_dataset, dataset)); }

int32_t tkb_dataset_normalize(int64_t dataset, int32_t normalization, double mean, double std) {
  return record(tk_dataset_normalize(HANDLE(tk_dataset, dataset), (tk_normalization)normalization, mean, std));
}

int32_t tkb_dataset_stats(int64_t dataset, void* out) {
  double* result = (double*)out;
  if (!result) return record(TK_ERROR_NULL_ARGUMENT);
  return record(tk_dataset_stats(HANDLE(tk_dataset, dataset), &result[0], &result[1]));
}

int64_t tkb_dataset_size(int64_t dataset) {
  int64_t size = -1;
  record(tk_dataset_size(HANDLE(tk_dataset, dataset), &size));
  return size;
}

int64_t tkb_batcher_create(int64_t dataset, int64_t batch_size, int32_t shuffle, int64_t seed, int32_t drop_last) {
  tk_batcher* batcher = NULL;
  record(tk_batcher_create(HANDLE(tk_dataset, dataset), batch_size, shuffle, (uint64_t)seed, drop_last, &batcher));
  return ADDRESS(batcher);
}

void tkb_batcher_destroy(int64_t batcher) { tk_batcher_destroy(HANDLE(tk_batcher, batcher)); }

int32_t tkb_batcher_reset(int64_t batcher, int64_t epoch) {
  return record(tk_batcher_reset(HANDLE(tk_batcher, batcher), epoch));
}

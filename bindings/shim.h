/*
 * shim.h - the C API reshaped for SWIG: one definition serves Java, C# and
 * Python.
 *
 * - Handles travel as int64 addresses (0 is NULL), so each language's thin
 *   layer owns them with its own tools (Cleaner, SafeHandle, __del__).
 * - Out-params become return values; a call that fails returns 0, -1 or NaN
 *   and leaves its status in tkb_last_status() (thread-local) and its message
 *   in tkb_last_message(). The thin layers turn that into exceptions.
 * - Memory (batches, shapes, results) travels as `void*` addresses of caller
 *   buffers, borrowed for the call: direct NIO buffers in Java, pinned arrays
 *   in C#, numpy arrays in Python. Nothing is copied.
 */
#ifndef TRAINKIT_BINDINGS_SHIM_H_
#define TRAINKIT_BINDINGS_SHIM_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int32_t tkb_last_status(void);
const char* tkb_last_message(void);
const char* tkb_version(void);

int64_t tkb_model_create(void);
int64_t tkb_model_from_spec(const char* json);
int64_t tkb_model_load_spec(const char* path);
void tkb_model_destroy(int64_t model);
int32_t tkb_model_input(int64_t model, const char* name, int32_t rank, void* shape);
int32_t tkb_model_linear(int64_t model, int32_t input, int64_t units);
/* kind: 0 relu, 1 gelu, 2 tanh, 3 sigmoid */
int32_t tkb_model_activation(int64_t model, int32_t input, int32_t kind);
int32_t tkb_model_dropout(int64_t model, int32_t input, double probability);
int32_t tkb_model_dropout2d(int64_t model, int32_t input, double probability);
int32_t tkb_model_batch_norm(int64_t model, int32_t input, double eps, double momentum);
int32_t tkb_model_layer_norm(int64_t model, int32_t input, int32_t axes, double eps);
int32_t tkb_model_flatten(int64_t model, int32_t input);
int32_t tkb_model_reshape(int64_t model, int32_t input, int32_t rank, void* shape);
int32_t tkb_model_conv2d(int64_t model, int32_t input, int64_t out_channels, int64_t kernel, int64_t stride,
                         int64_t padding, int64_t dilation, int64_t groups, int32_t bias);
/* kind: 0 max, 1 average */
int32_t tkb_model_pool2d(int64_t model, int32_t input, int32_t kind, int64_t kernel, int64_t stride, int64_t padding);
int32_t tkb_model_global_avg_pool(int64_t model, int32_t input);
int32_t tkb_model_add(int64_t model, int32_t a, int32_t b);
int32_t tkb_model_output(int64_t model, int32_t node, const char* name);
int64_t tkb_model_num_parameters(int64_t model);
int32_t tkb_model_save_spec(int64_t model, const char* path);

int64_t tkb_options_create(void);
void tkb_options_destroy(int64_t options);
int32_t tkb_options_set_optimizer(int64_t options, int32_t optimizer);
int32_t tkb_options_set_learning_rate(int64_t options, double learning_rate);
int32_t tkb_options_set_momentum(int64_t options, double momentum, int32_t nesterov);
int32_t tkb_options_set_weight_decay(int64_t options, double weight_decay);
int32_t tkb_options_set_schedule(int64_t options, int32_t schedule, int64_t warmup_steps, int64_t step_size,
                                 double gamma, int64_t total_steps, double min_lr);
int32_t tkb_options_set_clip_norm(int64_t options, double max_norm);
int32_t tkb_options_set_accumulation_steps(int64_t options, int32_t steps);
int32_t tkb_options_set_seed(int64_t options, int64_t seed);
int32_t tkb_options_set_threads(int64_t options, int32_t threads);
int32_t tkb_options_set_precision(int64_t options, int32_t precision);
int32_t tkb_options_set_batch_hint(int64_t options, int64_t rows);
/* device: 0 auto, 1 cpu, 2 cuda (tk_device) */
int32_t tkb_options_set_device(int64_t options, int32_t device);
int32_t tkb_options_set_cuda_device(int64_t options, int32_t index);
/* Usable CUDA GPUs (0 when none), or -1 on error. */
int32_t tkb_gpu_count(void);

int64_t tkb_trainer_create(int64_t model, int32_t loss, int64_t options);
void tkb_trainer_destroy(int64_t trainer);
/* Returns the batch loss (NaN on failure). */
double tkb_trainer_step(int64_t trainer, void* x, int32_t x_dtype, int32_t x_rank, void* x_shape, void* y,
                        int32_t y_dtype, int32_t y_rank, void* y_shape);
/* Writes {loss, accuracy} into out (two doubles). */
int32_t tkb_trainer_evaluate(int64_t trainer, void* x, int32_t x_dtype, int32_t x_rank, void* x_shape, void* y,
                             int32_t y_dtype, int32_t y_rank, void* y_shape, void* out);
int32_t tkb_trainer_predict(int64_t trainer, void* x, int32_t x_dtype, int32_t x_rank, void* x_shape,
                            int32_t probabilities, void* out, int32_t out_dtype, int32_t out_rank, void* out_shape);
/* Steps on the batcher's next batch: 1 stepped (loss into out, one double),
 * 0 at the end of the epoch, -1 on failure. */
int32_t tkb_trainer_step_next(int64_t trainer, int64_t batcher, void* out);
int32_t tkb_trainer_evaluate_dataset(int64_t trainer, int64_t dataset, int64_t batch_size, void* out);
int64_t tkb_trainer_step_count(int64_t trainer);
int64_t tkb_trainer_num_parameters(int64_t trainer);
int32_t tkb_trainer_copy_parameters(int64_t trainer, void* out, int64_t count);
int32_t tkb_trainer_save(int64_t trainer, const char* path, int64_t batcher);
int32_t tkb_trainer_load(int64_t trainer, const char* path, int64_t batcher);
int32_t tkb_trainer_export_weights(int64_t trainer, const char* path, int32_t dtype);
int32_t tkb_trainer_import_weights(int64_t trainer, const char* path);

int64_t tkb_dataset_load_idx(const char* images_path, const char* labels_path);
void tkb_dataset_destroy(int64_t dataset);
int32_t tkb_dataset_normalize(int64_t dataset, int32_t normalization, double mean, double std);
/* Writes {mean, std} into out (two doubles). */
int32_t tkb_dataset_stats(int64_t dataset, void* out);
int64_t tkb_dataset_size(int64_t dataset);
int64_t tkb_batcher_create(int64_t dataset, int64_t batch_size, int32_t shuffle, int64_t seed, int32_t drop_last);
void tkb_batcher_destroy(int64_t batcher);
int32_t tkb_batcher_reset(int64_t batcher, int64_t epoch);

#ifdef __cplusplus
}
#endif

#endif /* TRAINKIT_BINDINGS_SHIM_H_ */

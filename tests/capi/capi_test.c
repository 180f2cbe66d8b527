/*
 * capi_test.c - the C API from C: every function with NULL handles and
 * out-params, wrong shapes and dtypes, out-of-range options, NaN/Inf inputs,
 * the function table, and the thread-local error message. Compiled as C99.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"
#include "tests/capi/expect.h"

#define NULL_ARG TK_ERROR_NULL_ARGUMENT
#define INVALID TK_ERROR_INVALID_ARGUMENT

static tk_model* small_model(void) {
  tk_model* m = NULL;
  tk_node x, h;
  int64_t shape[1] = {4};
  tk_model_create(&m);
  tk_model_input(m, "x", 1, shape, &x);
  tk_model_linear(m, x, 5, &h);
  tk_model_relu(m, h, &h);
  tk_model_linear(m, h, 3, &h);
  tk_model_output(m, h, "logits");
  return m;
}

static void test_strings(void) {
  EXPECT(strcmp(tk_version(), "0.2.0") == 0);
  EXPECT(strcmp(tk_status_string(TK_ERROR_SHAPE_MISMATCH), "TK_ERROR_SHAPE_MISMATCH") == 0);
  EXPECT(strcmp(tk_status_string((tk_status)77), "TK_ERROR_UNKNOWN") == 0);
}

static tk_status no_broadcast(void* data, size_t bytes, void* user) {
  (void)data;
  (void)bytes;
  (void)user;
  return TK_ERROR_COMMUNICATION;
}

static void test_null_handles(void) {
  tk_node node = 0;
  int64_t shape[TK_MAX_RANK] = {4};
  int64_t count;
  int32_t rank, has;
  double d;
  float f;
  char name[16];
  tk_tensor_view v = tk_view_f32(NULL, 1, shape);

  tk_model_destroy(NULL);
  tk_trainer_options_destroy(NULL);
  tk_trainer_destroy(NULL);
  tk_dataset_destroy(NULL);
  tk_batcher_destroy(NULL);

  EXPECT_STATUS(tk_model_create(NULL), NULL_ARG);
  EXPECT_STATUS(tk_model_input(NULL, "x", 1, shape, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_linear(NULL, 0, 3, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_linear_ex(NULL, 0, 3, 1, TK_INIT_ZEROS, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_relu(NULL, 0, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_gelu(NULL, 0, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_tanh(NULL, 0, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_sigmoid(NULL, 0, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_dropout(NULL, 0, 0.1, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_flatten(NULL, 0, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_add(NULL, 0, 0, &node), NULL_ARG);
  EXPECT_STATUS(tk_model_output(NULL, 0, "y"), NULL_ARG);
  EXPECT_STATUS(tk_model_set_node_name(NULL, 0, "y"), NULL_ARG);
  EXPECT_STATUS(tk_model_node_name(NULL, 0, name, sizeof name), NULL_ARG);
  EXPECT_STATUS(tk_model_node_shape(NULL, 0, &rank, shape), NULL_ARG);
  EXPECT_STATUS(tk_model_num_parameters(NULL, &count), NULL_ARG);

  EXPECT_STATUS(tk_trainer_options_create(NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_optimizer(NULL, TK_OPTIMIZER_ADAM), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_learning_rate(NULL, 0.1), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_momentum(NULL, 0.9, 0), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_weight_decay(NULL, 0.1), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_adam(NULL, 0.9, 0.99, 1e-8), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_schedule(NULL, TK_SCHEDULE_CONSTANT, 0, 1, 0.1, 0, 0), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_clip_norm(NULL, 1), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_accumulation_steps(NULL, 2), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_seed(NULL, 1), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_threads(NULL, 1), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_reduction(NULL, TK_REDUCTION_SUM), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_nonfinite(NULL, TK_NONFINITE_SKIP), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_device(NULL, TK_DEVICE_CPU), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_compute_dtype(NULL, TK_DTYPE_F64), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_batch_hint(NULL, 8), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_memory_limit(NULL, 8), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_precision(NULL, TK_PRECISION_FP16), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(NULL, TK_LOSS_SCALING_AUTO, 65536, 2, 0.5, 2000), NULL_ARG);

  EXPECT_STATUS(tk_trainer_create(NULL, TK_LOSS_MSE, NULL, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_step(NULL, &v, &v, &f), NULL_ARG);
  EXPECT_STATUS(tk_trainer_evaluate(NULL, &v, &v, &d, &d), NULL_ARG);
  EXPECT_STATUS(tk_trainer_predict(NULL, &v, 0, &v), NULL_ARG);
  EXPECT_STATUS(tk_trainer_step_count(NULL, &count), NULL_ARG);
  EXPECT_STATUS(tk_trainer_skipped_steps(NULL, &count), NULL_ARG);
  EXPECT_STATUS(tk_trainer_learning_rate(NULL, &d), NULL_ARG);
  EXPECT_STATUS(tk_trainer_last_grad_norm(NULL, &d), NULL_ARG);
  EXPECT_STATUS(tk_trainer_num_parameter_tensors(NULL, &rank), NULL_ARG);
  EXPECT_STATUS(tk_trainer_parameter_info(NULL, 0, name, sizeof name, &rank, shape), NULL_ARG);
  EXPECT_STATUS(tk_trainer_get_parameter(NULL, 0, &v), NULL_ARG);
  EXPECT_STATUS(tk_trainer_set_parameter(NULL, 0, &v), NULL_ARG);
  EXPECT_STATUS(tk_trainer_num_parameters(NULL, &count), NULL_ARG);
  EXPECT_STATUS(tk_trainer_copy_parameters(NULL, &f, 1), NULL_ARG);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(NULL, NULL, 8, &d, &d), NULL_ARG);
  {
    tk_step_report report;
    report.struct_size = sizeof report;
    EXPECT_STATUS(tk_trainer_step_report(NULL, &v, &v, &report), NULL_ARG);
    EXPECT_STATUS(tk_trainer_step_async(NULL, &v, &v), NULL_ARG);
    EXPECT_STATUS(tk_trainer_wait(NULL, &report), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_cuda_graphs(NULL, 1), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_sync_batch_norm(NULL, 1), NULL_ARG);
    EXPECT_STATUS(tk_trainer_loss_scale(NULL, &d, &count, &count), NULL_ARG);
  }

  EXPECT_STATUS(tk_dataset_load_idx(NULL, "y", NULL), NULL_ARG);
  EXPECT_STATUS(tk_dataset_create(&v, &v, NULL), NULL_ARG);
  EXPECT_STATUS(tk_dataset_normalize(NULL, TK_NORMALIZE_UNIT_RANGE, 0, 1), NULL_ARG);
  EXPECT_STATUS(tk_dataset_stats(NULL, &d, &d), NULL_ARG);
  EXPECT_STATUS(tk_dataset_size(NULL, &count), NULL_ARG);
  EXPECT_STATUS(tk_dataset_sample_shape(NULL, &rank, shape), NULL_ARG);
  EXPECT_STATUS(tk_batcher_create(NULL, 8, 1, 0, 0, NULL), NULL_ARG);
  EXPECT_STATUS(tk_batcher_reset(NULL, 0), NULL_ARG);
  EXPECT_STATUS(tk_batcher_next(NULL, &v, &v, &has), NULL_ARG);
  {
    tk_model* m = NULL;
    size_t length;
    EXPECT_STATUS(tk_model_from_spec(NULL, &m), NULL_ARG);
    EXPECT_STATUS(tk_model_from_spec("{}", NULL), NULL_ARG);
    EXPECT_STATUS(tk_model_load_spec(NULL, &m), NULL_ARG);
    EXPECT_STATUS(tk_model_save_spec(NULL, "x"), NULL_ARG);
    EXPECT_STATUS(tk_model_spec_length(NULL, &length), NULL_ARG);
    EXPECT_STATUS(tk_model_spec(NULL, name, sizeof name), NULL_ARG);
    EXPECT_STATUS(tk_trainer_save(NULL, "x", NULL), NULL_ARG);
    EXPECT_STATUS(tk_trainer_save_keep_last(NULL, "x", 2, NULL, NULL, 0), NULL_ARG);
    EXPECT_STATUS(tk_trainer_load(NULL, "x", NULL), NULL_ARG);
    EXPECT_STATUS(tk_trainer_export_weights(NULL, "x", TK_DTYPE_F32), NULL_ARG);
    EXPECT_STATUS(tk_trainer_import_weights(NULL, "x"), NULL_ARG);
    EXPECT_STATUS(tk_trainer_set_property(NULL, "k", "v"), NULL_ARG);
    EXPECT_STATUS(tk_trainer_get_property(NULL, "k", name, sizeof name, &length), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_replicas(NULL, 2), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_bucket_bytes(NULL, 4096), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_distributed(NULL, TK_DISTRIBUTED_MPI), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_communication_timeout(NULL, 1), NULL_ARG);
    EXPECT_STATUS(tk_trainer_world(NULL, &rank, &rank), NULL_ARG);
    EXPECT_STATUS(tk_batcher_set_shard(NULL, 0, 1), NULL_ARG);
    EXPECT_STATUS(tk_model_reshape(NULL, 0, 1, shape, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_conv2d(NULL, 0, 4, 3, 1, 1, 1, 1, 1, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_max_pool2d(NULL, 0, 2, 2, 0, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_avg_pool2d(NULL, 0, 2, 2, 0, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_global_avg_pool(NULL, 0, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_batch_norm(NULL, 0, 1e-5, 0.1, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_layer_norm(NULL, 0, 1, 1e-5, &node), NULL_ARG);
    EXPECT_STATUS(tk_model_dropout2d(NULL, 0, 0.1, &node), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_cuda_device(NULL, 0), NULL_ARG);
    EXPECT_STATUS(tk_trainer_device_name(NULL, name, sizeof name), NULL_ARG);
    EXPECT_STATUS(tk_gpu_count(NULL, NULL, 0), NULL_ARG);
    EXPECT_STATUS(tk_gpu_info_get(0, NULL), NULL_ARG);
    EXPECT_STATUS(tk_trainer_options_set_rendezvous(NULL, 0, 1, no_broadcast, NULL), NULL_ARG);
  }
}

/* GPUs: this binary links the C API statically and has no libtrainkit_cuda.so
 * beside it, so it sees none; every GPU request says so, and auto is the CPU. */
static void test_gpus(void) {
  int32_t count = -1;
  char reason[512] = "x", device[64];
  tk_gpu_info info;
  tk_model* m;
  tk_node x, y;
  int64_t features = 3;
  tk_trainer_options* o;
  tk_trainer* t = NULL;
  EXPECT_STATUS(tk_gpu_count(&count, reason, sizeof reason), TK_OK);
  if (count > 0) return; /* a machine with the plugin on its library path and a GPU */
  EXPECT(count == 0 && strlen(reason) > 0);
  info.struct_size = sizeof info;
  EXPECT_STATUS(tk_gpu_info_get(0, &info), INVALID);
  info.struct_size = 4;
  EXPECT_STATUS(tk_gpu_info_get(0, &info), INVALID);
  EXPECT_STATUS(tk_model_create(&m), TK_OK);
  EXPECT_STATUS(tk_model_input(m, "x", 1, &features, &x), TK_OK);
  EXPECT_STATUS(tk_model_linear(m, x, 2, &y), TK_OK);
  EXPECT_STATUS(tk_model_output(m, y, "logits"), TK_OK);
  EXPECT_STATUS(tk_trainer_options_create(&o), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_cuda_device(o, -1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_device(o, TK_DEVICE_CUDA), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_ERROR_UNSUPPORTED);
  EXPECT(t == NULL);
  EXPECT(strstr(tk_last_error_message(), "no GPU can be used") != NULL);
  /* NCCL through a rendezvous: checked arguments, and no GPU is a clear error. */
  EXPECT_STATUS(tk_trainer_options_set_rendezvous(o, 0, 2, NULL, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_options_set_rendezvous(o, 2, 2, no_broadcast, NULL), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_rendezvous(o, 0, 0, no_broadcast, NULL), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_rendezvous(o, 1, 2, no_broadcast, NULL), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_NCCL), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_ERROR_UNSUPPORTED);
  EXPECT(t == NULL);
  EXPECT_STATUS(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_NONE), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_device(o, TK_DEVICE_AUTO), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  EXPECT_STATUS(tk_trainer_device_name(t, device, sizeof device), TK_OK);
  EXPECT(strcmp(device, "cpu") == 0);
  EXPECT_STATUS(tk_trainer_device_name(t, device, 0), INVALID);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
}

static void test_null_out_params(void) {
  tk_model* m = small_model();
  tk_trainer* t = NULL;
  int64_t shape[1] = {4};
  int32_t rank;
  EXPECT_STATUS(tk_model_input(m, "z", 1, shape, NULL), NULL_ARG);
  EXPECT_STATUS(tk_model_input(m, NULL, 1, shape, NULL), NULL_ARG);
  EXPECT_STATUS(tk_model_relu(m, 0, NULL), NULL_ARG);
  EXPECT_STATUS(tk_model_node_shape(m, 0, NULL, shape), NULL_ARG);
  EXPECT_STATUS(tk_model_node_shape(m, 0, &rank, NULL), NULL_ARG);
  EXPECT_STATUS(tk_model_num_parameters(m, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &t), TK_OK);
  EXPECT_STATUS(tk_trainer_step(t, NULL, NULL, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_step_count(t, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_learning_rate(t, NULL), NULL_ARG);
  EXPECT_STATUS(tk_trainer_copy_parameters(t, NULL, 0), NULL_ARG);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

static void test_model_errors(void) {
  tk_model* m;
  tk_node x, h, other, out = -7;
  int64_t shape[2] = {4, 2}, bad_shape[1] = {0};
  char name[8];
  int32_t rank;
  int64_t got[TK_MAX_RANK], params;
  EXPECT_STATUS(tk_model_create(&m), TK_OK);
  EXPECT_STATUS(tk_model_input(m, "x", 0, shape, &x), INVALID);
  EXPECT_STATUS(tk_model_input(m, "x", 9, shape, &x), INVALID);
  EXPECT_STATUS(tk_model_input(m, "x", TK_MAX_RANK, shape, &x), INVALID); /* no room for the batch */
  EXPECT_STATUS(tk_model_input(m, "x", 1, bad_shape, &x), INVALID);
  EXPECT_STATUS(tk_model_input(m, "x", 2, shape, &x), TK_OK);
  EXPECT_STATUS(tk_model_input(m, "x", 1, shape, &other), INVALID); /* duplicate name */
  EXPECT_STATUS(tk_model_linear(m, x, 0, &out), INVALID);
  EXPECT(out == -7); /* untouched on error */
  EXPECT_STATUS(tk_model_linear(m, 99, 3, &out), INVALID);
  EXPECT_STATUS(tk_model_linear(m, -1, 3, &out), INVALID);
  EXPECT_STATUS(tk_model_linear_ex(m, x, 3, 2, TK_INIT_ZEROS, &out), INVALID);
  EXPECT_STATUS(tk_model_linear_ex(m, x, 3, 1, (tk_init)17, &out), INVALID);
  EXPECT_STATUS(tk_model_dropout(m, x, 1.0, &out), INVALID);
  EXPECT_STATUS(tk_model_dropout(m, x, NAN, &out), INVALID);
  EXPECT(out == -7);
  EXPECT_STATUS(tk_model_linear(m, x, 3, &h), TK_OK);
  EXPECT_STATUS(tk_model_node_shape(m, h, &rank, got), TK_OK);
  EXPECT(rank == 2 && got[0] == 4 && got[1] == 3);
  EXPECT_STATUS(tk_model_add(m, x, h, &out), TK_ERROR_SHAPE_MISMATCH);
  EXPECT(strstr(tk_last_error_message(), "[4, 2] and [4, 3]") != NULL);
  EXPECT_STATUS(tk_model_output(m, x, "y"), INVALID); /* an input is not an output */
  EXPECT_STATUS(tk_model_set_node_name(m, h, "x"), INVALID);
  EXPECT_STATUS(tk_model_set_node_name(m, h, "hidden"), TK_OK);
  EXPECT_STATUS(tk_model_node_name(m, h, name, sizeof name), TK_OK);
  EXPECT(strcmp(name, "hidden") == 0);
  EXPECT_STATUS(tk_model_node_name(m, h, name, 3), TK_OK);
  EXPECT(strcmp(name, "hi") == 0); /* truncated, NUL-terminated */
  EXPECT_STATUS(tk_model_node_name(m, h, name, 0), INVALID);
  EXPECT_STATUS(tk_model_num_parameters(m, &params), TK_OK);
  EXPECT(params == 2 * 3 + 3);
  tk_model_destroy(m);

  /* Sizes that would overflow are refused, not wrapped. */
  {
    int64_t wide[1] = {(int64_t)1 << 31};
    tk_node in, big;
    EXPECT_STATUS(tk_model_create(&m), TK_OK);
    EXPECT_STATUS(tk_model_input(m, "wide", 1, wide, &in), TK_OK);
    EXPECT_STATUS(tk_model_linear_ex(m, in, (int64_t)1 << 31, 0, TK_INIT_ZEROS, &big), TK_ERROR_OUT_OF_MEMORY);
    tk_model_destroy(m);
  }
}

static void test_convolution_errors(void) {
  tk_model* m;
  tk_node x, c, out = -7;
  int64_t image[2] = {8, 8}, chw[3] = {1, 8, 8}, bad[3] = {1, 9, 8}, rank;
  int32_t r;
  int64_t got[TK_MAX_RANK];
  EXPECT_STATUS(tk_model_create(&m), TK_OK);
  EXPECT_STATUS(tk_model_input(m, "image", 2, image, &x), TK_OK);
  EXPECT_STATUS(tk_model_conv2d(m, x, 4, 3, 1, 1, 1, 1, 1, &out), TK_ERROR_SHAPE_MISMATCH); /* not [C, H, W] */
  EXPECT(out == -7);
  EXPECT_STATUS(tk_model_reshape(m, x, 3, bad, &out), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_model_reshape(m, x, 3, chw, &x), TK_OK);
  EXPECT_STATUS(tk_model_conv2d(m, x, 4, 0, 1, 1, 1, 1, 1, &out), INVALID);  /* kernel 0 */
  EXPECT_STATUS(tk_model_conv2d(m, x, 3, 3, 1, 1, 1, 2, 1, &out), INVALID);  /* 3 outputs in 2 groups */
  EXPECT_STATUS(tk_model_conv2d(m, x, 4, 3, 1, 1, 1, 2, 1, &out), TK_ERROR_SHAPE_MISMATCH); /* 1 input channel */
  EXPECT_STATUS(tk_model_conv2d(m, x, 4, 11, 1, 0, 1, 1, 1, &out), TK_ERROR_SHAPE_MISMATCH); /* window too big */
  EXPECT_STATUS(tk_model_conv2d(m, x, 4, 3, 2, 1, 1, 1, 2, &out), INVALID);  /* bias 2 */
  EXPECT_STATUS(tk_model_conv2d(m, x, 4, 3, 2, 1, 1, 1, 1, &c), TK_OK);
  EXPECT_STATUS(tk_model_node_shape(m, c, &r, got), TK_OK);
  EXPECT(r == 3 && got[0] == 4 && got[1] == 4 && got[2] == 4);
  EXPECT_STATUS(tk_model_max_pool2d(m, c, 2, 2, 2, &out), INVALID);  /* padding over half the kernel */
  EXPECT_STATUS(tk_model_max_pool2d(m, c, 2, 2, 0, &out), TK_OK);
  EXPECT_STATUS(tk_model_global_avg_pool(m, c, &out), TK_OK);
  EXPECT_STATUS(tk_model_node_shape(m, out, &r, got), TK_OK);
  EXPECT(r == 1 && got[0] == 4);
  (void)rank;
  tk_model_destroy(m);
}

static void test_normalization_errors(void) {
  tk_model* m;
  tk_node x, c, out = -7;
  int64_t chw[3] = {2, 4, 4};
  int32_t r;
  int64_t got[TK_MAX_RANK];
  EXPECT_STATUS(tk_model_create(&m), TK_OK);
  EXPECT_STATUS(tk_model_input(m, "image", 3, chw, &x), TK_OK);
  EXPECT_STATUS(tk_model_batch_norm(m, x, 0.0, 0.1, &out), INVALID);   /* eps must be > 0 */
  EXPECT_STATUS(tk_model_batch_norm(m, x, 1e-5, 1.5, &out), INVALID);  /* momentum in [0, 1] */
  EXPECT_STATUS(tk_model_batch_norm(m, x, 1e-5, 0.0 / 0.0, &out), INVALID);
  EXPECT(out == -7);
  EXPECT_STATUS(tk_model_batch_norm(m, x, 1e-5, 0.1, &c), TK_OK);
  EXPECT_STATUS(tk_model_node_shape(m, c, &r, got), TK_OK);
  EXPECT(r == 3 && got[0] == 2 && got[1] == 4 && got[2] == 4);
  EXPECT_STATUS(tk_model_layer_norm(m, c, 4, 1e-5, &out), TK_ERROR_SHAPE_MISMATCH); /* rank 3 has no 4 axes */
  EXPECT_STATUS(tk_model_layer_norm(m, c, 0, 1e-5, &out), INVALID);
  EXPECT_STATUS(tk_model_layer_norm(m, c, 2, -1.0, &out), INVALID);
  EXPECT_STATUS(tk_model_layer_norm(m, c, 2, 1e-5, &out), TK_OK);
  EXPECT_STATUS(tk_model_dropout2d(m, out, 1.0, &out), INVALID);
  EXPECT_STATUS(tk_model_dropout2d(m, out, 0.2, &out), TK_OK);
  EXPECT_STATUS(tk_model_flatten(m, out, &out), TK_OK);
  EXPECT_STATUS(tk_model_dropout2d(m, out, 0.2, &c), TK_ERROR_SHAPE_MISMATCH); /* [features] has no channels */
  EXPECT(tk_model_num_parameters(m, &chw[0]) == TK_OK && chw[0] == 2 * 2 + 2 * 16);
  tk_model_destroy(m);
}

static void test_options(void) {
  tk_trainer_options* o;
  EXPECT_STATUS(tk_trainer_options_create(&o), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_optimizer(o, (tk_optimizer)9), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_learning_rate(o, -1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_learning_rate(o, NAN), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_learning_rate(o, INFINITY), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_cuda_graphs(o, 2), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_cuda_graphs(o, 0), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_sync_batch_norm(o, 2), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_sync_batch_norm(o, -1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_sync_batch_norm(o, 1), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_sync_batch_norm(o, 0), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_momentum(o, 1.5, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_momentum(o, 0.9, 2), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_momentum(o, 0.0, 1), INVALID); /* Nesterov needs momentum */
  EXPECT_STATUS(tk_trainer_options_set_weight_decay(o, -0.1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_adam(o, 1.0, 0.999, 1e-8), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_adam(o, 0.9, -0.1, 1e-8), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_adam(o, 0.9, 0.999, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_schedule(o, (tk_schedule)7, 0, 1, 0.1, 0, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_schedule(o, TK_SCHEDULE_COSINE, 10, 1, 0.1, 10, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_schedule(o, TK_SCHEDULE_STEP, 0, 0, 0.1, 0, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_schedule(o, TK_SCHEDULE_CONSTANT, -1, 1, 0.1, 0, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_clip_norm(o, -1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_clip_norm(o, NAN), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_accumulation_steps(o, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_threads(o, -1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_reduction(o, (tk_reduction)5), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_nonfinite(o, (tk_nonfinite)9), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_device(o, (tk_device)9), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_compute_dtype(o, TK_DTYPE_I32), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_batch_hint(o, -1), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_batch_hint(o, (int64_t)1 << 62), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_replicas(o, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_replicas(o, 257), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_bucket_bytes(o, 10), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_distributed(o, (tk_distributed)5), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_communication_timeout(o, 0), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_communication_timeout(o, NAN), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_threads(o, 2147483647), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_precision(o, (tk_precision)9), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, (tk_loss_scaling)5, 65536, 2, 0.5, 2000), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, TK_LOSS_SCALING_DYNAMIC, 0, 2, 0.5, 2000), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, TK_LOSS_SCALING_DYNAMIC, INFINITY, 2, 0.5, 2000), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, TK_LOSS_SCALING_DYNAMIC, 65536, 1.0, 0.5, 2000), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, TK_LOSS_SCALING_DYNAMIC, 65536, 2, 1.5, 2000), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, TK_LOSS_SCALING_DYNAMIC, 65536, 2, 0.5, 0), INVALID);
  /* Mixed precision keeps f32 master weights: f64 and fp16 do not combine. */
  EXPECT_STATUS(tk_trainer_options_set_compute_dtype(o, TK_DTYPE_F64), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_precision(o, TK_PRECISION_FP16), INVALID);
  EXPECT_STATUS(tk_trainer_options_set_compute_dtype(o, TK_DTYPE_F32), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_precision(o, TK_PRECISION_BF16), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_compute_dtype(o, TK_DTYPE_F64), INVALID);
  /* Valid values are accepted. */
  EXPECT_STATUS(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAMW), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_momentum(o, 0.9, 1), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_schedule(o, TK_SCHEDULE_COSINE, 2, 1, 0.1, 100, 1e-5), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_device(o, TK_DEVICE_CPU), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_memory_limit(o, 0), TK_OK);
  tk_trainer_options_destroy(o);
}

static void test_trainer_errors(void) {
  tk_model* m = small_model();
  tk_model* no_output;
  tk_trainer *t, *untouched = (tk_trainer*)&passed;
  tk_node x;
  int64_t in4[2] = {2, 4}, in5[2] = {2, 5}, lab_shape[1] = {2}, big_rank[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  float inputs[10] = {0.1f, 0.2f, 0.3f, 0.4f, -0.1f, -0.2f, -0.3f, -0.4f, 0, 0};
  float loss = -1, out[6];
  int32_t labels[2] = {0, 2}, bad_labels[2] = {0, 3};
  double d;

  EXPECT_STATUS(tk_model_create(&no_output), TK_OK);
  EXPECT_STATUS(tk_model_input(no_output, "x", 1, in4 + 1, &x), TK_OK);
  EXPECT_STATUS(tk_trainer_create(no_output, TK_LOSS_MSE, NULL, &untouched), INVALID);
  EXPECT(untouched == (tk_trainer*)&passed);
  tk_model_destroy(no_output);
  EXPECT_STATUS(tk_trainer_create(m, (tk_loss)7, NULL, &t), INVALID);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &t), TK_OK);
  tk_model_destroy(m); /* the trainer holds its own copy */

  tk_tensor_view in = tk_view_f32(inputs, 2, in4), lab = tk_view_i32(labels, 1, lab_shape);
  tk_tensor_view wrong_in = tk_view_f32(inputs, 2, in5);
  tk_tensor_view float_lab = tk_view_f32(inputs, 1, lab_shape);
  tk_tensor_view bad_lab = tk_view_i32(bad_labels, 1, lab_shape);
  tk_tensor_view rank9 = tk_view_f32(inputs, 9, big_rank);
  tk_tensor_view no_data = tk_view_f32(NULL, 2, in4);
  tk_tensor_view bad_dtype = in;
  bad_dtype.dtype = 42;

  EXPECT_STATUS(tk_trainer_step(t, &wrong_in, &lab, &loss), TK_ERROR_SHAPE_MISMATCH);
  EXPECT(strstr(tk_last_error_message(), "[batch, 4]") != NULL);
  EXPECT_STATUS(tk_trainer_step(t, &in, &float_lab, &loss), TK_ERROR_DTYPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_step(t, &in, &bad_lab, &loss), INVALID);
  EXPECT_STATUS(tk_trainer_step(t, &rank9, &lab, &loss), INVALID);
  EXPECT_STATUS(tk_trainer_step(t, &no_data, &lab, &loss), NULL_ARG);
  EXPECT_STATUS(tk_trainer_step(t, &bad_dtype, &lab, &loss), TK_ERROR_DTYPE_MISMATCH);
  {
    int64_t lying_shape[2] = {(int64_t)1 << 62, 4}, strides[2] = {(int64_t)1 << 62, 1};
    tk_tensor_view lying = tk_view_f32(inputs, 2, lying_shape), far = in;
    memcpy(far.strides, strides, sizeof strides);
    EXPECT_STATUS(tk_trainer_step(t, &lying, &lab, &loss), INVALID);
    EXPECT_STATUS(tk_trainer_step(t, &far, &lab, &loss), INVALID);
  }
  inputs[1] = NAN;
  EXPECT_STATUS(tk_trainer_step(t, &in, &lab, &loss), TK_ERROR_NON_FINITE);
  inputs[1] = INFINITY;
  EXPECT_STATUS(tk_trainer_step(t, &in, &lab, &loss), TK_ERROR_NON_FINITE);
  EXPECT(loss == -1); /* untouched on error */
  inputs[1] = 0.2f;
  EXPECT_STATUS(tk_trainer_step(t, &in, &lab, &loss), TK_OK);
  EXPECT(loss > 0 && isfinite(loss));

  int64_t steps;
  EXPECT_STATUS(tk_trainer_step_count(t, &steps), TK_OK);
  EXPECT(steps == 1);
  EXPECT_STATUS(tk_trainer_evaluate(t, &wrong_in, &lab, &d, &d), TK_ERROR_SHAPE_MISMATCH);

  int64_t out_shape[2] = {2, 3}, wrong_out[2] = {2, 4};
  tk_tensor_view o = tk_view_f32(out, 2, out_shape), wrong_o = tk_view_f32(out, 2, wrong_out);
  tk_tensor_view int_o = tk_view_i32(labels, 2, out_shape);
  EXPECT_STATUS(tk_trainer_predict(t, &in, 2, &o), INVALID);
  EXPECT_STATUS(tk_trainer_predict(t, &in, 1, &wrong_o), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_predict(t, &in, 1, &int_o), TK_ERROR_DTYPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_predict(t, &in, 1, &o), TK_OK);
  EXPECT(fabsf(out[0] + out[1] + out[2] - 1.0f) < 1e-5f);

  /* Parameters. */
  int32_t tensors, rank;
  int64_t shape[TK_MAX_RANK], total;
  char name[32];
  float weight[20], copy[20], all[100];
  EXPECT_STATUS(tk_trainer_num_parameter_tensors(t, &tensors), TK_OK);
  EXPECT(tensors == 4);
  EXPECT_STATUS(tk_trainer_parameter_info(t, 0, name, sizeof name, &rank, shape), TK_OK);
  EXPECT(strcmp(name, "linear_1.weight") == 0 && rank == 2 && shape[0] == 5 && shape[1] == 4);
  EXPECT_STATUS(tk_trainer_parameter_info(t, 4, name, sizeof name, &rank, shape), INVALID);
  EXPECT_STATUS(tk_trainer_parameter_info(t, -1, name, sizeof name, &rank, shape), INVALID);
  name[0] = 'Q';
  EXPECT_STATUS(tk_trainer_parameter_info(t, 0, name, sizeof name, &rank, NULL), NULL_ARG);
  EXPECT(name[0] == 'Q'); /* untouched on error */
  tk_tensor_view w = tk_view_f32(weight, 2, shape), c = tk_view_f32(copy, 2, shape);
  tk_tensor_view w_wrong = tk_view_f32(weight, 1, shape);
  int i;
  for (i = 0; i < 20; ++i) weight[i] = (float)i;
  EXPECT_STATUS(tk_trainer_set_parameter(t, 0, &w_wrong), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_set_parameter(t, 0, &w), TK_OK);
  EXPECT_STATUS(tk_trainer_get_parameter(t, 0, &c), TK_OK);
  EXPECT(memcmp(weight, copy, sizeof weight) == 0);
  EXPECT_STATUS(tk_trainer_num_parameters(t, &total), TK_OK);
  EXPECT(total == 5 * 4 + 5 + 3 * 5 + 3);
  EXPECT_STATUS(tk_trainer_copy_parameters(t, all, total + 1), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_trainer_copy_parameters(t, all, total), TK_OK);
  EXPECT(memcmp(all, weight, sizeof weight) == 0);
  tk_trainer_destroy(t);
}

static void test_mixed_precision(void) {
  tk_model* m = small_model();
  tk_trainer_options* o;
  tk_trainer* t;
  int64_t in_shape[2] = {2, 4}, lab_shape[1] = {2}, tracker, skipped;
  float inputs[8] = {0.1f, 0.2f, 0.3f, 0.4f, -0.1f, -0.2f, -0.3f, -0.4f};
  int32_t labels[2] = {0, 2};
  double scale;
  tk_step_report report;
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, lab_shape);

  EXPECT_STATUS(tk_trainer_options_create(&o), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_precision(o, TK_PRECISION_FP16), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_loss_scaling(o, TK_LOSS_SCALING_AUTO, 256, 2, 0.5, 1), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  EXPECT_STATUS(tk_trainer_loss_scale(t, &scale, &tracker, &skipped), TK_OK);
  EXPECT(scale == 256 && tracker == 0 && skipped == 0);

  report.struct_size = 0;
  EXPECT_STATUS(tk_trainer_step_report(t, &in, &lab, &report), INVALID);
  report.struct_size = sizeof report;
  EXPECT_STATUS(tk_trainer_step_report(t, &in, &lab, &report), TK_OK);
  EXPECT(report.applied == 1 && report.skipped == 0 && report.step == 1 && report.loss_scale == 256);
  EXPECT(report.loss > 0 && report.grad_norm > 0 && report.learning_rate == 0.01);
  EXPECT_STATUS(tk_trainer_loss_scale(t, &scale, &tracker, &skipped), TK_OK);
  EXPECT(scale == 512); /* growth interval 1 */

  inputs[0] = 1e6f; /* Inf in f16: the step is skipped, not an error */
  EXPECT_STATUS(tk_trainer_step_report(t, &in, &lab, &report), TK_OK);
  EXPECT(report.applied == 0 && report.skipped == 1 && report.step == 1 && report.loss_scale == 512);
  EXPECT_STATUS(tk_trainer_loss_scale(t, &scale, &tracker, &skipped), TK_OK);
  EXPECT(scale == 256 && skipped == 1);

  /* A caller built against a smaller, older report gets only what fits. */
  {
    unsigned char bytes[sizeof(tk_step_report) + 8];
    tk_step_report* old = (tk_step_report*)bytes;
    memset(bytes, 0xAB, sizeof bytes);
    old->struct_size = 16; /* up to and including `loss` */
    inputs[0] = 0.1f;
    EXPECT_STATUS(tk_trainer_step_report(t, &in, &lab, old), TK_OK);
    EXPECT(bytes[16] == 0xAB && bytes[sizeof bytes - 1] == 0xAB);
    EXPECT(old->applied == 1);
  }

  /* Queued steps: wait reports the last one; bad input fails at once. */
  EXPECT_STATUS(tk_trainer_step_async(t, &in, &lab), TK_OK);
  EXPECT_STATUS(tk_trainer_step_async(t, &in, &lab), TK_OK);
  EXPECT_STATUS(tk_trainer_step_async(t, &lab, &lab), TK_ERROR_DTYPE_MISMATCH);
  report.struct_size = 0;
  EXPECT_STATUS(tk_trainer_wait(t, &report), INVALID);
  report.struct_size = sizeof report;
  EXPECT_STATUS(tk_trainer_wait(t, &report), TK_OK);
  EXPECT(report.applied == 1 && report.step == 4 && report.loss > 0);
  EXPECT_STATUS(tk_trainer_wait(t, NULL), TK_OK);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
}

static void test_replicas(void) {
  tk_model* m = small_model();
  tk_trainer_options* o;
  tk_trainer *t, *single;
  float inputs[16] = {0.1f, 0.2f, 0.3f, 0.4f, -0.1f, -0.2f, -0.3f, -0.4f, 0.5f, 0.1f, 0.0f, 0.2f, 0.3f, 0.3f, 0.1f, 0.9f};
  int32_t labels[4] = {0, 2, 1, 0}, rank, size;
  int64_t in_shape[2] = {4, 4}, lab_shape[1] = {4}, one_shape[2] = {1, 4}, one_label[1] = {1};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, lab_shape);
  tk_tensor_view one = tk_view_f32(inputs, 2, one_shape), one_lab = tk_view_i32(labels, 1, one_label);
  float a[64], b[64];
  int64_t count;
  int i, same = 1;
  EXPECT_STATUS(tk_trainer_options_create(&o), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_replicas(o, 2), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_MPI), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), INVALID); /* MPI: one per process */
  EXPECT_STATUS(tk_trainer_options_set_distributed(o, TK_DISTRIBUTED_NONE), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &single), TK_OK);
  EXPECT_STATUS(tk_trainer_world(t, &rank, &size), TK_OK);
  EXPECT(rank == 0 && size == 1);
  EXPECT_STATUS(tk_trainer_step(t, &one, &one_lab, NULL), TK_ERROR_SHAPE_MISMATCH); /* 1 row, 2 replicas */
  for (i = 0; i < 3; ++i) {
    EXPECT_STATUS(tk_trainer_step(t, &in, &lab, NULL), TK_OK);
    EXPECT_STATUS(tk_trainer_step(single, &in, &lab, NULL), TK_OK);
  }
  EXPECT_STATUS(tk_trainer_num_parameters(t, &count), TK_OK);
  EXPECT_STATUS(tk_trainer_copy_parameters(t, a, count), TK_OK);
  EXPECT_STATUS(tk_trainer_copy_parameters(single, b, count), TK_OK);
  for (i = 0; i < count; ++i) same = same && fabsf(a[i] - b[i]) <= 1e-5f * (fabsf(b[i]) > 1 ? fabsf(b[i]) : 1);
  EXPECT(same);
  tk_trainer_destroy(single);
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
  tk_model_destroy(m);
}

static void test_persistence(void) {
  tk_model* m = small_model();
  tk_model* rebuilt = NULL;
  tk_trainer* t;
  size_t length, needed;
  char* spec;
  char value[16];
  char path[256], written[256];
  const char* dir = getenv("TEST_TMPDIR");
  float inputs[8] = {0.1f, 0.2f, 0.3f, 0.4f, -0.1f, -0.2f, -0.3f, -0.4f};
  int32_t labels[2] = {0, 2};
  int64_t in_shape[2] = {2, 4}, lab_shape[1] = {2};
  tk_tensor_view in = tk_view_f32(inputs, 2, in_shape), lab = tk_view_i32(labels, 1, lab_shape);
  if (!dir) dir = "/tmp";

  EXPECT_STATUS(tk_model_spec_length(m, &length), TK_OK);
  spec = (char*)malloc(length);
  EXPECT_STATUS(tk_model_spec(m, spec, length - 1), INVALID);
  EXPECT_STATUS(tk_model_spec(m, spec, length), TK_OK);
  EXPECT(strlen(spec) + 1 == length && strstr(spec, "\"linear\"") != NULL);
  EXPECT_STATUS(tk_model_from_spec(spec, &rebuilt), TK_OK);
  EXPECT_STATUS(tk_model_spec_length(rebuilt, &needed), TK_OK);
  EXPECT(needed == length);
  tk_model_destroy(rebuilt);
  rebuilt = (tk_model*)&passed;
  EXPECT_STATUS(tk_model_from_spec("{\"format\": \"trainkit-model\", \"version\": 1, \"nodes\": 3}", &rebuilt), INVALID);
  EXPECT(rebuilt == (tk_model*)&passed);
  EXPECT_STATUS(tk_model_from_spec("not json", &rebuilt), INVALID);
  snprintf(path, sizeof path, "%s/capi-spec.json", dir);
  EXPECT_STATUS(tk_model_save_spec(m, path), TK_OK);
  EXPECT_STATUS(tk_model_load_spec(path, &rebuilt), TK_OK);
  tk_model_destroy(rebuilt);
  EXPECT_STATUS(tk_model_load_spec("/nonexistent/spec.json", &rebuilt), TK_ERROR_IO);
  free(spec);

  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &t), TK_OK);
  EXPECT_STATUS(tk_trainer_step(t, &in, &lab, NULL), TK_OK);
  EXPECT_STATUS(tk_trainer_set_property(t, "", "v"), INVALID);
  EXPECT_STATUS(tk_trainer_set_property(t, "run", "nightly"), TK_OK);
  EXPECT_STATUS(tk_trainer_get_property(t, "missing", value, sizeof value, &length), INVALID);
  EXPECT_STATUS(tk_trainer_get_property(t, "run", value, 3, &length), TK_OK);
  EXPECT(length == 8); /* too small: only the length */
  EXPECT_STATUS(tk_trainer_get_property(t, "run", value, sizeof value, &length), TK_OK);
  EXPECT(strcmp(value, "nightly") == 0);
  snprintf(path, sizeof path, "%s/capi-checkpoint.safetensors", dir);
  EXPECT_STATUS(tk_trainer_save(t, path, NULL), TK_OK);
  EXPECT_STATUS(tk_trainer_save(t, "/nonexistent/dir/x.safetensors", NULL), TK_ERROR_IO);
  EXPECT_STATUS(tk_trainer_step(t, &in, &lab, NULL), TK_OK);
  EXPECT_STATUS(tk_trainer_set_property(t, "run", "changed"), TK_OK);
  EXPECT_STATUS(tk_trainer_load(t, path, NULL), TK_OK);
  EXPECT_STATUS(tk_trainer_get_property(t, "run", value, sizeof value, &length), TK_OK);
  EXPECT(strcmp(value, "nightly") == 0);
  {
    int64_t steps;
    EXPECT_STATUS(tk_trainer_step_count(t, &steps), TK_OK);
    EXPECT(steps == 1);
  }
  EXPECT_STATUS(tk_trainer_load(t, "/nonexistent/x.safetensors", NULL), TK_ERROR_IO);
  EXPECT_STATUS(tk_trainer_load(t, path, (tk_batcher*)NULL), TK_OK);
  snprintf(path, sizeof path, "%s/capi-spec.json", dir); /* not a safetensors file */
  EXPECT_STATUS(tk_trainer_load(t, path, NULL), TK_ERROR_CORRUPT_DATA);
  snprintf(path, sizeof path, "%s/capi-weights.safetensors", dir);
  EXPECT_STATUS(tk_trainer_export_weights(t, path, TK_DTYPE_I32), INVALID);
  EXPECT_STATUS(tk_trainer_export_weights(t, path, (tk_dtype)77), INVALID);
  EXPECT_STATUS(tk_trainer_export_weights(t, path, TK_DTYPE_BF16), TK_OK);
  EXPECT_STATUS(tk_trainer_import_weights(t, path), TK_OK);
  snprintf(path, sizeof path, "%s/capi-rotating", dir);
  EXPECT_STATUS(tk_trainer_save_keep_last(t, path, 0, NULL, written, sizeof written), INVALID);
  EXPECT_STATUS(tk_trainer_save_keep_last(t, path, 3, NULL, written, sizeof written), TK_OK);
  EXPECT(strstr(written, "capi-rotating-0000000001.safetensors") != NULL);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

static void test_data_errors(void) {
  tk_dataset *ds = NULL, *untouched = (tk_dataset*)&failed;
  tk_batcher* b;
  float x[6] = {0, 1, 2, 3, 4, 5};
  int32_t y[3] = {0, 1, 0};
  int64_t xs[2] = {3, 2}, ys[1] = {2}, ys3[1] = {3}, size;
  double d;
  tk_tensor_view fx = tk_view_f32(x, 2, xs), fy = tk_view_i32(y, 1, ys), fy3 = tk_view_i32(y, 1, ys3);
  tk_tensor_view features, targets;
  int32_t has;

  EXPECT_STATUS(tk_dataset_load_idx("/nonexistent/images.gz", "/nonexistent/labels.gz", &untouched), TK_ERROR_IO);
  EXPECT(untouched == (tk_dataset*)&failed);
  EXPECT(strstr(tk_last_error_message(), "/nonexistent/images.gz") != NULL);
  EXPECT_STATUS(tk_dataset_create(&fx, &fy, &ds), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_dataset_create(&fx, &fy3, &ds), TK_OK);
  EXPECT_STATUS(tk_dataset_size(ds, &size), TK_OK);
  EXPECT(size == 3);
  EXPECT_STATUS(tk_dataset_normalize(ds, (tk_normalization)4, 0, 1), INVALID);
  EXPECT_STATUS(tk_dataset_normalize(ds, TK_NORMALIZE_MEAN_STD, 0, 0), INVALID);
  EXPECT_STATUS(tk_dataset_normalize(ds, TK_NORMALIZE_UNIT_RANGE, 0, 0), TK_OK);
  EXPECT_STATUS(tk_dataset_stats(ds, &d, &d), TK_OK);
  EXPECT_STATUS(tk_batcher_create(ds, 0, 1, 0, 0, &b), INVALID);
  EXPECT_STATUS(tk_batcher_create(ds, 2, 3, 0, 0, &b), INVALID);
  EXPECT_STATUS(tk_batcher_create(ds, (int64_t)1 << 62, 0, 0, 0, &b), TK_OK); /* larger than the dataset */
  EXPECT_STATUS(tk_batcher_next(b, &features, &targets, &has), TK_OK);
  EXPECT(has == 1 && features.shape[0] == 3);
  tk_batcher_destroy(b);
  EXPECT_STATUS(tk_batcher_create(ds, 2, 1, 0, 0, &b), TK_OK);
  {
    /* A batcher keeps its dataset alive: destroying the dataset first is safe. */
    tk_dataset* copy;
    tk_batcher* orphan;
    EXPECT_STATUS(tk_dataset_create(&fx, &fy3, &copy), TK_OK);
    EXPECT_STATUS(tk_batcher_create(copy, 2, 0, 0, 0, &orphan), TK_OK);
    tk_dataset_destroy(copy);
    EXPECT_STATUS(tk_batcher_next(orphan, &features, &targets, &has), TK_OK);
    EXPECT(has == 1 && ((float*)features.data)[0] == 0.0f && ((float*)features.data)[2] == 2.0f);
    tk_batcher_destroy(orphan);
  }
  EXPECT_STATUS(tk_batcher_reset(b, -1), INVALID);
  EXPECT_STATUS(tk_batcher_next(b, &features, &targets, &has), TK_OK);
  EXPECT(has == 1 && features.shape[0] == 2 && features.shape[1] == 2 && targets.dtype == TK_DTYPE_I32);
  EXPECT_STATUS(tk_batcher_next(b, &features, &targets, &has), TK_OK);
  EXPECT(has == 1 && features.shape[0] == 1);
  EXPECT_STATUS(tk_batcher_next(b, &features, &targets, &has), TK_OK);
  EXPECT(has == 0);

  tk_model* m;
  tk_trainer* t;
  tk_node n;
  int64_t in_shape[1] = {2};
  tk_model_create(&m);
  tk_model_input(m, "x", 1, in_shape, &n);
  tk_model_linear(m, n, 2, &n);
  tk_model_output(m, n, "y");
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &t), TK_OK);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, ds, 0, &d, &d), INVALID);
  EXPECT_STATUS(tk_trainer_evaluate_dataset(t, ds, 2, &d, &d), TK_OK);
  tk_trainer_destroy(t);
  tk_model_destroy(m);

  /* A branch that does not reach the output has no trained parameters. */
  {
    tk_node unused;
    int64_t count;
    float all[16];
    tk_model_create(&m);
    tk_model_input(m, "x", 1, in_shape, &n);
    tk_model_linear(m, n, 3, &unused);
    tk_model_linear(m, n, 2, &n);
    tk_model_output(m, n, "y");
    EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &t), TK_OK);
    EXPECT_STATUS(tk_trainer_num_parameters(t, &count), TK_OK);
    EXPECT(count == 2 * 2 + 2);
    EXPECT_STATUS(tk_trainer_copy_parameters(t, all, count), TK_OK);
    tk_trainer_destroy(t);
    tk_model_destroy(m);
  }
  tk_batcher_destroy(b);
  tk_dataset_destroy(ds);
}

/* ---- tk_model_op and tk_op_catalog ---- */

/* Steps on fixed data and returns every loss, to compare to the bit. */
static void train_losses(const tk_model* m, int64_t features, int steps, float* losses) {
  enum { kBatch = 8 };
  float x[kBatch * 36];
  int32_t y[kBatch];
  int64_t x_shape[4] = {kBatch, features, 1, 1}, y_shape[1] = {kBatch};
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  tk_tensor_view in, target;
  uint32_t state = 12345;
  int i;
  for (i = 0; i < kBatch * features; ++i) {
    state = state * 1664525u + 1013904223u;
    x[i] = (float)(state >> 8) / 16777216.0f - 0.5f;
  }
  for (i = 0; i < kBatch; ++i) y[i] = i % 3;
  if (features == 36) { /* the CNN's [1, 6, 6] images */
    x_shape[1] = 1;
    x_shape[2] = 6;
    x_shape[3] = 6;
  }
  in = tk_view_f32(x, features == 36 ? 4 : 2, x_shape);
  target = tk_view_i32(y, 1, y_shape);
  EXPECT_STATUS(tk_trainer_options_create(&o), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_seed(o, 7), TK_OK);
  EXPECT_STATUS(tk_trainer_options_set_device(o, TK_DEVICE_CPU), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  for (i = 0; i < steps; ++i) {
    losses[i] = -1;
    if (t) EXPECT_STATUS(tk_trainer_step(t, &in, &target, &losses[i]), TK_OK);
  }
  tk_trainer_destroy(t);
  tk_trainer_options_destroy(o);
}

static void test_model_op_trains_like_typed_calls(void) {
  enum { kSteps = 5 };
  float typed[kSteps], generic[kSteps];
  int64_t mlp_shape[1] = {4}, image_shape[3] = {1, 6, 6};
  tk_model *a = NULL, *b = NULL;
  tk_node x, h;
  int64_t params_a = 0, params_b = 0;

  /* MLP: linear(5) relu linear(3). */
  tk_model_create(&a);
  tk_model_input(a, "x", 1, mlp_shape, &x);
  tk_model_linear(a, x, 5, &h);
  tk_model_relu(a, h, &h);
  tk_model_linear_ex(a, h, 3, 0, TK_INIT_XAVIER_UNIFORM, &h);
  tk_model_output(a, h, "logits");
  tk_model_create(&b);
  tk_model_input(b, "x", 1, mlp_shape, &x);
  EXPECT_STATUS(tk_model_op(b, "linear", &x, 1, "{\"units\": 5}", &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "relu", &h, 1, NULL, &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "linear", &h, 1, "{\"units\": 3, \"bias\": false, \"init\": \"xavier_uniform\"}", &h),
                TK_OK);
  tk_model_output(b, h, "logits");
  tk_model_num_parameters(a, &params_a);
  tk_model_num_parameters(b, &params_b);
  EXPECT(params_a == 5 * 4 + 5 + 3 * 5 && params_a == params_b);
  train_losses(a, 4, kSteps, typed);
  train_losses(b, 4, kSteps, generic);
  EXPECT(memcmp(typed, generic, sizeof typed) == 0);
  EXPECT(typed[kSteps - 1] < typed[0]);
  tk_model_destroy(a);
  tk_model_destroy(b);

  /* CNN: conv2d batch_norm relu max_pool2d (stride defaults to the kernel)
   * dropout flatten linear. */
  tk_model_create(&a);
  tk_model_input(a, "image", 3, image_shape, &x);
  tk_model_conv2d(a, x, 2, 3, 1, 1, 1, 1, 1, &h);
  tk_model_batch_norm(a, h, 1e-5, 0.1, &h);
  tk_model_relu(a, h, &h);
  tk_model_max_pool2d(a, h, 2, 2, 0, &h);
  tk_model_flatten(a, h, &h);
  tk_model_linear(a, h, 3, &h);
  tk_model_output(a, h, "logits");
  tk_model_create(&b);
  tk_model_input(b, "image", 3, image_shape, &x);
  EXPECT_STATUS(tk_model_op(b, "conv2d", &x, 1, "{\"out_channels\": 2, \"kernel\": 3, \"padding\": 1}", &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "batch_norm", &h, 1, "", &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "relu", &h, 1, "{}", &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "max_pool2d", &h, 1, "{\"kernel\": 2}", &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "flatten", &h, 1, NULL, &h), TK_OK);
  EXPECT_STATUS(tk_model_op(b, "linear", &h, 1, "{\"units\": 3}", &h), TK_OK);
  tk_model_output(b, h, "logits");
  train_losses(a, 36, kSteps, typed);
  train_losses(b, 36, kSteps, generic);
  EXPECT(memcmp(typed, generic, sizeof typed) == 0);
  EXPECT(typed[kSteps - 1] < typed[0]);
  tk_model_destroy(a);
  tk_model_destroy(b);
}

/* The status is INVALID and the message holds both fragments. */
static void expect_op_error(tk_model* m, const char* op, const tk_node* inputs, size_t n, const char* json,
                            const char* first, const char* second, int line) {
  tk_node out = 77;
  const tk_status status = tk_model_op(m, op, inputs, n, json, &out);
  const char* message = tk_last_error_message();
  if (status == INVALID && strstr(message, first) && strstr(message, second) && out == 77) {
    ++passed;
  } else {
    ++failed;
    fprintf(stderr, "%s:%d: tk_model_op(%s, %s) returned %s (message: %s), expected %s naming '%s' and '%s'\n",
            __FILE__, line, op, json ? json : "NULL", tk_status_string(status), message, tk_status_string(INVALID),
            first, second);
  }
}

static void test_model_op_errors(void) {
  tk_model* m = NULL;
  tk_node x, h, two[2];
  int64_t shape[1] = {4};
  tk_model_create(&m);
  tk_model_input(m, "x", 1, shape, &x);
  two[0] = x;
  two[1] = x;
  EXPECT_STATUS(tk_model_op(NULL, "relu", &x, 1, NULL, &h), NULL_ARG);
  EXPECT_STATUS(tk_model_op(m, NULL, &x, 1, NULL, &h), NULL_ARG);
  EXPECT_STATUS(tk_model_op(m, "relu", NULL, 1, NULL, &h), NULL_ARG);
  EXPECT_STATUS(tk_model_op(m, "relu", &x, 1, NULL, NULL), NULL_ARG);
  expect_op_error(m, "conv9", &x, 1, NULL, "unknown op type", "conv9", __LINE__);
  expect_op_error(m, "linear", &x, 1, NULL, "linear", "'units'", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": \"5\"}", "linear attribute 'units'", "wrong type", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": 5.5}", "linear attribute 'units'", "int", __LINE__);
  expect_op_error(m, "dropout", &x, 1, "{\"p\": true}", "dropout attribute 'p'", "real", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": 5, \"colour\": 1}", "linear", "'colour'", __LINE__);
  expect_op_error(m, "add", &x, 1, NULL, "add", "2 inputs, got 1", __LINE__);
  expect_op_error(m, "relu", two, 2, NULL, "relu", "1 input, got 2", __LINE__);
  expect_op_error(m, "relu", &x, 0, NULL, "relu", "1 input, got 0", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": 5", "linear", "not well-formed JSON", __LINE__);
  expect_op_error(m, "linear", &x, 1, "[5]", "linear", "must be a JSON object", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": [5]}", "linear", "numbers, booleans or strings", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": {}}", "linear attribute 'units'", "object", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": 5, \"init\": \"lecun\"}", "linear attribute 'init'", "lecun", __LINE__);
  expect_op_error(m, "linear", &x, 1, "{\"units\": 0}", "linear", "units", __LINE__);
  /* The model is unchanged by every refusal: one node, the input. */
  EXPECT_STATUS(tk_model_op(m, "linear", &x, 1, "{\"units\": 2}", &h), TK_OK);
  EXPECT(h == 1);
  /* Integers are accepted for real attributes. */
  EXPECT_STATUS(tk_model_op(m, "dropout", &h, 1, "{\"p\": 0}", &h), TK_OK);
  EXPECT_STATUS(tk_model_op(m, "add", two, 2, NULL, &h), TK_OK);
  tk_model_destroy(m);
}

static void test_op_catalog(void) {
  const char* ops[] = {"linear", "relu", "gelu", "tanh", "sigmoid", "dropout", "dropout2d", "batch_norm",
                       "layer_norm", "flatten", "add", "reshape", "conv2d", "max_pool2d", "avg_pool2d",
                       "global_avg_pool"};
  size_t length = 0, small = 0, i;
  char* text;
  char tiny[4];
  char needle[64];
  EXPECT_STATUS(tk_op_catalog(NULL, 0, NULL), NULL_ARG);
  EXPECT_STATUS(tk_op_catalog(NULL, 0, &length), TK_OK);
  EXPECT(length > 100);
  EXPECT_STATUS(tk_op_catalog(tiny, sizeof tiny, &small), INVALID);
  EXPECT(small == 0);
  text = (char*)malloc(length);
  if (!text) return;
  EXPECT_STATUS(tk_op_catalog(text, length, &small), TK_OK);
  EXPECT(small == length && strlen(text) + 1 == length);
  for (i = 0; i < sizeof ops / sizeof ops[0]; ++i) {
    snprintf(needle, sizeof needle, "\"name\":\"%s\"", ops[i]);
    EXPECT(strstr(text, needle) != NULL);
  }
  EXPECT(strstr(text, "{\"name\":\"units\",\"required\":true,\"type\":\"int\"}") != NULL);
  EXPECT(strstr(text, "{\"default\":true,\"name\":\"bias\",\"required\":false,\"type\":\"bool\"}") != NULL);
  EXPECT(strstr(text, "{\"default\":\"he_uniform\",\"name\":\"init\",\"required\":false,\"type\":\"string\"}") != NULL);
  EXPECT(strstr(text, "{\"name\":\"p\",\"required\":true,\"type\":\"real\"}") != NULL);
  EXPECT(strstr(text, "{\"default_from\":\"kernel\",\"name\":\"stride\",\"required\":false,\"type\":\"int\"}") != NULL);
  EXPECT(strstr(text, "\"inputs\":2,\"name\":\"add\"") != NULL);
  free(text);
}

static void test_api_table(void) {
  const tk_api* api = tk_get_api(TK_API_VERSION);
  EXPECT(api != NULL);
  if (!api) return;
  EXPECT(api->version == TK_API_VERSION && api->size == sizeof(tk_api));
  EXPECT(tk_get_api(0) == NULL);
  EXPECT(tk_get_api(TK_API_VERSION + 1) == NULL);
  /* A host built against version 1 gets the table it knows: its version, and
   * a size that ends after version 1's last entry. */
  {
    const tk_api* v1 = tk_get_api(1);
    EXPECT(v1 != NULL);
    if (v1) {
      EXPECT(v1->version == 1);
      EXPECT(v1->size == offsetof(tk_api, model_global_avg_pool) + sizeof(void*));
      EXPECT(v1->size == 94 * sizeof(void*));
      EXPECT(v1->model_create == tk_model_create);
      EXPECT(v1->model_global_avg_pool == tk_model_global_avg_pool);
    }
  }
  EXPECT(api->model_create == tk_model_create);
  EXPECT(api->trainer_step == tk_trainer_step);
  EXPECT(api->batcher_next == tk_batcher_next);
  EXPECT(api->trainer_loss_scale == tk_trainer_loss_scale);
  EXPECT(api->model_dropout2d == tk_model_dropout2d);
  EXPECT(api->gpu_info_get == tk_gpu_info_get);
  EXPECT(api->model_op == tk_model_op);
  EXPECT(api->op_catalog == tk_op_catalog);
  /* Every slot after the two counters is filled. */
  {
    unsigned char bytes[sizeof(tk_api)];
    size_t slot, k;
    int all_filled = 1;
    memcpy(bytes, api, sizeof bytes);
    for (slot = 1; slot < sizeof(tk_api) / sizeof(void*); ++slot) {
      int nonzero = 0;
      for (k = 0; k < sizeof(void*); ++k) nonzero |= bytes[slot * sizeof(void*) + k];
      if (!nonzero) all_filled = 0;
    }
    EXPECT(all_filled);
  }
}

static void* fail_in_thread(void* arg) {
  (void)arg;
  tk_model_create(NULL);
  return NULL;
}

static void test_thread_local_message(void) {
  pthread_t thread;
  tk_trainer_options_set_learning_rate(NULL, 1); /* message mentions 'options' */
  pthread_create(&thread, NULL, fail_in_thread, NULL);
  pthread_join(thread, NULL);
  EXPECT(strstr(tk_last_error_message(), "options") != NULL);
}

/* Host memory for batches: checked arguments, foreign pointers refused, and a
 * step reads a batch from it like any other memory. */
static void test_host_memory(void) {
  void* block = (void*)1;
  float* x;
  int32_t* y;
  int64_t x_shape[2] = {2, 4}, y_shape[1] = {2};
  int i, local = 0;
  float loss = -1;
  tk_model* m = small_model();
  tk_trainer* t = NULL;
  EXPECT_STATUS(tk_host_alloc(16, NULL), NULL_ARG);
  EXPECT_STATUS(tk_host_alloc(0, &block), INVALID);
  EXPECT(block == (void*)1); /* out-params are left untouched on failure */
  EXPECT_STATUS(tk_host_free(NULL), TK_OK);
  EXPECT_STATUS(tk_host_free(&local), INVALID);
  EXPECT(strstr(tk_last_error_message(), "tk_host_alloc") != NULL);
  EXPECT_STATUS(tk_host_alloc(8 * sizeof(float), &block), TK_OK);
  EXPECT(block != NULL && (uintptr_t)block % 64 == 0);
  x = (float*)block;
  EXPECT_STATUS(tk_host_alloc(2 * sizeof(int32_t), &block), TK_OK);
  y = (int32_t*)block;
  for (i = 0; i < 8; ++i) x[i] = (float)i / 8.0f;
  y[0] = 1;
  y[1] = 2;
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, NULL, &t), TK_OK);
  if (t) {
    tk_tensor_view in = tk_view_f32(x, 2, x_shape), labels = tk_view_i32(y, 1, y_shape);
    EXPECT_STATUS(tk_trainer_step(t, &in, &labels, &loss), TK_OK);
    EXPECT(isfinite(loss) && loss > 0);
    tk_trainer_destroy(t);
  }
  EXPECT_STATUS(tk_host_free(x), TK_OK);
  EXPECT_STATUS(tk_host_free(x), INVALID); /* freed twice */
  EXPECT_STATUS(tk_host_free(y), TK_OK);
  tk_model_destroy(m);
}

int main(void) {
  test_strings();
  test_host_memory();
  test_null_handles();
  test_null_out_params();
  test_model_errors();
  test_convolution_errors();
  test_normalization_errors();
  test_gpus();
  test_options();
  test_trainer_errors();
  test_mixed_precision();
  test_persistence();
  test_replicas();
  test_data_errors();
  test_model_op_trains_like_typed_calls();
  test_model_op_errors();
  test_op_catalog();
  test_api_table();
  test_thread_local_message();
  printf("capi_test: %d passed, %d failed\n", passed, failed);
  return failed != 0;
}

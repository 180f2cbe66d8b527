/*
 * sequence_test.c - models of token sequences from C: int32 token ids and a
 * float padding mask as two inputs, an embedding pooled over the real
 * tokens, and a self-attention block, trained to spot a token; padding
 * changes nothing; bad ids, counts, dtypes and shapes are refused with the
 * weights untouched; specs keep the indices input; a predictor and two
 * replicas take several inputs too.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"
#include "tests/capi/expect.h"

enum { VOCAB = 12, SEQ = 6, DIM = 16, CLASSES = 2, BATCH = 32, TEST = 256, MARK = 5, PAD = 0 };

/* Sample i: 2..SEQ real tokens in [1, VOCAB), then padding (id 0, mask 0);
 * its class is whether token MARK is among the real ones. */
static void make_samples(unsigned seed, int64_t count, int32_t* ids, float* mask, int32_t* labels) {
  int64_t i, s;
  srand(seed);
  for (i = 0; i < count; ++i) {
    const int length = 2 + rand() % (SEQ - 1);
    int found = 0;
    for (s = 0; s < SEQ; ++s) {
      const int real = s < length;
      int32_t token = real ? 1 + rand() % (VOCAB - 1) : PAD;
      /* Half the samples carry the mark. */
      if (real && s == 0 && (i % 2 == 0)) token = MARK;
      if (real && token == MARK && i % 2 == 1) token = MARK + 1;
      ids[i * SEQ + s] = token;
      mask[i * SEQ + s] = real ? 1.0f : 0.0f;
      found |= real && token == MARK;
    }
    labels[i] = found;
  }
}

static tk_node op(tk_model* m, const char* name, const tk_node* in, size_t n, const char* attributes) {
  tk_node out = -1;
  EXPECT_STATUS(tk_model_op(m, name, in, n, attributes, &out), TK_OK);
  return out;
}

/* ids -> embedding -> (attention block) -> masked mean -> classes. */
static tk_model* make_model(int attention) {
  tk_model* m = NULL;
  tk_node ids, mask, x, h;
  int64_t shape[1] = {SEQ};
  tk_model_create(&m);
  EXPECT_STATUS(tk_model_input_indices(m, "ids", 1, shape, &ids), TK_OK);
  EXPECT_STATUS(tk_model_input(m, "mask", 1, shape, &mask), TK_OK);
  x = op(m, "embedding", &ids, 1, "{\"vocab\": 12, \"dim\": 16, \"padding_index\": 0}");
  if (attention) {
    tk_node qkv[4], sum[2], q, k, v;
    x = op(m, "learned_positions", &x, 1, "{\"max_length\": 6}");
    tk_model_linear(m, x, DIM, &q);
    tk_model_linear(m, x, DIM, &k);
    tk_model_linear(m, x, DIM, &v);
    qkv[0] = q, qkv[1] = k, qkv[2] = v, qkv[3] = mask;
    h = op(m, "masked_attention", qkv, 4, "{\"heads\": 2, \"keep_mask\": true}");
    sum[0] = x, sum[1] = h;
    x = op(m, "add", sum, 2, "");
    tk_model_layer_norm(m, x, 1, 1e-5, &x);
  }
  {
    tk_node pool_in[2];
    pool_in[0] = x, pool_in[1] = mask;
    h = op(m, "masked_mean_pool", pool_in, 2, "");
  }
  tk_model_linear(m, h, 32, &h);
  tk_model_relu(m, h, &h);
  tk_model_linear(m, h, CLASSES, &h);
  tk_model_output(m, h, "logits");
  return m;
}

static tk_trainer* make_trainer(const tk_model* m, int replicas) {
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  tk_trainer_options_create(&o);
  tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAM);
  tk_trainer_options_set_learning_rate(o, 3e-3);
  tk_trainer_options_set_seed(o, 3);
  tk_trainer_options_set_threads(o, 1);
  if (replicas > 1) tk_trainer_options_set_replicas(o, replicas);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  tk_trainer_options_destroy(o);
  return t;
}

static int32_t train_ids[4096 * SEQ], test_ids[TEST * SEQ], train_labels[4096], test_labels[TEST];
static float train_mask[4096 * SEQ], test_mask[TEST * SEQ];

static void views(int32_t* ids, float* mask, int64_t rows, tk_tensor_view* out) {
  int64_t shape[2];
  shape[0] = rows, shape[1] = SEQ;
  out[0] = tk_view(ids, TK_DTYPE_I32, 2, shape);
  out[1] = tk_view(mask, TK_DTYPE_F32, 2, shape);
}

static double train_and_test(tk_trainer* t, int steps) {
  tk_tensor_view in[2], target;
  int64_t label_shape[1] = {BATCH}, test_shape[1] = {TEST};
  double loss = 0, accuracy = 0;
  int step;
  for (step = 0; step < steps; ++step) {
    const int64_t at = (step * BATCH) % 4096;
    views(train_ids + at * SEQ, train_mask + at * SEQ, BATCH, in);
    target = tk_view(train_labels + at, TK_DTYPE_I32, 1, label_shape);
    EXPECT_STATUS(tk_trainer_step_inputs(t, 2, in, &target, NULL), TK_OK);
  }
  views(test_ids, test_mask, TEST, in);
  target = tk_view(test_labels, TK_DTYPE_I32, 1, test_shape);
  EXPECT_STATUS(tk_trainer_evaluate_inputs(t, 2, in, &target, &loss, &accuracy), TK_OK);
  return accuracy;
}

static void predict(tk_trainer* t, int32_t* ids, float* mask, int64_t rows, float* out) {
  tk_tensor_view in[2], outputs;
  int64_t out_shape[2];
  out_shape[0] = rows, out_shape[1] = CLASSES;
  views(ids, mask, rows, in);
  outputs = tk_view(out, TK_DTYPE_F32, 2, out_shape);
  EXPECT_STATUS(tk_trainer_predict_inputs(t, 2, in, 0, &outputs), TK_OK);
}

static float max_difference(const float* a, const float* b, int64_t n) {
  float worst = 0;
  int64_t i;
  for (i = 0; i < n; ++i) worst = fabsf(a[i] - b[i]) > worst ? fabsf(a[i] - b[i]) : worst;
  return worst;
}

static void test_learns(int attention) {
  tk_model* m = make_model(attention);
  tk_trainer* t = make_trainer(m, 1);
  int32_t count = 0;
  const double accuracy = train_and_test(t, 300);
  EXPECT_STATUS(tk_trainer_input_count(t, &count), TK_OK);
  EXPECT(count == 2);
  if (!(accuracy >= 0.95)) fprintf(stderr, "attention %d: test accuracy %.3f\n", attention, accuracy);
  EXPECT(accuracy >= 0.95);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

/* Tokens behind the mask change no output: attention never sees them and
 * pooling leaves them out. */
static void test_padding_changes_nothing(void) {
  tk_model* m = make_model(1);
  tk_trainer* t = make_trainer(m, 1);
  static int32_t other[TEST * SEQ];
  static float a[TEST * CLASSES], b[TEST * CLASSES];
  int64_t i;
  train_and_test(t, 20);
  memcpy(other, test_ids, sizeof(other));
  for (i = 0; i < TEST * SEQ; ++i)
    if (test_mask[i] == 0) other[i] = 1 + (int32_t)(i % (VOCAB - 1));
  predict(t, test_ids, test_mask, TEST, a);
  predict(t, other, test_mask, TEST, b);
  EXPECT(max_difference(a, b, TEST * CLASSES) == 0);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

static void test_bad_input(void) {
  tk_model* m = make_model(1);
  tk_trainer* t = make_trainer(m, 1);
  static int32_t ids[BATCH * SEQ];
  static float before[TEST * CLASSES], after[TEST * CLASSES], mask3[BATCH * 3];
  tk_tensor_view in[2], target, wrong;
  int64_t label_shape[1] = {BATCH}, short_shape[2] = {BATCH, 3};
  predict(t, test_ids, test_mask, TEST, before);
  memcpy(ids, train_ids, sizeof(ids));
  target = tk_view(train_labels, TK_DTYPE_I32, 1, label_shape);

  ids[7] = VOCAB;
  views(ids, train_mask, BATCH, in);
  EXPECT_STATUS(tk_trainer_step_inputs(t, 2, in, &target, NULL), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("element 7 is 12, outside [0, 12)");
  ids[7] = -1;
  EXPECT_STATUS(tk_trainer_step_inputs(t, 2, in, &target, NULL), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("input 'ids'");
  ids[7] = 1;

  EXPECT_STATUS(tk_trainer_step_inputs(t, 1, in, &target, NULL), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("takes 2 inputs");
  EXPECT_STATUS(tk_trainer_step(t, &in[0], &target, NULL), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_trainer_step_inputs(t, 2, NULL, &target, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_trainer_step_inputs(t, 0, in, &target, NULL), TK_ERROR_INVALID_ARGUMENT);

  wrong = in[0];
  in[0] = in[1];  /* floats where ids belong */
  in[1] = wrong;
  EXPECT_STATUS(tk_trainer_step_inputs(t, 2, in, &target, NULL), TK_ERROR_DTYPE_MISMATCH);
  EXPECT_MESSAGE("must be i32 indices");

  views(ids, train_mask, BATCH, in);
  in[1] = tk_view(mask3, TK_DTYPE_F32, 2, short_shape);
  EXPECT_STATUS(tk_trainer_step_inputs(t, 2, in, &target, NULL), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_MESSAGE("input 'mask'");

  predict(t, test_ids, test_mask, TEST, after);
  EXPECT(max_difference(before, after, TEST * CLASSES) == 0);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

static void test_building_errors(void) {
  tk_model* m = NULL;
  tk_node ids, x, out = -1;
  int64_t shape[1] = {SEQ};
  tk_model_create(&m);
  tk_model_input_indices(m, "ids", 1, shape, &ids);
  tk_model_input(m, "x", 1, shape, &x);
  EXPECT_STATUS(tk_model_op(m, "embedding", &x, 1, "{\"vocab\": 4, \"dim\": 2}", &out), TK_ERROR_DTYPE_MISMATCH);
  EXPECT_MESSAGE("int32 indices");
  EXPECT_STATUS(tk_model_linear(m, ids, 3, &out), TK_ERROR_DTYPE_MISMATCH);
  EXPECT_MESSAGE("'ids' holds int32 indices");
  EXPECT_STATUS(tk_model_op(m, "embedding", &ids, 1, "{\"vocab\": 4, \"dim\": 2, \"padding_index\": 4}", &out),
                TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_model_op(m, "embedding", &ids, 1, "{\"dim\": 2}", &out), TK_ERROR_INVALID_ARGUMENT);
  {
    tk_node e, qkv[4];
    e = op(m, "embedding", &ids, 1, "{\"vocab\": 4, \"dim\": 6}");
    qkv[0] = qkv[1] = qkv[2] = e, qkv[3] = x;
    EXPECT_STATUS(tk_model_op(m, "masked_attention", qkv, 4, "{\"heads\": 4}", &out), TK_ERROR_SHAPE_MISMATCH);
    EXPECT_MESSAGE("not a multiple of 4 heads");
  }
  tk_model_destroy(m);
}

static void test_spec_keeps_indices(void) {
  tk_model *m = make_model(1), *back = NULL;
  size_t length = 0, length_back = 0;
  char *text, *text_back;
  tk_model_spec_length(m, &length);
  text = malloc(length + 1);
  tk_model_spec(m, text, length + 1);
  EXPECT(strstr(text, "\"dtype\": \"i32\"") != NULL);
  EXPECT_STATUS(tk_model_from_spec(text, &back), TK_OK);
  tk_model_spec_length(back, &length_back);
  text_back = malloc(length_back + 1);
  tk_model_spec(back, text_back, length_back + 1);
  EXPECT(length == length_back && strcmp(text, text_back) == 0);
  free(text);
  free(text_back);
  tk_model_destroy(back);
  tk_model_destroy(m);
}

static void test_predictor_and_replicas(void) {
  tk_model* m = make_model(1);
  tk_trainer *t = make_trainer(m, 1), *pair = make_trainer(m, 2);
  tk_predictor* p = NULL;
  static float expected[TEST * CLASSES], got[TEST * CLASSES];
  tk_tensor_view in[2], outputs;
  int64_t out_shape[2] = {TEST, CLASSES};
  const double accuracy = train_and_test(pair, 300);
  if (!(accuracy >= 0.95)) fprintf(stderr, "two replicas: test accuracy %.3f\n", accuracy);
  EXPECT(accuracy >= 0.95);
  train_and_test(t, 10);
  predict(t, test_ids, test_mask, TEST, expected);
  EXPECT_STATUS(tk_predictor_create(t, 1, &p), TK_OK);
  views(test_ids, test_mask, TEST, in);
  outputs = tk_view(got, TK_DTYPE_F32, 2, out_shape);
  EXPECT_STATUS(tk_predictor_predict_inputs(p, 2, in, 0, &outputs), TK_OK);
  EXPECT(max_difference(expected, got, TEST * CLASSES) < 1e-4f);
  EXPECT_STATUS(tk_predictor_predict(p, &in[0], 0, &outputs), TK_ERROR_INVALID_ARGUMENT);
  tk_predictor_destroy(p);
  tk_trainer_destroy(pair);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

/* Each input's name, kind and per-sample shape, from a trainer and a
 * predictor alike, so a host can convert its arrays without the spec. */
static void check_input_info(int32_t count, tk_status (*info)(const void*, int32_t, char*, size_t, int32_t*,
                                                              int32_t*, int64_t*),
                             const void* handle) {
  char name[16];
  int32_t indices = -1, rank = -1;
  int64_t shape[TK_MAX_RANK];
  EXPECT(count == 2);
  EXPECT_STATUS(info(handle, 0, name, sizeof(name), &indices, &rank, shape), TK_OK);
  EXPECT(strcmp(name, "ids") == 0 && indices == 1 && rank == 1 && shape[0] == SEQ);
  EXPECT_STATUS(info(handle, 1, name, sizeof(name), &indices, &rank, shape), TK_OK);
  EXPECT(strcmp(name, "mask") == 0 && indices == 0 && rank == 1 && shape[0] == SEQ);
  /* Truncated to the capacity, NUL-terminated. */
  EXPECT_STATUS(info(handle, 1, name, 3, NULL, NULL, NULL), TK_OK);
  EXPECT(strcmp(name, "ma") == 0);
  EXPECT_STATUS(info(handle, 2, name, sizeof(name), &indices, &rank, shape), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(info(handle, -1, NULL, 0, &indices, NULL, NULL), TK_ERROR_INVALID_ARGUMENT);
  /* A rank without the shape to go with it, or the reverse. */
  EXPECT_STATUS(info(handle, 0, NULL, 0, NULL, &rank, NULL), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(info(handle, 0, NULL, 0, NULL, NULL, shape), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(info(handle, 0, name, 0, NULL, NULL, NULL), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(info(NULL, 0, name, sizeof(name), NULL, NULL, NULL), TK_ERROR_NULL_ARGUMENT);
}

static tk_status trainer_info(const void* h, int32_t i, char* n, size_t c, int32_t* x, int32_t* r, int64_t* s) {
  return tk_trainer_input_info((const tk_trainer*)h, i, n, c, x, r, s);
}

static tk_status predictor_info(const void* h, int32_t i, char* n, size_t c, int32_t* x, int32_t* r, int64_t* s) {
  return tk_predictor_input_info((const tk_predictor*)h, i, n, c, x, r, s);
}

static void test_input_info(void) {
  tk_model* m = make_model(1);
  tk_trainer* t = make_trainer(m, 1);
  tk_predictor* p = NULL;
  int32_t count = 0;
  EXPECT_STATUS(tk_trainer_input_count(t, &count), TK_OK);
  check_input_info(count, trainer_info, t);
  EXPECT_STATUS(tk_predictor_create(t, 1, &p), TK_OK);
  count = 0;
  EXPECT_STATUS(tk_predictor_input_count(p, &count), TK_OK);
  check_input_info(count, predictor_info, p);
  EXPECT_STATUS(tk_predictor_input_count(NULL, &count), TK_ERROR_NULL_ARGUMENT);
  tk_predictor_destroy(p);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
  /* The mask added after a Linear and ReLU, which the trainer runs as one
   * fused node: the info still names each input as the model does. */
  {
    tk_node ids, mask, x, pool_in[2];
    int64_t shape[1] = {SEQ};
    char name[16];
    int32_t indices = -1;
    tk_model_create(&m);
    EXPECT_STATUS(tk_model_input_indices(m, "ids", 1, shape, &ids), TK_OK);
    x = op(m, "embedding", &ids, 1, "{\"vocab\": 12, \"dim\": 16}");
    tk_model_linear(m, x, DIM, &x);
    tk_model_relu(m, x, &x);
    EXPECT_STATUS(tk_model_input(m, "mask", 1, shape, &mask), TK_OK);
    pool_in[0] = x, pool_in[1] = mask;
    x = op(m, "masked_mean_pool", pool_in, 2, "");
    tk_model_linear(m, x, CLASSES, &x);
    tk_model_output(m, x, "logits");
    t = make_trainer(m, 1);
    EXPECT_STATUS(tk_trainer_input_info(t, 1, name, sizeof(name), &indices, NULL, NULL), TK_OK);
    EXPECT(strcmp(name, "mask") == 0 && indices == 0);
    EXPECT_STATUS(tk_predictor_create(t, 1, &p), TK_OK);
    EXPECT_STATUS(tk_predictor_input_info(p, 1, name, sizeof(name), &indices, NULL, NULL), TK_OK);
    EXPECT(strcmp(name, "mask") == 0 && indices == 0);
  }
  EXPECT_STATUS(tk_predictor_input_count(p, NULL), TK_ERROR_NULL_ARGUMENT);
  tk_predictor_destroy(p);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

int main(void) {
  make_samples(1, 4096, train_ids, train_mask, train_labels);
  make_samples(2, TEST, test_ids, test_mask, test_labels);
  test_learns(0);
  test_learns(1);
  test_padding_changes_nothing();
  test_bad_input();
  test_building_errors();
  test_spec_keeps_indices();
  test_predictor_and_replicas();
  test_input_info();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

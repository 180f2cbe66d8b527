/*
 * language_model_test.c - a decoder-only transformer from C: token ids in,
 * next-token logits per position out (per-token cross-entropy, the first
 * target left out with -100), causal attention, and the output projection
 * tied to the token embedding (tk_model_share_parameter), attention through
 * the multi-head composite (tk_model_multi_head_attention). The tied tensor is
 * one tensor (counted, named, exported and kept in specs once); a model may
 * have several named outputs, read together; the model
 * learns arithmetic sequences and a predictor continues them greedily; bad
 * ties are refused with clear statuses.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"
#include "tests/capi/expect.h"

enum { VOCAB = 10, SEQ = 8, DIM = 32, BATCH = 32, STEPS = 400, TEST = 64, IGNORED = -100 };

static tk_node op(tk_model* m, const char* name, const tk_node* in, size_t n, const char* attributes) {
  tk_node out = -1;
  EXPECT_STATUS(tk_model_op(m, name, in, n, attributes, &out), TK_OK);
  return out;
}

static tk_node add(tk_model* m, tk_node a, tk_node b) {
  tk_node out = -1;
  EXPECT_STATUS(tk_model_add(m, a, b, &out), TK_OK);
  return out;
}

/* ids -> token embedding + positions -> one pre-norm block (causal
 * attention, GELU MLP) -> norm -> logits through the embedding's matrix. */
static tk_model* make_model(int tied) {
  tk_model* m = NULL;
  tk_node ids, tokens, x, h, head;
  int64_t shape[1] = {SEQ};
  tk_model_create(&m);
  EXPECT_STATUS(tk_model_input_indices(m, "ids", 1, shape, &ids), TK_OK);
  tokens = op(m, "embedding", &ids, 1, "{\"vocab\": 10, \"dim\": 32}");
  tk_model_set_node_name(m, tokens, "tokens");
  x = op(m, "learned_positions", &tokens, 1, "{\"max_length\": 8}");
  tk_model_layer_norm(m, x, 1, 1e-5, &h);
  EXPECT_STATUS(tk_model_multi_head_attention(m, h, h, -1, 4, 1, 0, "block", &h), TK_OK);
  x = add(m, x, h);
  tk_model_layer_norm(m, x, 1, 1e-5, &h);
  tk_model_linear(m, h, 4 * DIM, &h);
  h = op(m, "gelu_tanh", &h, 1, "");
  tk_model_linear(m, h, DIM, &h);
  x = add(m, x, h);
  tk_model_layer_norm(m, x, 1, 1e-5, &x);
  EXPECT_STATUS(tk_model_linear_ex(m, x, VOCAB, 0, TK_INIT_XAVIER_UNIFORM, &head), TK_OK);
  tk_model_set_node_name(m, head, "head");
  if (tied) EXPECT_STATUS(tk_model_share_parameter(m, head, "weight", tokens, "weight"), TK_OK);
  tk_model_output(m, head, "logits");
  return m;
}

/* Sequences a, a + d, a + 2d, ... (mod VOCAB) with d in 1..3: from the
 * second token on, the next one follows from the two before. */
static void make_sequences(unsigned seed, int64_t count, int32_t* ids, int32_t* targets) {
  int64_t i, s;
  srand(seed);
  for (i = 0; i < count; ++i) {
    const int a = rand() % VOCAB, d = 1 + rand() % 3;
    for (s = 0; s < SEQ; ++s) {
      ids[i * SEQ + s] = (a + (int)s * d) % VOCAB;
      targets[i * SEQ + s] = s == 0 ? IGNORED : (a + (int)(s + 1) * d) % VOCAB;
    }
  }
}

static tk_trainer* make_trainer(const tk_model* m) {
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  tk_trainer_options_create(&o);
  tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAMW);
  tk_trainer_options_set_learning_rate(o, 3e-3);
  tk_trainer_options_set_seed(o, 5);
  tk_trainer_options_set_threads(o, 1);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  tk_trainer_options_destroy(o);
  return t;
}

static int64_t tensor_count(const tk_trainer* t) {
  int32_t count = 0;
  EXPECT_STATUS(tk_trainer_num_parameter_tensors(t, &count), TK_OK);
  return count;
}

static int has_tensor(const tk_trainer* t, const char* wanted) {
  int32_t i, rank;
  int64_t shape[TK_MAX_RANK];
  char name[128];
  for (i = 0; i < tensor_count(t); ++i) {
    EXPECT_STATUS(tk_trainer_parameter_info(t, i, name, sizeof name, &rank, shape), TK_OK);
    if (strcmp(name, wanted) == 0) return 1;
  }
  return 0;
}

static void test_one_tensor(void) {
  tk_model* tied = make_model(1);
  tk_model* untied = make_model(0);
  int64_t tied_count = 0, untied_count = 0;
  tk_trainer *t, *u;
  EXPECT_STATUS(tk_model_num_parameters(tied, &tied_count), TK_OK);
  EXPECT_STATUS(tk_model_num_parameters(untied, &untied_count), TK_OK);
  EXPECT(untied_count - tied_count == VOCAB * DIM);
  t = make_trainer(tied);
  u = make_trainer(untied);
  EXPECT(tensor_count(u) - tensor_count(t) == 1);
  EXPECT(has_tensor(t, "tokens.weight") && !has_tensor(t, "head.weight"));
  EXPECT(has_tensor(u, "head.weight"));
  tk_trainer_destroy(t);
  tk_trainer_destroy(u);
  tk_model_destroy(tied);
  tk_model_destroy(untied);
}

static int32_t train_ids[BATCH * STEPS * SEQ], train_targets[BATCH * STEPS * SEQ];

/* `steps` steps over the training sequences; the first and last losses. */
static void train_steps(tk_trainer* t, int steps, double* first, double* last) {
  int64_t shape[2] = {BATCH, SEQ};
  int step;
  for (step = 0; step < steps; ++step) {
    tk_tensor_view in = tk_view(train_ids + step * BATCH * SEQ, TK_DTYPE_I32, 2, shape);
    tk_tensor_view target = tk_view(train_targets + step * BATCH * SEQ, TK_DTYPE_I32, 2, shape);
    tk_step_report report;
    memset(&report, 0, sizeof report);
    report.struct_size = sizeof report;
    EXPECT_STATUS(tk_trainer_step_inputs(t, 1, &in, &target, &report), TK_OK);
    if (step == 0) *first = report.loss;
    *last = report.loss;
  }
}

/* Greedy continuation through a predictor: the first two tokens given,
 * each next one the arg-max at the last filled position (causal attention
 * makes what follows it irrelevant). Returns the share of tokens right. */
static double continue_sequences(tk_predictor* p) {
  int32_t window[TEST * SEQ], truth[TEST * SEQ];
  static float logits[TEST * SEQ * VOCAB];
  int64_t in_shape[2] = {TEST, SEQ}, out_shape[3] = {TEST, SEQ, VOCAB};
  tk_tensor_view in, out;
  int64_t i, s, right = 0, judged = 0;
  make_sequences(99, TEST, truth, window);
  memcpy(window, truth, sizeof window);
  for (i = 0; i < TEST; ++i)
    for (s = 2; s < SEQ; ++s) window[i * SEQ + s] = 0; /* not read before it is generated */
  in = tk_view(window, TK_DTYPE_I32, 2, in_shape);
  out = tk_view(logits, TK_DTYPE_F32, 3, out_shape);
  for (s = 2; s < SEQ; ++s) {
    EXPECT_STATUS(tk_predictor_predict_inputs(p, 1, &in, 0, &out), TK_OK);
    for (i = 0; i < TEST; ++i) {
      const float* row = logits + (i * SEQ + s - 1) * VOCAB;
      int32_t best = 0, c;
      for (c = 1; c < VOCAB; ++c)
        if (row[c] > row[best]) best = c;
      window[i * SEQ + s] = best;
    }
  }
  for (i = 0; i < TEST; ++i)
    for (s = 2; s < SEQ; ++s, ++judged) right += window[i * SEQ + s] == truth[i * SEQ + s];
  return (double)right / (double)judged;
}

static void test_learns_and_continues(void) {
  tk_model* m = make_model(1);
  tk_trainer* t = make_trainer(m);
  tk_predictor* p = NULL;
  double first = 0, last = 0, continued;
  make_sequences(7, BATCH * STEPS, train_ids, train_targets);
  train_steps(t, STEPS, &first, &last);
  fprintf(stderr, "loss %.3f -> %.3f\n", first, last);
  EXPECT(first > 1.8 && last < 0.2);
  EXPECT_STATUS(tk_predictor_create(t, 1, &p), TK_OK);
  continued = continue_sequences(p);
  fprintf(stderr, "greedy continuation: %.3f of the tokens right\n", continued);
  EXPECT(continued > 0.95);
  tk_predictor_destroy(p);

  /* The spec keeps the tie, the exported weights hold the tensor once, and
   * a predictor loaded from both continues as the trainer's does. */
  {
    size_t length = 0;
    char* text;
    tk_model* again = NULL;
    int64_t count = 0, expected = 0;
    char path[512];
    snprintf(path, sizeof path, "%s/language_model.safetensors", getenv("TEST_TMPDIR") ? getenv("TEST_TMPDIR") : ".");
    EXPECT_STATUS(tk_model_spec_length(m, &length), TK_OK);
    text = (char*)malloc(length);
    EXPECT_STATUS(tk_model_spec(m, text, length), TK_OK);
    EXPECT(strstr(text, "\"shared\"") && strstr(text, "\"tokens.weight\""));
    EXPECT_STATUS(tk_model_from_spec(text, &again), TK_OK);
    EXPECT_STATUS(tk_model_num_parameters(again, &count), TK_OK);
    EXPECT_STATUS(tk_model_num_parameters(m, &expected), TK_OK);
    EXPECT(count == expected);
    EXPECT_STATUS(tk_trainer_export_weights(t, path, TK_DTYPE_F32), TK_OK);
    EXPECT_STATUS(tk_predictor_load(again, TK_LOSS_SOFTMAX_CROSS_ENTROPY, path, 1, &p), TK_OK);
    EXPECT(fabs(continue_sequences(p) - continued) < 1e-12);
    tk_predictor_destroy(p);
    tk_model_destroy(again);
    free(text);
    remove(path);
  }
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

/* The composite's nodes are named, its parameters are the four projections,
 * and a call that fails leaves the model as it was. */
static void test_multi_head_attention(void) {
  tk_model* m = NULL;
  tk_node x, context, mask, out, found;
  int64_t shape[2] = {SEQ, DIM}, short_shape[2] = {3, DIM}, mask_shape[1] = {3}, before = 0, after = 0;
  char name[64];
  tk_model_create(&m);
  tk_model_input(m, "x", 2, shape, &x);
  tk_model_input(m, "memory", 2, short_shape, &context);
  tk_model_input(m, "memory_mask", 1, mask_shape, &mask);
  EXPECT_STATUS(tk_model_multi_head_attention(m, x, context, mask, 4, 0, 1, "cross", &out), TK_OK);
  EXPECT_STATUS(tk_model_node_name(m, out, name, sizeof name), TK_OK);
  EXPECT(strcmp(name, "cross.out") == 0);
  EXPECT_STATUS(tk_model_num_parameters(m, &before), TK_OK);
  EXPECT(before == 4 * (DIM * DIM + DIM));
  {
    int32_t rank = 0;
    int64_t extents[TK_MAX_RANK];
    EXPECT_STATUS(tk_model_node_shape(m, out, &rank, extents), TK_OK);
    EXPECT(rank == 2 && extents[0] == SEQ && extents[1] == DIM);
  }
  /* 32 is no multiple of 5 heads; a mask of the wrong length; a bad flag. */
  EXPECT_STATUS(tk_model_multi_head_attention(m, x, x, -1, 5, 0, 0, "bad", &found), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_MESSAGE("5 heads");
  EXPECT_STATUS(tk_model_multi_head_attention(m, x, x, mask, 4, 0, 1, "bad", &found), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_STATUS(tk_model_multi_head_attention(m, x, x, -1, 4, 2, 0, "bad", &found), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_model_multi_head_attention(m, x, x, -1, 4, 0, 0, "cross", &found), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("already exists");
  EXPECT_STATUS(tk_model_num_parameters(m, &after), TK_OK);
  EXPECT(after == before);
  /* The failed calls added no node: the next one is numbered on from the composite's. */
  EXPECT_STATUS(tk_model_relu(m, out, &found), TK_OK);
  EXPECT(found == out + 1);
  EXPECT_STATUS(tk_model_multi_head_attention(m, x, x, -1, 4, 1, 0, NULL, &found), TK_OK);
  EXPECT_STATUS(tk_model_node_name(m, found, name, sizeof name), TK_OK);
  EXPECT(strncmp(name, "attention_", 10) == 0 && strcmp(name + strlen(name) - 4, ".out") == 0);
  tk_model_destroy(m);
}

/* The same model trains under bf16 mixed precision on the CPU: the tied
 * tensor's two uses read its half copy, and the loss falls as in f32. */
static void test_mixed_precision(void) {
  tk_model* m = make_model(1);
  tk_trainer_options* o = NULL;
  tk_trainer* t = NULL;
  double first = 0, last = 0;
  tk_trainer_options_create(&o);
  tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAMW);
  tk_trainer_options_set_learning_rate(o, 3e-3);
  tk_trainer_options_set_seed(o, 5);
  tk_trainer_options_set_threads(o, 1);
  EXPECT_STATUS(tk_trainer_options_set_precision(o, TK_PRECISION_BF16), TK_OK);
  EXPECT_STATUS(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t), TK_OK);
  tk_trainer_options_destroy(o);
  train_steps(t, STEPS / 2, &first, &last);
  fprintf(stderr, "bf16: loss %.3f -> %.3f\n", first, last);
  EXPECT(first > 1.8 && last < 0.3);
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

/* Two outputs: class logits (the loss's) and, beside them, the mean of the
 * token embeddings and a Linear's output before the ReLU that follows it
 * (which then is not fused away). One forward fills all three; a spec and a
 * predictor keep them; views that do not fit are refused. */
static void test_several_outputs(void) {
  enum { ROWS = 5 };
  tk_model* m = NULL;
  tk_node ids, tokens, pooled, hidden, relu, logits;
  int64_t shape[1] = {SEQ}, in_shape[2] = {ROWS, SEQ}, logit_shape[2] = {ROWS, 3}, pooled_shape[2] = {ROWS, DIM},
          hidden_shape[2] = {ROWS, 8};
  int32_t tokens_in[ROWS * SEQ], count = 0, rank = 0, i, s, d;
  float logit_values[ROWS * 3], plain[ROWS * 3], pooled_values[ROWS * DIM], hidden_values[ROWS * 8];
  static float table[VOCAB * DIM];
  int64_t extents[TK_MAX_RANK], table_shape[2] = {VOCAB, DIM};
  char name[32];
  tk_trainer* t;
  tk_predictor* p = NULL;
  tk_tensor_view in, outs[4], table_view;
  int negative = 0;
  float worst = 0;
  tk_model_create(&m);
  tk_model_input_indices(m, "ids", 1, shape, &ids);
  tokens = op(m, "embedding", &ids, 1, "{\"vocab\": 10, \"dim\": 32}");
  tk_model_set_node_name(m, tokens, "tokens");
  pooled = op(m, "mean_pool", &tokens, 1, "");
  tk_model_linear(m, pooled, 8, &hidden);
  tk_model_relu(m, hidden, &relu);
  tk_model_linear(m, relu, 3, &logits);
  EXPECT_STATUS(tk_model_output(m, logits, "logits"), TK_OK);
  EXPECT_STATUS(tk_model_add_output(m, pooled, "embedding"), TK_OK);
  EXPECT_STATUS(tk_model_add_output(m, hidden, "hidden"), TK_OK);
  EXPECT_STATUS(tk_model_add_output(m, relu, "logits"), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("already exists");
  EXPECT_STATUS(tk_model_add_output(m, ids, "ids"), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_model_add_output(m, relu, NULL), TK_ERROR_NULL_ARGUMENT);
  t = make_trainer(m);
  EXPECT_STATUS(tk_trainer_output_count(t, &count), TK_OK);
  EXPECT(count == 3);
  EXPECT_STATUS(tk_trainer_output_info(t, 1, name, sizeof name, &rank, extents), TK_OK);
  EXPECT(strcmp(name, "embedding") == 0 && rank == 1 && extents[0] == DIM);
  EXPECT_STATUS(tk_trainer_output_info(t, 3, name, sizeof name, &rank, extents), TK_ERROR_INVALID_ARGUMENT);
  for (i = 0; i < ROWS * SEQ; ++i) tokens_in[i] = (i * 7 + 3) % VOCAB;
  in = tk_view(tokens_in, TK_DTYPE_I32, 2, in_shape);
  outs[0] = tk_view(logit_values, TK_DTYPE_F32, 2, logit_shape);
  outs[1] = tk_view(pooled_values, TK_DTYPE_F32, 2, pooled_shape);
  outs[2] = tk_view(hidden_values, TK_DTYPE_F32, 2, hidden_shape);
  EXPECT_STATUS(tk_trainer_predict_outputs(t, 1, &in, 0, 3, outs), TK_OK);
  {
    tk_tensor_view plain_view = tk_view(plain, TK_DTYPE_F32, 2, logit_shape);
    EXPECT_STATUS(tk_trainer_predict(t, &in, 0, &plain_view), TK_OK);
    EXPECT(memcmp(plain, logit_values, sizeof plain) == 0);
  }
  /* The embedding output is the mean of the ids' rows of the table. */
  table_view = tk_view(table, TK_DTYPE_F32, 2, table_shape);
  EXPECT_STATUS(tk_trainer_get_parameter(t, 0, &table_view), TK_OK);
  for (i = 0; i < ROWS; ++i)
    for (d = 0; d < DIM; ++d) {
      double mean = 0;
      for (s = 0; s < SEQ; ++s) mean += table[tokens_in[i * SEQ + s] * DIM + d];
      mean /= SEQ;
      worst = fabsf((float)mean - pooled_values[i * DIM + d]) > worst ? fabsf((float)mean - pooled_values[i * DIM + d]) : worst;
    }
  EXPECT(worst < 1e-6f);
  for (i = 0; i < ROWS * 8; ++i) negative |= hidden_values[i] < 0;
  EXPECT(negative); /* before the ReLU */
  /* Wrong counts and shapes are refused before anything is written. */
  outs[3] = outs[2];
  EXPECT_STATUS(tk_trainer_predict_outputs(t, 1, &in, 0, 4, outs), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("3 outputs");
  EXPECT_STATUS(tk_trainer_predict_outputs(t, 1, &in, 0, 0, outs), TK_ERROR_INVALID_ARGUMENT);
  {
    tk_tensor_view swapped[2];
    swapped[0] = outs[0], swapped[1] = outs[2];
    EXPECT_STATUS(tk_trainer_predict_outputs(t, 1, &in, 0, 2, swapped), TK_ERROR_SHAPE_MISMATCH);
    EXPECT_MESSAGE("output 'embedding'");
  }
  /* A predictor, also from the spec, fills the same values. */
  EXPECT_STATUS(tk_predictor_create(t, 1, &p), TK_OK);
  EXPECT_STATUS(tk_predictor_output_count(p, &count), TK_OK);
  EXPECT(count == 3);
  EXPECT_STATUS(tk_predictor_output_info(p, 2, name, sizeof name, NULL, NULL), TK_OK);
  EXPECT(strcmp(name, "hidden") == 0);
  {
    float again[ROWS * DIM];
    tk_tensor_view two[2];
    two[0] = outs[0];
    two[1] = tk_view(again, TK_DTYPE_F32, 2, pooled_shape);
    EXPECT_STATUS(tk_predictor_predict_outputs(p, 1, &in, 1, 2, two), TK_OK);
    EXPECT(memcmp(again, pooled_values, sizeof again) == 0);
    /* With probabilities = 1 output 0 is a softmax: its rows sum to 1. */
    EXPECT(fabsf(logit_values[0] + logit_values[1] + logit_values[2] - 1.0f) < 1e-5f);
  }
  tk_predictor_destroy(p);
  {
    size_t length = 0;
    char* text;
    tk_model* again = NULL;
    tk_trainer* u;
    tk_model_spec_length(m, &length);
    text = (char*)malloc(length);
    tk_model_spec(m, text, length);
    EXPECT(strstr(text, "\"outputs\"") != NULL);
    EXPECT_STATUS(tk_model_from_spec(text, &again), TK_OK);
    u = make_trainer(again);
    EXPECT_STATUS(tk_trainer_output_count(u, &count), TK_OK);
    EXPECT(count == 3);
    tk_trainer_destroy(u);
    tk_model_destroy(again);
    free(text);
  }
  tk_trainer_destroy(t);
  tk_model_destroy(m);
}

static void test_bad_ties(void) {
  tk_model* m = NULL;
  tk_node ids, tokens, narrow, head;
  int64_t shape[1] = {SEQ};
  tk_model_create(&m);
  tk_model_input_indices(m, "ids", 1, shape, &ids);
  tokens = op(m, "embedding", &ids, 1, "{\"vocab\": 10, \"dim\": 32}");
  tk_model_linear_ex(m, tokens, 5, 0, TK_INIT_XAVIER_UNIFORM, &narrow);
  tk_model_linear_ex(m, tokens, VOCAB, 0, TK_INIT_XAVIER_UNIFORM, &head);
  EXPECT_STATUS(tk_model_share_parameter(NULL, head, "weight", tokens, "weight"), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_model_share_parameter(m, head, NULL, tokens, "weight"), TK_ERROR_NULL_ARGUMENT);
  EXPECT_STATUS(tk_model_share_parameter(m, narrow, "weight", tokens, "weight"), TK_ERROR_SHAPE_MISMATCH);
  EXPECT_MESSAGE("[5, 32]");
  EXPECT_STATUS(tk_model_share_parameter(m, tokens, "weight", head, "weight"), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("earlier node");
  EXPECT_STATUS(tk_model_share_parameter(m, head, "bias", tokens, "weight"), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("no parameter 'bias'");
  EXPECT_STATUS(tk_model_share_parameter(m, head, "weight", 99, "weight"), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_STATUS(tk_model_share_parameter(m, head, "weight", tokens, "weight"), TK_OK);
  EXPECT_STATUS(tk_model_share_parameter(m, head, "weight", tokens, "weight"), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_MESSAGE("shared already");
  {
    tk_model* bad = NULL;
    const char* spec =
        "{\"format\": \"trainkit-model\", \"version\": 1, \"nodes\": ["
        "{\"name\": \"x\", \"op\": \"input\", \"shape\": [4]},"
        "{\"name\": \"a\", \"op\": \"linear\", \"inputs\": [\"x\"], \"units\": 4},"
        "{\"name\": \"b\", \"op\": \"linear\", \"inputs\": [\"a\"], \"units\": 4, \"shared\": {\"weight\": \"c.weight\"}}],"
        "\"output\": {\"node\": \"b\", \"name\": \"y\"}}";
    EXPECT_STATUS(tk_model_from_spec(spec, &bad), TK_ERROR_INVALID_ARGUMENT);
    EXPECT_MESSAGE("no earlier node");
  }
  tk_model_destroy(m);
}

int main(void) {
  test_one_tensor();
  test_learns_and_continues();
  test_mixed_precision();
  test_multi_head_attention();
  test_several_outputs();
  test_bad_ties();
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

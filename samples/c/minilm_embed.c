/*
 * minilm_embed.c - sentence embeddings from C with a pretrained transformer:
 * all-MiniLM-L6-v2 described by a model spec (samples/specs/minilm_l6.json,
 * 64 tokens), its published safetensors weights loaded through a name map
 * (samples/specs/minilm_l6_names.json), and token ids read from a file, one
 * sentence per line ([CLS] ... [SEP], as `samples/python/minilm.py --tokens`
 * writes them). Prints each sentence's unit-length embedding and the cosine
 * similarities between the sentences.
 *
 *   minilm_embed SPEC NAMES WEIGHTS TOKENS
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capi/trainkit.h"

#define MAX_SENTENCES 256

#define CHECK(call)                                                              \
  do {                                                                           \
    tk_status status_ = (call);                                                  \
    if (status_ != TK_OK) {                                                      \
      fprintf(stderr, "%s failed: %s: %s\n", #call, tk_status_string(status_),  \
              tk_last_error_message());                                          \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

/* The whole file as a NUL-terminated string. */
static char* read_text(const char* path) {
  FILE* f = fopen(path, "rb");
  char* text;
  long size;
  if (!f || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  text = (char*)malloc((size_t)size + 1);
  if (!text || fread(text, 1, (size_t)size, f) != (size_t)size) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  text[size] = '\0';
  fclose(f);
  return text;
}

/* Token ids, a line per sentence, into rows of `length` (padded with id 0,
 * mask 0; longer lines are cut to `length`). Returns the number of rows. */
static int read_tokens(const char* path, int64_t length, int32_t* ids, float* mask) {
  char* text = read_text(path);
  char* line = text;
  int rows = 0;
  while (*line && rows < MAX_SENTENCES) {
    char* end = strchr(line, '\n');
    char* at = line;
    int64_t n = 0;
    if (end) *end = '\0';
    while (*at) {
      char* next;
      long id = strtol(at, &next, 10);
      if (next == at) break;
      if (n < length) {
        ids[rows * length + n] = (int32_t)id;
        mask[rows * length + n] = 1.0f;
        ++n;
      }
      at = next;
    }
    if (n > 0) ++rows;
    if (!end) break;
    line = end + 1;
  }
  free(text);
  return rows;
}

int main(int argc, char** argv) {
  tk_model* model = NULL;
  tk_trainer* trainer = NULL;
  tk_predictor* predictor = NULL;
  char* names;
  int64_t shape[TK_MAX_RANK];
  int32_t rank = 0, indices = 0, rows, i, j, d;
  int64_t length, view_shape[2], out_shape[2];
  int32_t* ids;
  int32_t* types;
  float *mask, *embeddings;
  tk_tensor_view inputs[3], outputs;
  if (argc != 5) {
    fprintf(stderr, "usage: %s SPEC NAMES WEIGHTS TOKENS\n", argv[0]);
    return 2;
  }
  CHECK(tk_model_load_spec(argv[1], &model));
  CHECK(tk_trainer_create(model, TK_LOSS_MSE, NULL, &trainer));
  names = read_text(argv[2]);
  /* Non-strict: the file's pooler and position table are not part of the model. */
  CHECK(tk_trainer_import_weights_mapped(trainer, argv[3], names, 0));
  free(names);
  CHECK(tk_trainer_input_info(trainer, 0, NULL, 0, &indices, &rank, shape));
  length = shape[0];
  ids = (int32_t*)calloc((size_t)(MAX_SENTENCES * length), sizeof(int32_t));
  types = (int32_t*)calloc((size_t)(MAX_SENTENCES * length), sizeof(int32_t));
  mask = (float*)calloc((size_t)(MAX_SENTENCES * length), sizeof(float));
  embeddings = (float*)calloc((size_t)MAX_SENTENCES * 384, sizeof(float));
  if (!ids || !types || !mask || !embeddings) return 1;
  rows = read_tokens(argv[4], length, ids, mask);
  if (rows == 0) {
    fprintf(stderr, "%s holds no token ids\n", argv[4]);
    return 1;
  }
  /* Inference alone from here: the predictor holds no gradients or moments. */
  CHECK(tk_predictor_create(trainer, 0, &predictor));
  tk_trainer_destroy(trainer);
  view_shape[0] = rows, view_shape[1] = length;
  inputs[0] = tk_view(ids, TK_DTYPE_I32, 2, view_shape);
  inputs[1] = tk_view(types, TK_DTYPE_I32, 2, view_shape);
  inputs[2] = tk_view(mask, TK_DTYPE_F32, 2, view_shape);
  out_shape[0] = rows, out_shape[1] = 384;
  outputs = tk_view(embeddings, TK_DTYPE_F32, 2, out_shape);
  CHECK(tk_predictor_predict_inputs(predictor, 3, inputs, 0, &outputs));
  for (i = 0; i < rows; ++i) {
    printf("embedding %d:", i);
    for (d = 0; d < 384; ++d) printf(" %.8g", embeddings[i * 384 + d]);
    printf("\n");
  }
  printf("cosine similarities:\n");
  for (i = 0; i < rows; ++i) {
    for (j = 0; j < rows; ++j) {
      double dot = 0;
      for (d = 0; d < 384; ++d) dot += (double)embeddings[i * 384 + d] * embeddings[j * 384 + d];
      printf(" %.3f", dot);
    }
    printf("\n");
  }
  tk_predictor_destroy(predictor);
  tk_model_destroy(model);
  free(ids), free(types), free(mask), free(embeddings);
  return 0;
}

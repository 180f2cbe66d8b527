/*
 * gpt.c - a character-level GPT trained from scratch through the C API, then
 * generating text from a prompt, greedily and by top-k sampling.
 *
 * The corpus is text from a Debian package (by default every file of
 * `fortunes`, /usr/share/games/fortunes); its distinct bytes are the
 * vocabulary, its last tenth the validation text. The model is a
 * decoder-only transformer: token embedding plus learned positions, pre-norm
 * blocks of causal multi-head attention and a GELU (tanh) MLP, a final
 * LayerNorm and the output projection tied to the token embedding. Training
 * (AdamW, warm-up then cosine decay, gradient clipping) prints the loss and
 * tokens/s as it goes and the validation loss after every epoch.
 *
 *   gpt [--corpus PATH] [--epochs 6] [--steps 300] [--save PREFIX] [--prompt TEXT] ...
 *   gpt --load PREFIX [--prompt TEXT]     (generate with a saved model)
 *
 * --save writes PREFIX.json (the model spec), PREFIX.safetensors (the
 * weights) and PREFIX.vocab (the vocabulary's bytes, in id order).
 */
#include <dirent.h>
#include <getopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "capi/trainkit.h"

#define CHECK(call)                                                              \
  do {                                                                           \
    tk_status status_ = (call);                                                  \
    if (status_ != TK_OK) {                                                      \
      fprintf(stderr, "%s failed: %s: %s\n", #call, tk_status_string(status_),  \
              tk_last_error_message());                                          \
      exit(1);                                                                   \
    }                                                                            \
  } while (0)

typedef struct Settings {
  const char* corpus;
  int64_t context, dim, layers, heads, batch;
  int epochs, steps, threads, length, top_k;
  double learning_rate, temperature;
  unsigned long long seed;
  const char* prompt;
  const char* save;
  const char* load;
} Settings;

typedef struct Vocabulary {
  int size;
  unsigned char bytes[256]; /* id -> byte */
  int ids[256];             /* byte -> id, or -1 */
} Vocabulary;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* xorshift64*: the windows and the samples are the same for a seed. */
static uint64_t next_random(uint64_t* state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 2685821657736338717ULL;
}

static double uniform(uint64_t* state) { return (double)(next_random(state) >> 11) / 9007199254740992.0; }

/* ---- corpus ---------------------------------------------------------------- */

static void append_file(const char* path, unsigned char** text, size_t* size, size_t* capacity) {
  FILE* f = fopen(path, "rb");
  size_t got;
  if (!f) {
    fprintf(stderr, "cannot read %s\n", path);
    exit(1);
  }
  for (;;) {
    if (*capacity - *size < 65536) {
      *capacity = *capacity * 2 + 65536;
      *text = (unsigned char*)realloc(*text, *capacity);
      if (!*text) {
        fprintf(stderr, "out of memory reading %s\n", path);
        exit(1);
      }
    }
    got = fread(*text + *size, 1, *capacity - *size, f);
    *size += got;
    if (got == 0) break;
  }
  fclose(f);
}

static int by_name(const void* a, const void* b) { return strcmp(*(char* const*)a, *(char* const*)b); }

/* A file, or every file of a folder whose name has no dot (fortunes' text
 * files, not their .dat indexes or .u8 links), in name order. */
static unsigned char* read_corpus(const char* path, size_t* size) {
  struct stat info;
  unsigned char* text = NULL;
  size_t capacity = 0;
  *size = 0;
  if (stat(path, &info) != 0) {
    fprintf(stderr, "no corpus at %s (install the Debian package fortunes, or pass --corpus)\n", path);
    exit(1);
  }
  if (S_ISDIR(info.st_mode)) {
    DIR* dir = opendir(path);
    struct dirent* entry;
    char* names[1024];
    size_t count = 0, i;
    while (dir && (entry = readdir(dir)) != NULL && count < 1024)
      if (entry->d_name[0] != '.' && !strchr(entry->d_name, '.')) {
        char* full = (char*)malloc(strlen(path) + strlen(entry->d_name) + 2);
        sprintf(full, "%s/%s", path, entry->d_name);
        if (stat(full, &info) == 0 && S_ISREG(info.st_mode))
          names[count++] = full;
        else
          free(full);
      }
    if (dir) closedir(dir);
    qsort(names, count, sizeof names[0], by_name);
    for (i = 0; i < count; ++i) {
      append_file(names[i], &text, size, &capacity);
      free(names[i]);
    }
  } else {
    append_file(path, &text, size, &capacity);
  }
  return text;
}

static void make_vocabulary(const unsigned char* text, size_t size, Vocabulary* v) {
  int seen[256] = {0}, b;
  size_t i;
  for (i = 0; i < size; ++i) seen[text[i]] = 1;
  v->size = 0;
  for (b = 0; b < 256; ++b) {
    v->ids[b] = seen[b] ? v->size : -1;
    if (seen[b]) v->bytes[v->size++] = (unsigned char)b;
  }
}

/* ---- model ----------------------------------------------------------------- */

static tk_node op(tk_model* m, const char* name, tk_node* inputs, size_t n, const char* attributes) {
  tk_node out;
  CHECK(tk_model_op(m, name, inputs, n, attributes, &out));
  return out;
}

static tk_node linear(tk_model* m, tk_node x, int64_t units, const char* name) {
  tk_node out;
  CHECK(tk_model_linear_ex(m, x, units, 1, TK_INIT_XAVIER_UNIFORM, &out));
  CHECK(tk_model_set_node_name(m, out, name));
  return out;
}

static tk_node norm(tk_model* m, tk_node x, const char* name) {
  tk_node out;
  CHECK(tk_model_layer_norm(m, x, 1, 1e-5, &out));
  CHECK(tk_model_set_node_name(m, out, name));
  return out;
}

static tk_node sum(tk_model* m, tk_node a, tk_node b) {
  tk_node out;
  CHECK(tk_model_add(m, a, b, &out));
  return out;
}

/* ids [context] -> logits [context, vocab]: at each position, the next byte's. */
static tk_model* build_gpt(const Settings* s, int vocab) {
  tk_model* m;
  tk_node ids, tokens, x, h, qkv[3], head;
  int64_t shape[1];
  char text[128];
  int64_t layer;
  shape[0] = s->context;
  CHECK(tk_model_create(&m));
  CHECK(tk_model_input_indices(m, "ids", 1, shape, &ids));
  sprintf(text, "{\"vocab\": %d, \"dim\": %lld}", vocab, (long long)s->dim);
  tokens = op(m, "embedding", &ids, 1, text);
  CHECK(tk_model_set_node_name(m, tokens, "tokens"));
  sprintf(text, "{\"max_length\": %lld}", (long long)s->context);
  x = op(m, "learned_positions", &tokens, 1, text);
  CHECK(tk_model_set_node_name(m, x, "positions"));
  for (layer = 0; layer < s->layers; ++layer) {
    char name[64];
#define NAMED(part) (sprintf(name, "block%lld.%s", (long long)layer, part), name)
    h = norm(m, x, NAMED("norm1"));
    qkv[0] = linear(m, h, s->dim, NAMED("query"));
    qkv[1] = linear(m, h, s->dim, NAMED("key"));
    qkv[2] = linear(m, h, s->dim, NAMED("value"));
    sprintf(text, "{\"heads\": %lld, \"causal\": true}", (long long)s->heads);
    h = op(m, "attention", qkv, 3, text);
    x = sum(m, x, linear(m, h, s->dim, NAMED("attention_out")));
    h = norm(m, x, NAMED("norm2"));
    h = linear(m, h, 4 * s->dim, NAMED("mlp_in"));
    h = op(m, "gelu_tanh", &h, 1, "");
    x = sum(m, x, linear(m, h, s->dim, NAMED("mlp_out")));
#undef NAMED
  }
  x = norm(m, x, "final_norm");
  /* The output projection reads the token embedding's matrix [vocab, dim]. */
  CHECK(tk_model_linear_ex(m, x, vocab, 0, TK_INIT_XAVIER_UNIFORM, &head));
  CHECK(tk_model_set_node_name(m, head, "head"));
  CHECK(tk_model_share_parameter(m, head, "weight", tokens, "weight"));
  CHECK(tk_model_output(m, head, "logits"));
  return m;
}

/* ---- training -------------------------------------------------------------- */

/* Rows of `context` ids starting at `starts`, and the ids one later as targets. */
static void fill_windows(const int32_t* ids, const size_t* starts, int64_t rows, int64_t context, int32_t* inputs,
                         int32_t* targets) {
  int64_t r;
  for (r = 0; r < rows; ++r) {
    memcpy(inputs + r * context, ids + starts[r], (size_t)context * sizeof(int32_t));
    memcpy(targets + r * context, ids + starts[r] + 1, (size_t)context * sizeof(int32_t));
  }
}

/* The mean next-byte loss over windows of the validation ids: up to
 * VALIDATION_WINDOWS, spread evenly over the text, the same every epoch. */
#define VALIDATION_WINDOWS 512
static double validation_loss(tk_trainer* t, const Settings* s, const int32_t* ids, size_t count, int32_t* inputs,
                              int32_t* targets, size_t* starts) {
  const int64_t fitting = (int64_t)((count - 1) / (size_t)s->context);
  const int64_t windows = fitting < VALIDATION_WINDOWS ? fitting : VALIDATION_WINDOWS;
  const size_t spacing = (size_t)(fitting / windows) * (size_t)s->context;
  int64_t shape[2], done = 0;
  double total = 0;
  shape[1] = s->context;
  while (done < windows) {
    const int64_t rows = windows - done < s->batch ? windows - done : s->batch;
    tk_tensor_view in, target;
    double loss, accuracy;
    int64_t r;
    for (r = 0; r < rows; ++r) starts[r] = (size_t)(done + r) * spacing;
    fill_windows(ids, starts, rows, s->context, inputs, targets);
    shape[0] = rows;
    in = tk_view(inputs, TK_DTYPE_I32, 2, shape);
    target = tk_view(targets, TK_DTYPE_I32, 2, shape);
    CHECK(tk_trainer_evaluate_inputs(t, 1, &in, &target, &loss, &accuracy));
    total += loss * (double)rows;
    done += rows;
  }
  return total / (double)windows;
}

static tk_trainer* train(const Settings* s, const tk_model* m, const int32_t* ids, size_t count) {
  const size_t validation = count / 10, training = count - validation;
  const int64_t total_steps = (int64_t)s->epochs * s->steps;
  tk_trainer_options* o;
  tk_trainer* t;
  int32_t* inputs = (int32_t*)malloc((size_t)(s->batch * s->context) * sizeof(int32_t));
  int32_t* targets = (int32_t*)malloc((size_t)(s->batch * s->context) * sizeof(int32_t));
  size_t* starts = (size_t*)malloc((size_t)s->batch * sizeof(size_t));
  uint64_t random = s->seed * 2654435761ULL + 1;
  int64_t shape[2], parameters;
  double started = now();
  int epoch, step;
  if (!inputs || !targets || !starts || training <= (size_t)s->context + 1 || validation <= (size_t)s->context + 1) {
    fprintf(stderr, "the corpus is too short for windows of %lld bytes\n", (long long)s->context);
    exit(1);
  }
  CHECK(tk_trainer_options_create(&o));
  CHECK(tk_trainer_options_set_optimizer(o, TK_OPTIMIZER_ADAMW));
  CHECK(tk_trainer_options_set_learning_rate(o, s->learning_rate));
  CHECK(tk_trainer_options_set_adam(o, 0.9, 0.95, 1e-8));
  CHECK(tk_trainer_options_set_weight_decay(o, 0.1));
  CHECK(tk_trainer_options_set_schedule(o, TK_SCHEDULE_COSINE, total_steps / 20, 0, 0, total_steps,
                                        s->learning_rate / 10));
  CHECK(tk_trainer_options_set_clip_norm(o, 1.0));
  CHECK(tk_trainer_options_set_seed(o, s->seed));
  CHECK(tk_trainer_options_set_threads(o, s->threads));
  CHECK(tk_trainer_options_set_device(o, TK_DEVICE_CPU));
  CHECK(tk_trainer_create(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, o, &t));
  tk_trainer_options_destroy(o);
  CHECK(tk_trainer_num_parameters(t, &parameters));
  printf("corpus: %zu bytes for training, %zu for validation\n", training, validation);
  printf("model: %lld layers, width %lld, %lld heads, context %lld, %lld parameters\n", (long long)s->layers,
         (long long)s->dim, (long long)s->heads, (long long)s->context, (long long)parameters);
  printf("validation loss before training: %.4f\n",
         validation_loss(t, s, ids + training, validation, inputs, targets, starts));
  shape[0] = s->batch, shape[1] = s->context;
  for (epoch = 1; epoch <= s->epochs; ++epoch) {
    double loss_sum = 0, window_start = now();
    int window_steps = 0;
    for (step = 1; step <= s->steps; ++step) {
      tk_tensor_view in = tk_view(inputs, TK_DTYPE_I32, 2, shape);
      tk_tensor_view target = tk_view(targets, TK_DTYPE_I32, 2, shape);
      tk_step_report report;
      int64_t r;
      for (r = 0; r < s->batch; ++r) starts[r] = (size_t)(next_random(&random) % (training - (size_t)s->context - 1));
      fill_windows(ids, starts, s->batch, s->context, inputs, targets);
      memset(&report, 0, sizeof report);
      report.struct_size = sizeof report;
      CHECK(tk_trainer_step_inputs(t, 1, &in, &target, &report));
      loss_sum += report.loss;
      ++window_steps;
      if (step % 25 == 0 || step == s->steps) {
        const double seconds = now() - window_start;
        printf("epoch %d step %4d/%d  loss %.4f  %.0f tokens/s  lr %.2e\n", epoch, step, s->steps,
               loss_sum / window_steps, (double)(window_steps * s->batch * s->context) / seconds,
               report.learning_rate);
        fflush(stdout);
        loss_sum = 0, window_steps = 0, window_start = now();
      }
    }
    printf("epoch %d: validation loss %.4f (%.0f s)\n", epoch,
           validation_loss(t, s, ids + training, validation, inputs, targets, starts), now() - started);
    fflush(stdout);
  }
  free(inputs);
  free(targets);
  free(starts);
  return t;
}

/* ---- generation ------------------------------------------------------------ */

/* The id to follow, from the logits of the last position: the arg-max
 * (top_k 0), or a draw from the k likeliest at `temperature`. */
static int32_t pick(const float* logits, int vocab, int top_k, double temperature, uint64_t* random) {
  int order[256], i, j, best = 0;
  double weights[256], total = 0, draw;
  if (top_k <= 0) {
    for (i = 1; i < vocab; ++i)
      if (logits[i] > logits[best]) best = i;
    return best;
  }
  if (top_k > vocab) top_k = vocab;
  for (i = 0; i < vocab; ++i) order[i] = i;
  for (i = 0; i < top_k; ++i) /* the k largest to the front */
    for (j = i + 1; j < vocab; ++j)
      if (logits[order[j]] > logits[order[i]]) {
        int swap = order[i];
        order[i] = order[j], order[j] = swap;
      }
  for (i = 0; i < top_k; ++i) total += weights[i] = exp((logits[order[i]] - logits[order[0]]) / temperature);
  draw = uniform(random) * total;
  for (i = 0; i < top_k - 1 && draw >= weights[i]; ++i) draw -= weights[i];
  return order[i];
}

/* Continues the prompt by `length` bytes: each step predicts over the last
 * `context` ids (the prompt left-aligned while shorter; causal attention
 * makes the unfilled positions irrelevant) and appends the pick. */
static void generate(tk_predictor* p, const Vocabulary* v, int64_t context, const char* prompt, int length, int top_k,
                     double temperature, uint64_t seed) {
  const size_t prompt_length = strlen(prompt);
  int32_t* history = (int32_t*)malloc((prompt_length + (size_t)length + 1) * sizeof(int32_t));
  int32_t* window = (int32_t*)calloc((size_t)context, sizeof(int32_t));
  float* logits = (float*)malloc((size_t)(context * v->size) * sizeof(float));
  int64_t in_shape[2], out_shape[3];
  size_t n = 0, i;
  uint64_t random = seed * 2654435761ULL + 7;
  int produced;
  in_shape[0] = 1, in_shape[1] = context;
  out_shape[0] = 1, out_shape[1] = context, out_shape[2] = v->size;
  for (i = 0; i < prompt_length; ++i)
    if (v->ids[(unsigned char)prompt[i]] >= 0) history[n++] = v->ids[(unsigned char)prompt[i]];
  if (n == 0) history[n++] = v->ids['\n'] >= 0 ? v->ids['\n'] : 0;
  printf("%s", prompt);
  for (produced = 0; produced < length; ++produced) {
    const size_t filled = n < (size_t)context ? n : (size_t)context;
    tk_tensor_view in = tk_view(window, TK_DTYPE_I32, 2, in_shape);
    tk_tensor_view out = tk_view(logits, TK_DTYPE_F32, 3, out_shape);
    memcpy(window, history + (n - filled), filled * sizeof(int32_t));
    CHECK(tk_predictor_predict_inputs(p, 1, &in, 0, &out));
    history[n] = pick(logits + (filled - 1) * (size_t)v->size, v->size, top_k, temperature, &random);
    putchar(v->bytes[history[n]]);
    ++n;
  }
  printf("\n");
  free(history);
  free(window);
  free(logits);
}

/* ---- saving and loading ---------------------------------------------------- */

static void save(const char* prefix, const tk_model* m, tk_trainer* t, const Vocabulary* v) {
  char path[4096];
  FILE* f;
  snprintf(path, sizeof path, "%s.json", prefix);
  CHECK(tk_model_save_spec(m, path));
  snprintf(path, sizeof path, "%s.safetensors", prefix);
  CHECK(tk_trainer_export_weights(t, path, TK_DTYPE_F32));
  snprintf(path, sizeof path, "%s.vocab", prefix);
  f = fopen(path, "wb");
  if (!f || fwrite(v->bytes, 1, (size_t)v->size, f) != (size_t)v->size || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
  printf("saved %s.json, %s.safetensors and %s.vocab\n", prefix, prefix, prefix);
}

static tk_predictor* load(const char* prefix, int threads, Vocabulary* v, int64_t* context) {
  char path[4096];
  unsigned char* bytes;
  size_t size = 0, capacity = 0, i;
  tk_model* m;
  tk_predictor* p;
  int32_t rank;
  int64_t shape[TK_MAX_RANK];
  snprintf(path, sizeof path, "%s.vocab", prefix);
  bytes = NULL;
  append_file(path, &bytes, &size, &capacity);
  if (size == 0 || size > 256) {
    fprintf(stderr, "%s is not a vocabulary (%zu bytes)\n", path, size);
    exit(1);
  }
  v->size = (int)size;
  for (i = 0; i < 256; ++i) v->ids[i] = -1;
  for (i = 0; i < size; ++i) v->bytes[i] = bytes[i], v->ids[bytes[i]] = (int)i;
  free(bytes);
  snprintf(path, sizeof path, "%s.json", prefix);
  CHECK(tk_model_load_spec(path, &m));
  snprintf(path, sizeof path, "%s.safetensors", prefix);
  CHECK(tk_predictor_load(m, TK_LOSS_SOFTMAX_CROSS_ENTROPY, path, threads, &p));
  tk_model_destroy(m);
  CHECK(tk_predictor_output_shape(p, &rank, shape));
  if (rank != 2 || shape[1] != v->size) {
    fprintf(stderr, "the saved model's outputs do not fit its %d-byte vocabulary\n", v->size);
    exit(1);
  }
  *context = shape[0];
  return p;
}

/* ---- main ------------------------------------------------------------------ */

static void usage(void) {
  fprintf(stderr,
          "usage: gpt [--corpus PATH] [--context 64] [--dim 128] [--layers 4] [--heads 4] [--batch 32]\n"
          "           [--epochs 6] [--steps 300] [--lr 3e-3] [--threads 0] [--seed 1] [--save PREFIX]\n"
          "           [--load PREFIX] [--prompt TEXT] [--length 300] [--top-k 10] [--temperature 0.8]\n");
  exit(2);
}

static long long whole(const char* text, long long low) {
  char* end;
  long long value = strtoll(text, &end, 10);
  if (*end != '\0' || value < low) {
    fprintf(stderr, "'%s' is not a whole number >= %lld\n", text, low);
    exit(2);
  }
  return value;
}

int main(int argc, char** argv) {
  static const struct option options[] = {
      {"corpus", required_argument, 0, 'c'}, {"context", required_argument, 0, 'x'},
      {"dim", required_argument, 0, 'd'},    {"layers", required_argument, 0, 'L'},
      {"heads", required_argument, 0, 'H'},  {"batch", required_argument, 0, 'b'},
      {"epochs", required_argument, 0, 'e'}, {"steps", required_argument, 0, 's'},
      {"lr", required_argument, 0, 'r'},     {"threads", required_argument, 0, 't'},
      {"seed", required_argument, 0, 'S'},   {"save", required_argument, 0, 'o'},
      {"load", required_argument, 0, 'l'},   {"prompt", required_argument, 0, 'p'},
      {"length", required_argument, 0, 'n'}, {"top-k", required_argument, 0, 'k'},
      {"temperature", required_argument, 0, 'T'}, {0, 0, 0, 0}};
  Settings s = {"/usr/share/games/fortunes", 64, 128, 4, 4, 32, 6, 300, 0, 300, 10, 3e-3, 0.8, 1,
                "The meaning of life is", NULL, NULL};
  Vocabulary v;
  tk_predictor* p;
  int c;
  while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
    switch (c) {
      case 'c': s.corpus = optarg; break;
      case 'x': s.context = whole(optarg, 2); break;
      case 'd': s.dim = whole(optarg, 1); break;
      case 'L': s.layers = whole(optarg, 1); break;
      case 'H': s.heads = whole(optarg, 1); break;
      case 'b': s.batch = whole(optarg, 1); break;
      case 'e': s.epochs = (int)whole(optarg, 1); break;
      case 's': s.steps = (int)whole(optarg, 1); break;
      case 'r': s.learning_rate = atof(optarg); break;
      case 't': s.threads = (int)whole(optarg, 0); break;
      case 'S': s.seed = (unsigned long long)whole(optarg, 0); break;
      case 'o': s.save = optarg; break;
      case 'l': s.load = optarg; break;
      case 'p': s.prompt = optarg; break;
      case 'n': s.length = (int)whole(optarg, 0); break;
      case 'k': s.top_k = (int)whole(optarg, 1); break;
      case 'T': s.temperature = atof(optarg); break;
      default: usage();
    }
  }
  if (optind != argc || !(s.learning_rate > 0) || !(s.temperature > 0)) usage();
  if (s.load) {
    p = load(s.load, s.threads, &v, &s.context);
  } else {
    size_t size, i;
    unsigned char* text = read_corpus(s.corpus, &size);
    int32_t* ids = (int32_t*)malloc(size * sizeof(int32_t));
    tk_model* m;
    tk_trainer* t;
    make_vocabulary(text, size, &v);
    for (i = 0; i < size; ++i) ids[i] = v.ids[text[i]];
    free(text);
    printf("vocabulary: %d bytes\n", v.size);
    m = build_gpt(&s, v.size);
    t = train(&s, m, ids, size);
    if (s.save) save(s.save, m, t, &v);
    CHECK(tk_predictor_create(t, s.threads, &p));
    tk_trainer_destroy(t);
    tk_model_destroy(m);
    free(ids);
  }
  printf("\n--- greedy ---\n");
  generate(p, &v, s.context, s.prompt, s.length, 0, 1.0, s.seed);
  printf("\n--- top-%d, temperature %.2f ---\n", s.top_k, s.temperature);
  generate(p, &v, s.context, s.prompt, s.length, s.top_k, s.temperature, s.seed);
  tk_predictor_destroy(p);
  return 0;
}

/*
 * trainkit.h - the trainkit C API, version 2.
 *
 * The contract, stated once:
 *
 * Status.     Every function that can fail returns tk_status. TK_OK is 0. On any
 *             other status, tk_last_error_message() describes the failure; the
 *             message is thread-local and stays valid until the next failing
 *             call on the same thread. No C++ exception ever crosses this
 *             boundary, and trainkit never exits or aborts the host process.
 * Out-params. Come last. On failure they are left untouched.
 * Ownership.  A handle from tk_X_create (or another function that says so) is
 *             owned by the caller and freed with tk_X_destroy. Every destroy
 *             accepts NULL and does nothing.
 * Borrowing.  A tk_tensor_view is a borrowed view of caller memory: trainkit
 *             reads or writes it only during the call it is passed to and keeps
 *             no pointer to it afterwards. Views returned by trainkit (from a
 *             batcher) live until the next call on the handle that made them.
 * Atomicity.  tk_trainer_step either succeeds or changes nothing: on an error
 *             the weights, optimizer state and counters are exactly as before.
 *             A step whose update would leave a weight or an optimizer moment
 *             non-finite (a learning rate of 1e38, say) is a non-finite step:
 *             refused with TK_ERROR_NON_FINITE, or skipped under
 *             TK_NONFINITE_SKIP or loss scaling. (Steps decided on a GPU,
 *             see tk_trainer_step_async, check the loss and gradients only.)
 * Threads.    Different handles may be used from different threads at once.
 *             One handle must not be used from two threads at once, except that
 *             a tk_model or tk_dataset that is only read (passed to
 *             tk_trainer_create, tk_batcher_create, tk_trainer_evaluate_dataset)
 *             may be shared. A tk_batcher keeps its dataset alive (the
 *             dataset may be destroyed first) but must not see it modified
 *             (normalized) while it exists. A streaming batcher's producer
 *             calls (tk_batcher_stream_*) may run on one thread while another
 *             trains from it; tk_trainer_cancel comes from any thread.
 *             A trainer copies the model, so the model may be destroyed
 *             after tk_trainer_create.
 * ABI.        Enum values and struct layouts never change; new values and
 *             functions are only appended. Hosts that dlopen the library use
 *             tk_get_api(TK_API_VERSION) for a table of every function.
 */
#ifndef TRAINKIT_H_
#define TRAINKIT_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TK_BUILDING_LIBRARY)
#define TK_API __attribute__((visibility("default")))
#else
#define TK_API
#endif

#define TK_VERSION_MAJOR 0
#define TK_VERSION_MINOR 2
#define TK_VERSION_PATCH 0
#define TK_API_VERSION 2
#define TK_MAX_RANK 8

/* ---- Status -------------------------------------------------------------- */

typedef enum tk_status {
  TK_OK = 0,
  TK_ERROR_INVALID_ARGUMENT = 1, /* a value out of range, an unknown enum */
  TK_ERROR_NULL_ARGUMENT = 2,    /* a required pointer or handle is NULL */
  TK_ERROR_SHAPE_MISMATCH = 3,   /* a tensor's shape does not fit */
  TK_ERROR_DTYPE_MISMATCH = 4,   /* a tensor's element type does not fit */
  TK_ERROR_OUT_OF_MEMORY = 5,
  TK_ERROR_NON_FINITE = 6,       /* a loss or gradient became Inf or NaN */
  TK_ERROR_IO = 7,               /* a file could not be opened or read */
  TK_ERROR_CORRUPT_DATA = 8,     /* a file's contents are malformed */
  TK_ERROR_UNSUPPORTED = 9,      /* valid, but not supported by this build */
  TK_ERROR_INTERNAL = 10,        /* a bug in trainkit: please report it */
  TK_ERROR_COMMUNICATION = 11,   /* a data-parallel peer failed or timed out */
  TK_ERROR_CANCELLED = 12,       /* tk_trainer_cancel ended the call between steps */
  TK_ERROR_CALLBACK = 13         /* a callback returned TK_CALLBACK_ABORT */
} tk_status;

/* The message of the most recent failed call on this thread ("" if none). */
TK_API const char* tk_last_error_message(void);
/* A fixed name for a status, e.g. "TK_ERROR_SHAPE_MISMATCH". */
TK_API const char* tk_status_string(tk_status status);
/* The library version, e.g. "0.1.0"; a static string. */
TK_API const char* tk_version(void);

/* ---- Tensor views --------------------------------------------------------- */

typedef enum tk_dtype {
  TK_DTYPE_F32 = 0,
  TK_DTYPE_F64 = 1,
  TK_DTYPE_F16 = 2,
  TK_DTYPE_BF16 = 3,
  TK_DTYPE_I32 = 4,
  TK_DTYPE_U8 = 5
} tk_dtype;

/*
 * A borrowed view of caller memory: `rank` extents, row-major. strides[] are in
 * elements; all zero means contiguous. Maps one-to-one onto DLPack's DLTensor.
 */
typedef struct tk_tensor_view {
  void* data;
  int32_t dtype; /* a tk_dtype */
  int32_t rank;
  int64_t shape[TK_MAX_RANK];
  int64_t strides[TK_MAX_RANK];
} tk_tensor_view;

/* Contiguous views; `shape` holds `rank` extents (at most TK_MAX_RANK). */
TK_API tk_tensor_view tk_view(void* data, tk_dtype dtype, int32_t rank, const int64_t* shape);
TK_API tk_tensor_view tk_view_f32(float* data, int32_t rank, const int64_t* shape);
TK_API tk_tensor_view tk_view_i32(int32_t* data, int32_t rank, const int64_t* shape);

/* ---- Models --------------------------------------------------------------- */

/* A model under construction: a DAG of named nodes. Shapes are per sample
 * (without the batch dimension) and are checked as each node is added. */
typedef struct tk_model tk_model;
typedef int32_t tk_node;

typedef enum tk_init {
  TK_INIT_HE_UNIFORM = 0, /* default for linear weights */
  TK_INIT_HE_NORMAL = 1,
  TK_INIT_XAVIER_UNIFORM = 2,
  TK_INIT_XAVIER_NORMAL = 3,
  TK_INIT_ZEROS = 4
} tk_init;

/* Creates an empty model; free with tk_model_destroy. */
TK_API tk_status tk_model_create(tk_model** out_model);
TK_API void tk_model_destroy(tk_model* model);

/* An input of per-sample shape shape[0..rank). A model may have several:
 * batches give one view per input, in the order the inputs were added
 * (tk_trainer_step_inputs); one-input models take the plain calls. */
TK_API tk_status tk_model_input(tk_model* model, const char* name, int32_t rank,
                                const int64_t* shape, tk_node* out_node);
/* An input of int32 indices (token ids, categories) of per-sample shape
 * shape[0..rank), for ops that take indices (embedding); its views are
 * TK_DTYPE_I32, and each index is checked against the op's range before a
 * batch is used. */
TK_API tk_status tk_model_input_indices(tk_model* model, const char* name, int32_t rank, const int64_t* shape,
                                        tk_node* out_node);
/* y = x W^T + b over the last dimension; W is [units, in_features], He-uniform init. */
TK_API tk_status tk_model_linear(tk_model* model, tk_node input, int64_t units, tk_node* out_node);
/* As tk_model_linear with a choice of bias (0 or 1) and weight init. */
TK_API tk_status tk_model_linear_ex(tk_model* model, tk_node input, int64_t units, int32_t bias,
                                    tk_init weight_init, tk_node* out_node);
TK_API tk_status tk_model_relu(tk_model* model, tk_node input, tk_node* out_node);
TK_API tk_status tk_model_gelu(tk_model* model, tk_node input, tk_node* out_node);
TK_API tk_status tk_model_tanh(tk_model* model, tk_node input, tk_node* out_node);
TK_API tk_status tk_model_sigmoid(tk_model* model, tk_node input, tk_node* out_node);
/* Drops each element with `probability` in training (scaling the rest), identity otherwise. */
TK_API tk_status tk_model_dropout(tk_model* model, tk_node input, double probability,
                                  tk_node* out_node);
TK_API tk_status tk_model_flatten(tk_model* model, tk_node input, tk_node* out_node);
/* Elementwise a + b; shapes must be equal. */
TK_API tk_status tk_model_add(tk_model* model, tk_node a, tk_node b, tk_node* out_node);
/* Reshapes the per-sample shape (same element count), e.g. [28, 28] -> [1, 28, 28]. */
TK_API tk_status tk_model_reshape(tk_model* model, tk_node input, int32_t rank, const int64_t* shape,
                                  tk_node* out_node);
/* 2-D convolution over [channels, height, width] with a square kernel, as
 * PyTorch's Conv2d: weight [out, in / groups, k, k], bias [out] when bias = 1. */
TK_API tk_status tk_model_conv2d(tk_model* model, tk_node input, int64_t out_channels, int64_t kernel,
                                 int64_t stride, int64_t padding, int64_t dilation, int64_t groups, int32_t bias,
                                 tk_node* out_node);
/* Max and average pooling over [channels, height, width]; padding at most kernel / 2. */
TK_API tk_status tk_model_max_pool2d(tk_model* model, tk_node input, int64_t kernel, int64_t stride,
                                     int64_t padding, tk_node* out_node);
TK_API tk_status tk_model_avg_pool2d(tk_model* model, tk_node input, int64_t kernel, int64_t stride,
                                     int64_t padding, tk_node* out_node);
/* [channels, height, width] -> [channels]: the mean of each plane. */
TK_API tk_status tk_model_global_avg_pool(tk_model* model, tk_node input, tk_node* out_node);
/* Batch normalization per channel of [channels, ...] samples (BatchNorm1d on
 * [features], BatchNorm2d on [channels, height, width]), as PyTorch: learned
 * weight (ones) and bias (zeros) [channels]; training normalizes with the
 * batch's statistics and updates the running mean and variance (non-trainable
 * state, saved in checkpoints and exported weights) with `momentum`;
 * evaluation and prediction use the running statistics. PyTorch's defaults
 * are eps 1e-5, momentum 0.1. */
TK_API tk_status tk_model_batch_norm(tk_model* model, tk_node input, double eps, double momentum,
                                     tk_node* out_node);
/* Layer normalization over the last `axes` axes of each sample (1 for the
 * feature axis), with learned weight and bias of that shape. */
TK_API tk_status tk_model_layer_norm(tk_model* model, tk_node input, int32_t axes, double eps,
                                     tk_node* out_node);
/* Drops whole channels of [channels, height, width] samples with `probability`
 * in training (PyTorch's Dropout2d), identity otherwise. */
TK_API tk_status tk_model_dropout2d(tk_model* model, tk_node input, double probability, tk_node* out_node);
/* Multi-head attention over `query` [seq, width] as ordinary nodes: Linear
 * projections "<name>.query", "<name>.key" and "<name>.value" (the latter two
 * of `context`: pass query itself for self-attention), the attention op
 * "<name>.heads" over `heads` (causal when causal = 1; masked by `mask`
 * [seq_k] unless mask is -1: additive, or with keep_mask = 1 a tokenizer's
 * 1 = attend / 0 = padding) and the output projection "<name>.out",
 * whose node it returns. name NULL or "" becomes "attention_<id>". On any
 * error the model is left as it was. */
TK_API tk_status tk_model_multi_head_attention(tk_model* model, tk_node query, tk_node context, tk_node mask,
                                               int64_t heads, int32_t causal, int32_t keep_mask, const char* name,
                                               tk_node* out_node);
/* Marks the node the loss and predictions read. */
TK_API tk_status tk_model_output(tk_model* model, tk_node node, const char* name);
/* Another named output beside the one the loss reads (tk_model_output):
 * predictions can read it too (tk_trainer_predict_outputs), e.g. a sentence
 * embedding beside a classifier's logits. Output names are unique; an input
 * cannot be an output. Specs keep it ("outputs"). */
TK_API tk_status tk_model_add_output(tk_model* model, tk_node node, const char* name);
/* Renames a node (names are unique; ops get "<type>_<id>" by default). */
TK_API tk_status tk_model_set_node_name(tk_model* model, tk_node node, const char* name);
/* Weight tying: node's parameter `param` ("weight") becomes the tensor of
 * parameter `source_param` of the earlier node `source`, e.g. a language
 * model's output projection (tk_model_linear_ex without bias: weight
 * [vocab, dim]) reading its token embedding's weight [vocab, dim]. The shapes
 * must be equal. The tensor is one to the optimizer, checkpoints, imports and
 * tk_model_num_parameters, named after `source`; its gradient is the sum over
 * its uses. Model specs keep it ("shared": {"weight": "tokens.weight"}). */
TK_API tk_status tk_model_share_parameter(tk_model* model, tk_node node, const char* param, tk_node source,
                                          const char* source_param);
/* Writes the node's name into buffer (NUL-terminated, truncated to capacity). */
TK_API tk_status tk_model_node_name(const tk_model* model, tk_node node, char* buffer,
                                    size_t capacity);
/* The node's per-sample shape: *out_rank extents into out_shape[TK_MAX_RANK]. */
TK_API tk_status tk_model_node_shape(const tk_model* model, tk_node node, int32_t* out_rank,
                                     int64_t* out_shape);
TK_API tk_status tk_model_num_parameters(const tk_model* model, int64_t* out_count);

/* Adds any registered op by name over n_inputs earlier nodes; every typed
 * tk_model_* call above is this with fixed attributes. attributes_json is a
 * JSON object of numbers, booleans and strings, e.g. {"units": 10,
 * "bias": false}; NULL or "" gives none (defaults apply). An unknown op, a
 * wrong input count, invalid JSON, or a missing, unknown or wrong-typed
 * attribute is TK_ERROR_INVALID_ARGUMENT with a message naming the op and the
 * attribute. tk_op_catalog lists the ops. */
TK_API tk_status tk_model_op(tk_model* model, const char* op_name, const tk_node* inputs, size_t n_inputs,
                             const char* attributes_json, tk_node* out_node);
/* The registered ops as JSON text: {"ops": [{"name": "linear", "inputs": 1,
 * "attributes": [{"name": "units", "type": "int", "required": true},
 * {"name": "bias", "type": "bool", "required": false, "default": true}, ...]},
 * ...]}; types are "int", "real", "bool" and "string", and an attribute that
 * defaults to another's value names it in "default_from". *out_length is the
 * text's size including its NUL; with buffer NULL only that is written, else
 * the text is copied into buffer, which must hold *out_length bytes. */
TK_API tk_status tk_op_catalog(char* buffer, size_t capacity, size_t* out_length);

/* ---- Trainer options ------------------------------------------------------ */

typedef struct tk_trainer_options tk_trainer_options;

typedef enum tk_loss {
  TK_LOSS_SOFTMAX_CROSS_ENTROPY = 0, /* output [classes], targets i32 [batch] */
  TK_LOSS_MSE = 1,                   /* targets f32 shaped as the output */
  TK_LOSS_BCE_WITH_LOGITS = 2        /* targets f32 in [0, 1] shaped as the output */
} tk_loss;

typedef enum tk_reduction { TK_REDUCTION_MEAN = 0, TK_REDUCTION_SUM = 1 } tk_reduction;

typedef enum tk_optimizer {
  TK_OPTIMIZER_SGD = 0,  /* momentum, Nesterov, L2 weight decay (PyTorch SGD) */
  TK_OPTIMIZER_ADAM = 1, /* L2 weight decay added to the gradient */
  TK_OPTIMIZER_ADAMW = 2 /* decoupled weight decay */
} tk_optimizer;

typedef enum tk_schedule {
  TK_SCHEDULE_CONSTANT = 0,
  TK_SCHEDULE_STEP = 1,  /* lr * gamma^(floor(step / step_size)) */
  TK_SCHEDULE_COSINE = 2 /* from lr down to min_lr over total_steps */
} tk_schedule;

typedef enum tk_nonfinite {
  TK_NONFINITE_ERROR = 0, /* the step returns TK_ERROR_NON_FINITE and changes nothing */
  TK_NONFINITE_SKIP = 1   /* the batch is dropped and counted; the step returns TK_OK */
} tk_nonfinite;

typedef enum tk_device {
  TK_DEVICE_AUTO = 0, /* CUDA GPU 0 when one can be used, else the CPU (the default) */
  TK_DEVICE_CPU = 1,
  TK_DEVICE_CUDA = 2  /* CUDA GPU 0 (or the one tk_trainer_options_set_cuda_device picks); an error without one */
} tk_device;

/* Defaults: SGD, lr 0.01, no momentum, no weight decay, constant schedule, no
 * clipping, no accumulation, seed 0, all cores (OMP_NUM_THREADS caps them), mean reduction, non-finite is
 * an error, f32, device auto (a CUDA GPU when libtrainkit_cuda.so finds one, else the CPU). */
TK_API tk_status tk_trainer_options_create(tk_trainer_options** out_options);
TK_API void tk_trainer_options_destroy(tk_trainer_options* options);
TK_API tk_status tk_trainer_options_set_optimizer(tk_trainer_options* options, tk_optimizer optimizer);
TK_API tk_status tk_trainer_options_set_learning_rate(tk_trainer_options* options, double learning_rate);
/* SGD momentum in [0, 1) and Nesterov (0 or 1; needs momentum > 0). */
TK_API tk_status tk_trainer_options_set_momentum(tk_trainer_options* options, double momentum,
                                                 int32_t nesterov);
TK_API tk_status tk_trainer_options_set_weight_decay(tk_trainer_options* options, double weight_decay);
/* Adam/AdamW betas in [0, 1) and eps > 0. */
TK_API tk_status tk_trainer_options_set_adam(tk_trainer_options* options, double beta1, double beta2,
                                             double eps);
/* Optional linear warm-up over warmup_steps, then the schedule. step_size and
 * gamma are for TK_SCHEDULE_STEP; total_steps and min_lr for TK_SCHEDULE_COSINE. */
TK_API tk_status tk_trainer_options_set_schedule(tk_trainer_options* options, tk_schedule schedule,
                                                 int64_t warmup_steps, int64_t step_size,
                                                 double gamma, int64_t total_steps, double min_lr);
/* Clip gradients to this global L2 norm; 0 turns clipping off. */
TK_API tk_status tk_trainer_options_set_clip_norm(tk_trainer_options* options, double max_norm);
/* Accumulate k micro-batches (k steps) per optimizer update. */
TK_API tk_status tk_trainer_options_set_accumulation_steps(tk_trainer_options* options, int32_t steps);
TK_API tk_status tk_trainer_options_set_seed(tk_trainer_options* options, uint64_t seed);
/* Worker threads for this trainer; 0 uses OMP_NUM_THREADS where it is set,
 * else every core. */
TK_API tk_status tk_trainer_options_set_threads(tk_trainer_options* options, int32_t threads);
TK_API tk_status tk_trainer_options_set_reduction(tk_trainer_options* options, tk_reduction reduction);
TK_API tk_status tk_trainer_options_set_nonfinite(tk_trainer_options* options, tk_nonfinite policy);
TK_API tk_status tk_trainer_options_set_device(tk_trainer_options* options, tk_device device);
/* Trains on CUDA GPU `index` (0 .. tk_gpu_count - 1). */
TK_API tk_status tk_trainer_options_set_cuda_device(tk_trainer_options* options, int32_t index);
/* Compute in f32 (default) or f64. */
TK_API tk_status tk_trainer_options_set_compute_dtype(tk_trainer_options* options, tk_dtype dtype);
/* Plan activation memory for this many rows at creation (0: the first batch decides). */
TK_API tk_status tk_trainer_options_set_batch_hint(tk_trainer_options* options, int64_t rows);
/* Cap on the bytes the trainer's device memory may hold (0: no cap). */
TK_API tk_status tk_trainer_options_set_memory_limit(tk_trainer_options* options, uint64_t bytes);

/* Automatic mixed precision. Under TK_PRECISION_FP16 / _BF16, Linear (and
 * later Conv) multiply in half precision with f32 accumulation, activations
 * are stored in half precision, and softmax, losses, reductions and the
 * optimizer stay in f32 on f32 master weights. On the CPU half storage is
 * converted to f32 for arithmetic (round to nearest-even on store). */
typedef enum tk_precision {
  TK_PRECISION_FP32 = 0,
  TK_PRECISION_FP16 = 1,
  TK_PRECISION_BF16 = 2
} tk_precision;

/* Loss scaling (PyTorch GradScaler semantics): the loss is multiplied by the
 * scale before backward, gradients are unscaled in the optimizer pass, and a
 * step with an Inf/NaN gradient is skipped (TK_OK, reported as skipped) while
 * the scale backs off. AUTO is dynamic for fp16 and off otherwise. */
typedef enum tk_loss_scaling {
  TK_LOSS_SCALING_AUTO = 0,
  TK_LOSS_SCALING_DYNAMIC = 1,
  TK_LOSS_SCALING_OFF = 2
} tk_loss_scaling;

/* Default fp32. Mixed precision needs the f32 compute dtype. */
TK_API tk_status tk_trainer_options_set_precision(tk_trainer_options* options, tk_precision precision);
/* Defaults: AUTO, initial scale 65536, growth 2.0, backoff 0.5, growth interval 2000. */
TK_API tk_status tk_trainer_options_set_loss_scaling(tk_trainer_options* options, tk_loss_scaling mode,
                                                     double init_scale, double growth_factor,
                                                     double backoff_factor, int64_t growth_interval);

/* Data parallel in one process: `replicas` copies of the model on threads,
 * each taking an equal share of the rows of every batch, gradients averaged
 * in buckets; equivalent to one replica on the whole batch, up to rounding,
 * except for batch norm without tk_trainer_options_set_sync_batch_norm: each
 * replica normalizes (and updates its running statistics) over its own rows,
 * as PyTorch's DistributedDataParallel without SyncBatchNorm, so the result
 * differs from one replica's and each replica's share needs two rows (values
 * per channel) at least. Default 1. With a
 * CUDA device d set, replica r runs on GPU d + r and they average through
 * NCCL (an error if there are too few GPUs); with TK_DEVICE_AUTO, on GPUs
 * when there are at least `replicas`, else on the CPU. */
TK_API tk_status tk_trainer_options_set_replicas(tk_trainer_options* options, int32_t replicas);
/* Sync batch norm (1) or not (0, the default): in data parallel (replicas or
 * processes), batch norm normalizes over the rows of every replica, and
 * updates the running statistics from them, so N replicas train batch norm
 * as one replica on the whole batch, up to rounding. It costs two small
 * all-reduces per batch norm in forward and one in backward. CPU trainers
 * only for now: a GPU trainer with it fails to join its group with
 * TK_ERROR_UNSUPPORTED. No effect on a trainer alone. */
TK_API tk_status tk_trainer_options_set_sync_batch_norm(tk_trainer_options* options, int32_t enabled);
/* Data parallel across processes and machines: TK_DISTRIBUTED_MPI joins the
 * MPI world (started by mpirun; MPI is initialized if the host has not done
 * so). Each process feeds its own share of every global batch (see
 * tk_batcher_set_shard); gradients are averaged over all rows of all ranks;
 * rank 0's initial weights are broadcast at creation.
 * TK_DISTRIBUTED_NCCL: one process per GPU, gradients summed on the GPUs by
 * NCCL; rank, world size and NCCL's unique id come from MPI (under mpirun), or
 * from the host's own rendezvous (tk_trainer_options_set_rendezvous). The GPU
 * is the one set with tk_trainer_options_set_cuda_device, else the rank's
 * position on its machine (OMPI_COMM_WORLD_LOCAL_RANK) or rank modulo GPUs. */
typedef enum tk_distributed {
  TK_DISTRIBUTED_NONE = 0,
  TK_DISTRIBUTED_MPI = 1,
  TK_DISTRIBUTED_NCCL = 2
} tk_distributed;
TK_API tk_status tk_trainer_options_set_distributed(tk_trainer_options* options, tk_distributed mode);
/* A host that reaches its peers its own way: trainkit calls `broadcast` once
 * on every rank, with the same size, while creating a TK_DISTRIBUTED_NCCL
 * trainer; on return `data` must hold rank 0's bytes on every rank (a file,
 * a socket, the host's own messaging). Return TK_OK, or any other status to
 * fail the creation. */
typedef tk_status (*tk_rendezvous_broadcast)(void* data, size_t bytes, void* user_data);
TK_API tk_status tk_trainer_options_set_rendezvous(tk_trainer_options* options, int32_t rank, int32_t world_size,
                                                   tk_rendezvous_broadcast broadcast, void* user_data);
/* How long a collective waits for its peers before TK_ERROR_COMMUNICATION
 * (default 300 s). */
TK_API tk_status tk_trainer_options_set_communication_timeout(tk_trainer_options* options, double seconds);
/* Size of the gradient all-reduce buckets (default 25 MiB). */
TK_API tk_status tk_trainer_options_set_bucket_bytes(tk_trainer_options* options, uint64_t bytes);

/* ---- Trainer -------------------------------------------------------------- */

typedef struct tk_trainer tk_trainer;

/* Compiles a copy of `model` with `loss` and `options` (NULL: defaults) and
 * initializes its parameters from the seed; free with tk_trainer_destroy. */
TK_API tk_status tk_trainer_create(const tk_model* model, tk_loss loss,
                                   const tk_trainer_options* options, tk_trainer** out_trainer);
TK_API void tk_trainer_destroy(tk_trainer* trainer);

/* One training step on a batch: inputs [batch, input shape], targets per the
 * loss. Writes the batch loss (before the update) to *out_loss. All-or-nothing. */
TK_API tk_status tk_trainer_step(tk_trainer* trainer, const tk_tensor_view* inputs,
                                 const tk_tensor_view* targets, float* out_loss);
/* Loss and accuracy on one batch, without training (dropout off). Accuracy is
 * NaN for TK_LOSS_MSE. */
TK_API tk_status tk_trainer_evaluate(tk_trainer* trainer, const tk_tensor_view* inputs,
                                     const tk_tensor_view* targets, double* out_loss,
                                     double* out_accuracy);
/* Writes outputs [batch, output shape] as f32 or f64 into `outputs`: raw
 * (logits) or, with probabilities = 1, softmax (cross-entropy) or sigmoid (BCE). */
TK_API tk_status tk_trainer_predict(tk_trainer* trainer, const tk_tensor_view* inputs,
                                    int32_t probabilities, tk_tensor_view* outputs);

/* What one step did. Set struct_size = sizeof(tk_step_report) before the
 * call; trainkit fills only the fields that fit, so the struct can grow. */
typedef struct tk_step_report {
  uint32_t struct_size;
  int32_t applied;      /* 1 if the optimizer updated the weights */
  int32_t skipped;      /* 1 if the batch was dropped (non-finite under loss scaling or TK_NONFINITE_SKIP) */
  float loss;           /* the batch loss, unscaled */
  double loss_scale;    /* the scale this step's backward used (1 without loss scaling) */
  double learning_rate; /* of the update, when applied */
  double grad_norm;     /* global norm of the unscaled gradient, when applied */
  int64_t step;         /* optimizer steps after this call */
} tk_step_report;

/* tk_trainer_step with a full report of what happened. */
TK_API tk_status tk_trainer_step_report(tk_trainer* trainer, const tk_tensor_view* inputs,
                                        const tk_tensor_view* targets, tk_step_report* out_report);
/* The calls above for a model of several inputs: inputs[0..input_count), one
 * view per model input in the order they were added, all with the same
 * batch. out_report may be NULL. */
TK_API tk_status tk_trainer_step_inputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                        const tk_tensor_view* targets, tk_step_report* out_report);
TK_API tk_status tk_trainer_evaluate_inputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                            const tk_tensor_view* targets, double* out_loss, double* out_accuracy);
TK_API tk_status tk_trainer_predict_inputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                           int32_t probabilities, tk_tensor_view* outputs);
/* Outputs 0 .. output_count-1 of one forward into outputs[0..output_count):
 * output 0 is the loss's (logits, or probabilities with probabilities = 1),
 * then the model's other named outputs in the order added (values), each
 * [batch, its per-sample shape]. Views that do not fit are refused before
 * anything runs. */
TK_API tk_status tk_trainer_predict_outputs(tk_trainer* trainer, int32_t input_count, const tk_tensor_view* inputs,
                                            int32_t probabilities, int32_t output_count, tk_tensor_view* outputs);
/* How many outputs the trainer's model has (1 + those added with tk_model_add_output). */
TK_API tk_status tk_trainer_output_count(const tk_trainer* trainer, int32_t* out_count);
/* Output `index`: its name into name[0..capacity) (NULL to skip) and its
 * per-sample shape (out_rank and out_shape[TK_MAX_RANK], or both NULL). */
TK_API tk_status tk_trainer_output_info(const tk_trainer* trainer, int32_t index, char* name, size_t capacity,
                                        int32_t* out_rank, int64_t* out_shape);
/* How many inputs the trainer's model takes. */
TK_API tk_status tk_trainer_input_count(const tk_trainer* trainer, int32_t* out_count);
/* Input `index` (0 .. count-1, in the order added): its name into
 * name[0..capacity) (NULL to skip), whether it takes int32 indices
 * (out_indices 1) or floats (0), and its per-sample shape (out_rank and
 * out_shape[TK_MAX_RANK], or both NULL). */
TK_API tk_status tk_trainer_input_info(const tk_trainer* trainer, int32_t index, char* name, size_t capacity,
                                       int32_t* out_indices, int32_t* out_rank, int64_t* out_shape);
/* A training step queued without waiting for the GPU, so the next batch's copy
 * overlaps this step's work. On a GPU (one device, no gradient accumulation,
 * no dropout) the whole step is decided on the device and replayed as a CUDA
 * graph; elsewhere it is tk_trainer_step. The views may be reused as soon as
 * it returns. tk_trainer_wait waits for the queued steps and reports the last
 * one (out_report may be NULL). A queued step whose loss or gradient is not
 * finite under TK_NONFINITE_ERROR changes nothing, nor do steps queued after
 * it; tk_trainer_wait returns TK_ERROR_NON_FINITE (or the next
 * tk_trainer_step_async does, where a call in between has waited for the
 * steps). Other calls on the trainer wait for queued steps first. */
TK_API tk_status tk_trainer_step_async(tk_trainer* trainer, const tk_tensor_view* inputs,
                                       const tk_tensor_view* targets);
TK_API tk_status tk_trainer_wait(tk_trainer* trainer, tk_step_report* out_report);
/* Whether steps on a GPU are recorded once as a CUDA graph and replayed
 * (default 1); 0 launches every kernel of every step. */
TK_API tk_status tk_trainer_options_set_cuda_graphs(tk_trainer_options* options, int32_t enabled);
/* The loss scaler's state: current scale (1 when off), clean steps since the
 * last change, and steps skipped so far. */
TK_API tk_status tk_trainer_loss_scale(const tk_trainer* trainer, double* out_scale,
                                       int64_t* out_growth_tracker, int64_t* out_skipped);

TK_API tk_status tk_trainer_step_count(const tk_trainer* trainer, int64_t* out_optimizer_steps);
/* This process's rank and the world size (0 and 1 unless distributed). */
TK_API tk_status tk_trainer_world(const tk_trainer* trainer, int32_t* out_rank, int32_t* out_size);
TK_API tk_status tk_trainer_skipped_steps(const tk_trainer* trainer, int64_t* out_skipped);
/* The learning rate the next optimizer update will use. */
TK_API tk_status tk_trainer_learning_rate(const tk_trainer* trainer, double* out_learning_rate);
/* The global gradient norm of the last update (before clipping). */
TK_API tk_status tk_trainer_last_grad_norm(const tk_trainer* trainer, double* out_norm);

/* Parameters: tensors in model order, named "<node>.<param>" ("linear_1.weight"). */
TK_API tk_status tk_trainer_num_parameter_tensors(const tk_trainer* trainer, int32_t* out_count);
/* Name (into buffer, truncated to capacity), rank and shape (TK_MAX_RANK slots) of tensor `index`. */
TK_API tk_status tk_trainer_parameter_info(const tk_trainer* trainer, int32_t index, char* name,
                                           size_t capacity, int32_t* out_rank, int64_t* out_shape);
/* Copies tensor `index` into / from a caller view of its shape (f32, f64, f16 or bf16). */
TK_API tk_status tk_trainer_get_parameter(const tk_trainer* trainer, int32_t index,
                                          tk_tensor_view* out);
TK_API tk_status tk_trainer_set_parameter(tk_trainer* trainer, int32_t index,
                                          const tk_tensor_view* values);
/* The device the trainer runs on, e.g. "cpu" or "cuda:0 (NVIDIA H100)" (into buffer, truncated). */
TK_API tk_status tk_trainer_device_name(const tk_trainer* trainer, char* buffer, size_t capacity);
/* Total scalar parameters, and all of them as one f32 array in tensor order. */
TK_API tk_status tk_trainer_num_parameters(const tk_trainer* trainer, int64_t* out_count);
TK_API tk_status tk_trainer_copy_parameters(const tk_trainer* trainer, float* out, int64_t count);

/* ---- GPUs ------------------------------------------------------------------- */

/* CUDA GPUs come from libtrainkit_cuda.so, loaded at run time from
 * $TK_CUDA_LIBRARY, the directory of libtrainkit.so, or the library path. */
typedef struct tk_gpu_info {
  uint32_t struct_size; /* set to sizeof(tk_gpu_info) before the call */
  char name[256];
  uint64_t memory_bytes;
  int32_t compute_major, compute_minor; /* compute capability, e.g. 9.0 */
} tk_gpu_info;

/* How many CUDA GPUs can be used. With none, *out_count is 0, the status is
 * TK_OK, and `reason` (if not NULL) says why: no plugin, no driver, no GPU. */
TK_API tk_status tk_gpu_count(int32_t* out_count, char* reason, size_t capacity);
TK_API tk_status tk_gpu_info_get(int32_t index, tk_gpu_info* out_info);

/* Host memory for batches. Where a GPU can be used it is page-locked, and
 * steps on a GPU copy views of it straight to the device at full bus speed
 * (other memory goes through a staging copy first); elsewhere it is ordinary
 * memory. At least 64-byte aligned. Free with tk_host_free (NULL is a no-op;
 * a pointer tk_host_alloc did not return is refused). */
TK_API tk_status tk_host_alloc(size_t bytes, void** out_ptr);
TK_API tk_status tk_host_free(void* ptr);

/* Datasets and batchers: see "Data" below. */
typedef struct tk_dataset tk_dataset;
typedef struct tk_batcher tk_batcher;

/* ---- Model specs, checkpoints and weights ---------------------------------- */

/* A model spec is JSON naming every node, its op, inputs and attributes, and
 * the output; the same spec rebuilds the same model. */
/* Builds a model from spec text; free with tk_model_destroy. A spec without
 * an output is TK_ERROR_INVALID_ARGUMENT. */
TK_API tk_status tk_model_from_spec(const char* json, tk_model** out_model);
/* Builds a model from a spec file. */
TK_API tk_status tk_model_load_spec(const char* path, tk_model** out_model);
/* Writes the model's spec to a file (atomically). */
TK_API tk_status tk_model_save_spec(const tk_model* model, const char* path);
/* Bytes the spec text needs, including the terminating NUL. */
TK_API tk_status tk_model_spec_length(const tk_model* model, size_t* out_length);
/* Writes the spec text; capacity must be at least tk_model_spec_length. */
TK_API tk_status tk_model_spec(const tk_model* model, char* buffer, size_t capacity);

/* Saves a checkpoint (safetensors): weights, optimizer state, loss-scaler and
 * step counters, seed, user properties, the model spec, and, when `cursor` is
 * not NULL, the batcher's position. Atomic: temporary file, fsync, rename. */
TK_API tk_status tk_trainer_save(tk_trainer* trainer, const char* path, const tk_batcher* cursor);
/* As tk_trainer_save to "<prefix>-<step>.safetensors", then deletes the
 * oldest such files beyond `keep`. The path written goes to out_path (may be
 * NULL) if it fits in capacity. */
TK_API tk_status tk_trainer_save_keep_last(tk_trainer* trainer, const char* prefix, int32_t keep,
                                           const tk_batcher* cursor, char* out_path, size_t capacity);
/* Restores a checkpoint into a trainer built from the same model and options
 * (and the batcher's position when `cursor` is not NULL). Every offset, dtype,
 * shape and name is validated first; on any error nothing changes. */
TK_API tk_status tk_trainer_load(tk_trainer* trainer, const char* path, tk_batcher* cursor);
/* Weights only, as TK_DTYPE_F32, _F16 or _BF16, for inference or other tools. */
TK_API tk_status tk_trainer_export_weights(tk_trainer* trainer, const char* path, tk_dtype dtype);
/* Loads weights by name from a safetensors file (any float dtype). */
TK_API tk_status tk_trainer_import_weights(tk_trainer* trainer, const char* path);
/* Loads weights another tool saved (safetensors, any float dtype; tensors of
 * other dtypes, such as I64 position ids, only count as unexpected) through
 * a name map: map_json (NULL: every name as it is) is a JSON object of
 * trainkit name ("<node>.<param>") -> the file's tensor name, or -> {"name":
 * ..., "transpose": true} for a 2-D tensor stored [in, out]; names not in it
 * are looked up as they are. strict 1: every trainer tensor must be found,
 * with its shape, and every file tensor taken; strict 0: the trainer keeps
 * its own values for tensors not found or mis-shaped, and file tensors left
 * over are ignored (a pretrained body under a new head). A map entry naming
 * a tensor the file or the model lacks, or whose shape does not fit, is
 * refused either way. All or nothing; tk_trainer_import_report says what
 * was loaded, missing, unexpected and mis-shaped. */
TK_API tk_status tk_trainer_import_weights_mapped(tk_trainer* trainer, const char* path, const char* map_json,
                                                  int32_t strict);
/* The last tk_trainer_import_weights_mapped's report, as JSON: {"loaded":
 * [...], "missing": [...], "unexpected": [...], "mismatched": [{"name",
 * "file_name", "expected", "found"}]} ("{}" before any). Copied with its
 * NUL if it fits in capacity; *out_length gets the bytes needed. */
TK_API tk_status tk_trainer_import_report(const tk_trainer* trainer, char* buffer, size_t capacity,
                                          size_t* out_length);
/* User properties: string pairs saved with checkpoints. */
TK_API tk_status tk_trainer_set_property(tk_trainer* trainer, const char* key, const char* value);
/* Copies the value (NUL-terminated) if it fits; *out_length gets the bytes
 * needed, NUL included. A missing key is TK_ERROR_INVALID_ARGUMENT. */
TK_API tk_status tk_trainer_get_property(const tk_trainer* trainer, const char* key, char* buffer,
                                         size_t capacity, size_t* out_length);

/* ---- Data ----------------------------------------------------------------- */

typedef enum tk_normalization {
  TK_NORMALIZE_UNIT_RANGE = 0, /* (x - min) / (max - min) over the dataset */
  TK_NORMALIZE_MEAN_STD = 1    /* (x - mean) / std with the given values */
} tk_normalization;

/* Loads images and labels from IDX files (MNIST format, plain or .gz). */
TK_API tk_status tk_dataset_load_idx(const char* images_path, const char* labels_path,
                                     tk_dataset** out_dataset);
/* Copies caller arrays: features [N, ...] (f32, f64 or u8) and targets, i32
 * class indices [N] or f32/f64 values [N, ...]. */
TK_API tk_status tk_dataset_create(const tk_tensor_view* features, const tk_tensor_view* targets,
                                   tk_dataset** out_dataset);
TK_API void tk_dataset_destroy(tk_dataset* dataset);
/* Normalizes features in place; mean and std are read for TK_NORMALIZE_MEAN_STD. */
TK_API tk_status tk_dataset_normalize(tk_dataset* dataset, tk_normalization normalization,
                                      double mean, double std);
/* The mean and standard deviation of all features. */
TK_API tk_status tk_dataset_stats(const tk_dataset* dataset, double* out_mean, double* out_std);
TK_API tk_status tk_dataset_size(const tk_dataset* dataset, int64_t* out_size);
TK_API tk_status tk_dataset_sample_shape(const tk_dataset* dataset, int32_t* out_rank,
                                         int64_t* out_shape);
/* Loss and accuracy over the whole dataset, in batches of batch_size. */
TK_API tk_status tk_trainer_evaluate_dataset(tk_trainer* trainer, const tk_dataset* dataset,
                                             int64_t batch_size, double* out_loss,
                                             double* out_accuracy);

/* Mini-batches over a dataset; with shuffle = 1 each epoch's order is a fixed
 * function of (seed, epoch). drop_last = 1 drops a short final batch. */
TK_API tk_status tk_batcher_create(const tk_dataset* dataset, int64_t batch_size, int32_t shuffle,
                                   uint64_t seed, int32_t drop_last, tk_batcher** out_batcher);
TK_API void tk_batcher_destroy(tk_batcher* batcher);
/* Serves only this rank's share of every epoch: positions p of the epoch's
 * order with p % count == rank, the same order on every rank. The shares are
 * equal, so all ranks take the same number of steps per epoch (a rank with
 * an extra step would wait for partners that never come): the remainder of
 * N samples over `count` shards is padded by repeating the first
 * count - N % count samples of the epoch's order (as PyTorch's
 * DistributedSampler), or, with TK_SHARD_DROP, left out. */
typedef enum tk_shard_remainder {
  TK_SHARD_PAD = 0, /* the default of tk_batcher_set_shard */
  TK_SHARD_DROP = 1
} tk_shard_remainder;
TK_API tk_status tk_batcher_set_shard(tk_batcher* batcher, int32_t rank, int32_t count);
TK_API tk_status tk_batcher_set_shard_ex(tk_batcher* batcher, int32_t rank, int32_t count,
                                         tk_shard_remainder remainder);
/* Restarts at the first batch of `epoch`. */
TK_API tk_status tk_batcher_reset(tk_batcher* batcher, int64_t epoch);
/* Fills views of the next batch (valid until the next call on this batcher)
 * and sets *out_has_batch to 1, or to 0 at the end of the epoch. */
TK_API tk_status tk_batcher_next(tk_batcher* batcher, tk_tensor_view* out_features,
                                 tk_tensor_view* out_targets, int32_t* out_has_batch);

/* Streaming batches: a batcher the host feeds while training runs, for data
 * that never sits in memory whole (files read in pieces, a database, a
 * generator). The batcher asks for batch `batch` of `epoch`, the producer
 * writes up to batch_size rows into one of `prefetch` slots (1 to 64; 2 is a
 * good start) and hands it over, and training (tk_trainer_fit,
 * tk_batcher_next) takes the slots in order: reading the next batches
 * overlaps the current step, and only `prefetch` + 1 batches are ever held.
 * An epoch ends when the producer hands over 0 rows; it then goes on with the
 * next epoch's first batches while training validates. A producer that can
 * seek to (epoch, batch) resumes exactly from a checkpoint's cursor: a reset
 * or load discards what was prefetched, and the next request names the new
 * place. tk_batcher_set_shard does not apply: shard in the producer.
 *
 * Features are f32 of shape [rows, sample_shape...]; targets are int32 class
 * indices of shape [rows] (target_dtype TK_DTYPE_I32, target_rank 0) or f32 values
 * of shape [rows, target_shape...] (TK_DTYPE_F32). batches_per_epoch, if known,
 * gives progress a total (0: unknown).
 *
 * With `fill` set, the batcher runs it on a thread of its own: it writes the
 * rows into the views (contiguous, shaped for a full batch) and returns how
 * many it wrote (0 ends the epoch), or a negative value to fail (after
 * tk_batcher_stream_fail(batcher, why), to say why). It may be called before
 * tk_batcher_create_stream returns, and may call only tk_batcher_stream_fail
 * and tk_batcher_stream_close on its batcher (destroying it from there would
 * wait for the fill itself). With `fill` NULL, a thread of the
 * host's feeds the batcher through request and supply below (the bindings
 * do this). Either way the producer runs beside training: these stream calls
 * may come from one producer thread while another uses the batcher.
 *
 * Any reset or load other than to the epoch about to begin, or to where the
 * stream stands, needs a producer that can seek. tk_batcher_next on a stream
 * waits for the producer (tk_trainer_fit's cancel ends that wait), and fails
 * with TK_ERROR_IO once the stream is closed or its producer has failed. */
typedef int64_t (*tk_batch_fill_fn)(void* user_data, tk_batcher* batcher, int64_t epoch,
                                    int64_t batch, tk_tensor_view* features,
                                    tk_tensor_view* targets);
TK_API tk_status tk_batcher_create_stream(int32_t sample_rank, const int64_t* sample_shape,
                                          tk_dtype target_dtype, int32_t target_rank,
                                          const int64_t* target_shape, int64_t batch_size, int32_t prefetch,
                                          int64_t batches_per_epoch, tk_batch_fill_fn fill,
                                          void* user_data, tk_batcher** out_batcher);
/* Waits for a free slot and names the batch wanted; the views point into the
 * slot (full-batch shapes) until it is supplied. *out_open = 0 once the
 * stream is closed: the producer should stop. One request at a time. */
TK_API tk_status tk_batcher_stream_request(tk_batcher* batcher, int64_t* out_epoch,
                                           int64_t* out_batch, tk_tensor_view* out_features,
                                           tk_tensor_view* out_targets, int32_t* out_open);
/* Hands the requested slot over with `rows` rows written into its views
 * (0: the epoch has ended). Request and supply are refused on a stream that
 * has a fill function. */
TK_API tk_status tk_batcher_stream_supply(tk_batcher* batcher, int64_t rows);
/* Copies the batch from the producer's own views (features f32, f64 or u8;
 * targets int32 or f32/f64; any strides; rows = features->shape[0], at most
 * batch_size) into the requested slot and hands it over. NULL features and
 * targets, or views of 0 rows, end the epoch. A bad shape or dtype keeps the
 * request open. */
TK_API tk_status tk_batcher_stream_supply_copy(tk_batcher* batcher, const tk_tensor_view* features,
                                               const tk_tensor_view* targets);
/* The producer cannot go on: once the batches it supplied before are
 * served, training's next batch fails with TK_ERROR_IO and this message. */
TK_API tk_status tk_batcher_stream_fail(tk_batcher* batcher, const char* message);
/* Wakes a waiting request with *out_open = 0, and every later one. A host
 * producer thread must have returned from its last stream call before
 * tk_batcher_destroy; destroy closes the stream and joins a fill thread. */
TK_API tk_status tk_batcher_stream_close(tk_batcher* batcher);

/* ---- Training loop: fit, callbacks, cancel, metrics, CSV ----------------- */

/* Sets the base learning rate of a running trainer (the peak the schedule
 * scales) from the next step on: for a custom schedule or reduce-on-plateau.
 * Finite and >= 0. Checkpoints keep it. */
TK_API tk_status tk_trainer_set_learning_rate(tk_trainer* trainer, double learning_rate);

/* Freezing and parameter groups pick parameter tensors by name pattern: a
 * shell glob over "<node>.<param>" names ('*' and '?' match any characters,
 * dots included; [abc] a set), e.g. "encoder_*", "*.bias". Each writes how
 * many tensors matched to *out_matched (may be NULL); a pattern matching none
 * is TK_ERROR_INVALID_ARGUMENT, naming the tensors, and changes nothing.
 *
 * A frozen tensor gets no gradient (backward skips the weight-gradient
 * products, and layers below the last trainable one entirely) and keeps no
 * optimizer moments; its memory is released. Unfrozen, it trains with fresh
 * moments, Adam's bias correction counted from then. Refused inside a
 * gradient accumulation window. With every tensor frozen (say, before the
 * head is unfrozen) steps fail with TK_ERROR_INVALID_ARGUMENT.
 * Checkpoints keep the moments of trainable tensors; load into a trainer
 * frozen alike to resume exactly. With tk_trainer_options_set_replicas,
 * every replica follows; under MPI every rank must make the same calls.
 * Replicas that train different tensors (a call that failed part-way, out
 * of memory, or ranks that froze differently) make the next step fail on
 * every replica with TK_ERROR_INVALID_ARGUMENT, before any gradient is
 * summed; the same call, made again, brings them back in line. */
TK_API tk_status tk_trainer_freeze(tk_trainer* trainer, const char* pattern, int64_t* out_matched);
TK_API tk_status tk_trainer_unfreeze(tk_trainer* trainer, const char* pattern, int64_t* out_matched);
/* The matching tensors train at lr_scale times the scheduled learning rate
 * (finite, >= 0; 0 holds them still but keeps their moments) with their own
 * weight decay (finite, >= 0; NaN: the default). By default biases and
 * normalization weights get no decay (BERT's and GPT-2's recipes);
 * tk_trainer_options_set_decay_bias_and_norm(options, 1) decays them too.
 * A later call overrides an earlier one for the tensors both match. */
TK_API tk_status tk_trainer_set_param_group(tk_trainer* trainer, const char* pattern, double lr_scale,
                                            double weight_decay, int64_t* out_matched);
/* Tensor `index`'s settings: frozen (0/1), rate factor and weight decay. */
TK_API tk_status tk_trainer_parameter_settings(const tk_trainer* trainer, int32_t index, int32_t* out_frozen,
                                               double* out_lr_scale, double* out_weight_decay);
TK_API tk_status tk_trainer_options_set_decay_bias_and_norm(tk_trainer_options* options, int32_t enabled);
/* Bytes of device memory the trainer holds now, over all its replicas:
 * weights, gradients, optimizer moments, activations and scratch. */
TK_API tk_status tk_trainer_memory(const tk_trainer* trainer, int64_t* out_bytes);

/* The shape of one sample's output (what tk_trainer_predict writes per row). */
TK_API tk_status tk_trainer_output_shape(const tk_trainer* trainer, int32_t* out_rank, int64_t* out_shape);

/* Asks the fit, evaluation or metrics call running on `trainer` to end at the
 * next step or batch boundary; that call returns TK_ERROR_CANCELLED, with the
 * trainer as its last completed step left it. The one function that may be
 * called from another thread while the trainer is in use. The request holds
 * until a call ends with TK_ERROR_CANCELLED (one made while nothing runs ends
 * the next such call at its start); tk_trainer_clear_cancel withdraws it. */
TK_API tk_status tk_trainer_cancel(tk_trainer* trainer);
TK_API tk_status tk_trainer_clear_cancel(tk_trainer* trainer);

/* What fit watches: a metric and whether lower or higher is better
 * (TK_MODE_AUTO: accuracy higher, losses lower). */
typedef enum tk_monitor {
  TK_MONITOR_VAL_LOSS = 0, /* validation metrics need tk_fit_options_set_validation */
  TK_MONITOR_VAL_ACCURACY = 1,
  TK_MONITOR_TRAIN_LOSS = 2 /* the mean of the epoch's step losses */
} tk_monitor;
typedef enum tk_monitor_mode { TK_MODE_AUTO = 0, TK_MODE_MIN = 1, TK_MODE_MAX = 2 } tk_monitor_mode;

/* How a fit ended. */
typedef enum tk_fit_end {
  TK_FIT_RUNNING = 0,
  TK_FIT_COMPLETED = 1,     /* every epoch ran */
  TK_FIT_EARLY_STOPPED = 2, /* early stopping saw no improvement for `patience` epochs */
  TK_FIT_STOPPED = 3,       /* a callback returned TK_CALLBACK_STOP, or tk_fit_stop */
  TK_FIT_TIME_BUDGET = 4,   /* the time budget ran out (checked between steps) */
  TK_FIT_CANCELLED = 5      /* tk_trainer_cancel */
} tk_fit_end;

typedef enum tk_fit_event_kind { TK_FIT_EVENT_STEP = 1, TK_FIT_EVENT_EPOCH = 2 } tk_fit_event_kind;

/* One event of a fit: a step (every N steps, see tk_fit_options_set_step_events)
 * or an epoch's end. Fields of the other kind are 0. Set struct_size. */
typedef struct tk_fit_event {
  uint32_t struct_size;
  int32_t kind;      /* tk_fit_event_kind */
  int64_t step;      /* optimizer steps so far (after this step; at the epoch's end) */
  int64_t epoch;     /* 0-based */
  int64_t epochs;    /* the epoch the fit ends at */
  int64_t batch;     /* step: 1-based within the epoch */
  int64_t batches;   /* step: per epoch */
  double loss;       /* step: this step's loss */
  double learning_rate; /* step: of this update; epoch: of the next step (schedule and reductions applied) */
  double loss_scale;    /* step */
  double samples_per_second; /* step: over this epoch so far */
  int32_t skipped;           /* step: the update was skipped (non-finite under loss scaling) */
  int32_t has_validation;    /* epoch */
  double train_loss;         /* epoch: mean of its step losses */
  double validation_loss;    /* epoch */
  double validation_accuracy; /* epoch (NaN for losses without accuracy) */
  double seconds;             /* epoch: its wall-clock time */
  int32_t improved;           /* epoch: the best so far by keep-best's watch */
  /* epoch: right predictions of its training forwards, as they ran (Keras'
   * training accuracy); NaN for losses without accuracy, or where steps were
   * decided on the device (which does not count them). */
  double train_accuracy;
} tk_fit_event;

typedef struct tk_fit_report {
  uint32_t struct_size;
  int32_t end;              /* tk_fit_end */
  int64_t epochs_completed; /* the epoch the batcher is at */
  int64_t steps;            /* optimizer steps in this fit */
  int64_t best_epoch;       /* by keep-best's watch; -1 without keep-best */
  double best_value;
  double learning_rate;     /* base rate at the end */
  double seconds;
} tk_fit_report;

/* Returned by a fit callback. */
typedef enum tk_callback_result {
  TK_CALLBACK_CONTINUE = 0,
  TK_CALLBACK_STOP = 1, /* end the fit cleanly after this event (TK_FIT_STOPPED, status TK_OK) */
  TK_CALLBACK_ABORT = 2 /* end it with TK_ERROR_CALLBACK (after the trainer's last step, nothing lost) */
} tk_callback_result;
/* Called on the thread running tk_trainer_fit, between steps. */
typedef int32_t (*tk_fit_callback)(const tk_fit_event* event, void* user_data);

typedef struct tk_fit_options tk_fit_options;
TK_API tk_status tk_fit_options_create(tk_fit_options** out_options);
TK_API void tk_fit_options_destroy(tk_fit_options* options);
/* The epoch to end at (default 1). A fit resumed from a checkpoint's cursor
 * runs the epochs left. */
TK_API tk_status tk_fit_options_set_epochs(tk_fit_options* options, int64_t epochs);
/* Evaluated after every epoch, in batches of batch_size (kept alive by the options). */
TK_API tk_status tk_fit_options_set_validation(tk_fit_options* options, const tk_dataset* dataset,
                                               int64_t batch_size);
/* Stops after `patience` epochs (at least 1) in which `monitor` did not improve on its best by more than min_delta. */
TK_API tk_status tk_fit_options_set_early_stopping(tk_fit_options* options, tk_monitor monitor,
                                                   tk_monitor_mode mode, int64_t patience, double min_delta);
/* Multiplies the base learning rate by factor (0 < factor < 1, never below
 * min_lr) after `patience` epochs without improvement, then waits `cooldown` epochs. */
TK_API tk_status tk_fit_options_set_reduce_on_plateau(tk_fit_options* options, tk_monitor monitor,
                                                      tk_monitor_mode mode, double factor, int64_t patience,
                                                      int64_t cooldown, double min_lr);
/* Saves a checkpoint (with the cursor) at `path` whenever an epoch is the best
 * by `monitor`; when the fit ends, the trainer is put back as the best epoch
 * left it (weights, optimizer state, counters; the batcher stays where it is). */
TK_API tk_status tk_fit_options_set_keep_best(tk_fit_options* options, const char* path, tk_monitor monitor,
                                              tk_monitor_mode mode);
/* After every epoch, "<prefix>-<step>.safetensors" (with the cursor); the newest `keep` are kept. */
TK_API tk_status tk_fit_options_set_keep_last(tk_fit_options* options, const char* prefix, int32_t keep);
/* Ends the fit between steps once `seconds` have passed (0: no budget). */
TK_API tk_status tk_fit_options_set_time_budget(tk_fit_options* options, double seconds);
/* A step event every `every` steps and at each epoch's last step (default 1; 0: none). */
TK_API tk_status tk_fit_options_set_step_events(tk_fit_options* options, int64_t every);
/* The callback tk_trainer_fit calls for each event (NULL: none). */
TK_API tk_status tk_fit_options_set_callback(tk_fit_options* options, tk_fit_callback callback, void* user_data);

/* Trains over `batcher`'s epochs from its cursor to `epochs`, calling the
 * callback for each event. A step that fails (a non-finite loss under
 * TK_NONFINITE_ERROR, say) ends the fit with its status; its batch is passed
 * over. out_report may be NULL. */
TK_API tk_status tk_trainer_fit(tk_trainer* trainer, tk_batcher* batcher, const tk_fit_options* options,
                                tk_fit_report* out_report);

/* The same fit as a stream of events, for hosts that run their own code
 * between steps (the bindings' callbacks): tk_fit_next runs to the next event
 * and sets *out_has_event to 1, or to 0 once the fit has ended. After a failed
 * tk_fit_next the trainer is at a step boundary and the fit may go on. The
 * trainer and batcher must outlive the tk_fit and are not used otherwise meanwhile. */
typedef struct tk_fit tk_fit;
TK_API tk_status tk_fit_begin(tk_trainer* trainer, tk_batcher* batcher, const tk_fit_options* options,
                              tk_fit** out_fit);
TK_API tk_status tk_fit_next(tk_fit* fit, tk_fit_event* out_event, int32_t* out_has_event);
/* Ends the fit after the last event (TK_FIT_STOPPED). */
TK_API tk_status tk_fit_stop(tk_fit* fit);
TK_API tk_status tk_fit_get_report(const tk_fit* fit, tk_fit_report* out_report);
TK_API void tk_fit_destroy(tk_fit* fit);

/* Metrics over a dataset. Classification (softmax cross-entropy: `classes`
 * is the output's width; BCE with logits: each output element is a yes/no
 * case, classes = 2): accuracy, top-k accuracy (softmax cross-entropy only),
 * per-class precision / recall / F1 and their macro means. MSE and MAE between
 * outputs (BCE: probabilities) and targets for MSE and BCE models. NaN where
 * a metric does not apply. Set struct_size. */
typedef struct tk_metrics {
  uint32_t struct_size;
  int64_t samples;
  double loss;
  double accuracy;
  int32_t top_k;
  double top_k_accuracy;
  int64_t classes; /* 0 for MSE models */
  double macro_precision, macro_recall, macro_f1;
  double mse, mae;
} tk_metrics;
/* out_confusion (optional): [classes, classes] (rows: true class, columns:
 * predicted), i32, f32 or f64; out_per_class (optional): [3, classes], precision,
 * recall and F1 rows, a float dtype. Views that do not fit are refused before
 * anything is written; tk_trainer_metric_classes gives `classes`. */
TK_API tk_status tk_trainer_metrics(tk_trainer* trainer, const tk_dataset* dataset, int64_t batch_size,
                                    int32_t top_k, tk_metrics* out_metrics, tk_tensor_view* out_confusion,
                                    tk_tensor_view* out_per_class);
/* The `classes` tk_trainer_metrics counts for this trainer, to size its views. */
TK_API tk_status tk_trainer_metric_classes(const tk_trainer* trainer, int64_t* out_classes);

/* An inference-only handle: the weights and non-trainable state once, in f32
 * on the CPU, and no gradients or optimizer moments; activations are planned
 * for the forward pass alone. tk_predictor_predict may be called from several
 * threads at once (each call takes a plan of its own from a pool), with the
 * results each would get alone. `threads` per call (0: all cores). */
typedef struct tk_predictor tk_predictor;
/* The trainer's weights as they are now; later steps do not change the predictor. */
TK_API tk_status tk_predictor_create(const tk_trainer* trainer, int32_t threads, tk_predictor** out_predictor);
/* A model spec's model with the weights of a file from tk_trainer_export_weights. */
TK_API tk_status tk_predictor_load(const tk_model* model, tk_loss loss, const char* weights_path, int32_t threads,
                                   tk_predictor** out_predictor);
TK_API void tk_predictor_destroy(tk_predictor* predictor);
/* As tk_trainer_predict: outputs [batch, output shape], logits or probabilities. */
TK_API tk_status tk_predictor_predict(tk_predictor* predictor, const tk_tensor_view* inputs, int32_t probabilities,
                                      tk_tensor_view* outputs);
/* tk_predictor_predict for a model of several inputs (as tk_trainer_predict_inputs). */
TK_API tk_status tk_predictor_predict_inputs(tk_predictor* predictor, int32_t input_count,
                                             const tk_tensor_view* inputs, int32_t probabilities,
                                             tk_tensor_view* outputs);
TK_API tk_status tk_predictor_output_shape(const tk_predictor* predictor, int32_t* out_rank, int64_t* out_shape);
/* The predictor's inputs, as tk_trainer_input_count and tk_trainer_input_info. */
TK_API tk_status tk_predictor_input_count(const tk_predictor* predictor, int32_t* out_count);
TK_API tk_status tk_predictor_input_info(const tk_predictor* predictor, int32_t index, char* name, size_t capacity,
                                         int32_t* out_indices, int32_t* out_rank, int64_t* out_shape);
/* The predictor's outputs, as tk_trainer_predict_outputs, tk_trainer_output_count and tk_trainer_output_info. */
TK_API tk_status tk_predictor_predict_outputs(tk_predictor* predictor, int32_t input_count,
                                              const tk_tensor_view* inputs, int32_t probabilities,
                                              int32_t output_count, tk_tensor_view* outputs);
TK_API tk_status tk_predictor_output_count(const tk_predictor* predictor, int32_t* out_count);
TK_API tk_status tk_predictor_output_info(const tk_predictor* predictor, int32_t index, char* name, size_t capacity,
                                          int32_t* out_rank, int64_t* out_shape);
/* Bytes the predictor holds: weights, state and the activation arenas made so far. */
TK_API tk_status tk_predictor_memory(const tk_predictor* predictor, int64_t* out_bytes);

/* Splits a dataset in two copies: its first `first_count` samples and the
 * rest (0 < first_count < size), e.g. a validation split from the end. */
TK_API tk_status tk_dataset_split(const tk_dataset* dataset, int64_t first_count, tk_dataset** out_first,
                                  tk_dataset** out_rest);

/* Loads a CSV file: numeric feature columns and a label column, named by
 * label_column (a header name, or a 0-based index as digits; NULL or "": the
 * last column). header = 1: the first row names the columns. class_labels = 1:
 * labels are class indices (whole numbers >= 0, i32 targets); 0: values (f32
 * targets [N, 1]). A malformed row is TK_ERROR_CORRUPT_DATA naming its line and column. */
TK_API tk_status tk_dataset_load_csv(const char* path, const char* label_column, int32_t header,
                                     int32_t class_labels, tk_dataset** out_dataset);
/* A CSV file's features alone, for prediction (tk_trainer_predict over a
 * batcher): every column, except skip_column when the header names it (a
 * training file predicted again; NULL or "": none). The dataset has no
 * targets: training, evaluation and metrics on it fail with
 * TK_ERROR_INVALID_ARGUMENT, and its batches' target views have no data. */
TK_API tk_status tk_dataset_load_csv_features(const char* path, const char* skip_column, int32_t header,
                                              tk_dataset** out_dataset);
/* 1 for a dataset with targets, 0 for features alone. */
TK_API tk_status tk_dataset_has_targets(const tk_dataset* dataset, int32_t* out_has_targets);

/* ---- Versioned function table (for hosts that dlopen the library) -------- */

/* Entries are only ever appended; never reordered or removed (the shipped
 * versions are pinned slot by slot in capi/api_frozen.cc). tk_get_api(v)
 * returns a table whose `version` is v and whose `size` covers exactly the
 * entries of version v, so a host built against an older header sees the
 * table it knows. A host built against a newer header checks that `size`
 * covers an entry (offsetof(tk_api, entry) < api->size) before calling one
 * that an older library may lack, or asks for the older version. */
typedef struct tk_api {
  uint32_t version;
  uint32_t size; /* sizeof(tk_api) of the library that filled it */
  const char* (*last_error_message)(void);
  const char* (*status_string)(tk_status);
  const char* (*version_string)(void);
  tk_tensor_view (*view)(void*, tk_dtype, int32_t, const int64_t*);
  tk_status (*model_create)(tk_model**);
  void (*model_destroy)(tk_model*);
  tk_status (*model_input)(tk_model*, const char*, int32_t, const int64_t*, tk_node*);
  tk_status (*model_linear)(tk_model*, tk_node, int64_t, tk_node*);
  tk_status (*model_linear_ex)(tk_model*, tk_node, int64_t, int32_t, tk_init, tk_node*);
  tk_status (*model_relu)(tk_model*, tk_node, tk_node*);
  tk_status (*model_gelu)(tk_model*, tk_node, tk_node*);
  tk_status (*model_tanh)(tk_model*, tk_node, tk_node*);
  tk_status (*model_sigmoid)(tk_model*, tk_node, tk_node*);
  tk_status (*model_dropout)(tk_model*, tk_node, double, tk_node*);
  tk_status (*model_flatten)(tk_model*, tk_node, tk_node*);
  tk_status (*model_add)(tk_model*, tk_node, tk_node, tk_node*);
  tk_status (*model_output)(tk_model*, tk_node, const char*);
  tk_status (*model_set_node_name)(tk_model*, tk_node, const char*);
  tk_status (*model_node_name)(const tk_model*, tk_node, char*, size_t);
  tk_status (*model_node_shape)(const tk_model*, tk_node, int32_t*, int64_t*);
  tk_status (*model_num_parameters)(const tk_model*, int64_t*);
  tk_status (*trainer_options_create)(tk_trainer_options**);
  void (*trainer_options_destroy)(tk_trainer_options*);
  tk_status (*trainer_options_set_optimizer)(tk_trainer_options*, tk_optimizer);
  tk_status (*trainer_options_set_learning_rate)(tk_trainer_options*, double);
  tk_status (*trainer_options_set_momentum)(tk_trainer_options*, double, int32_t);
  tk_status (*trainer_options_set_weight_decay)(tk_trainer_options*, double);
  tk_status (*trainer_options_set_adam)(tk_trainer_options*, double, double, double);
  tk_status (*trainer_options_set_schedule)(tk_trainer_options*, tk_schedule, int64_t, int64_t,
                                            double, int64_t, double);
  tk_status (*trainer_options_set_clip_norm)(tk_trainer_options*, double);
  tk_status (*trainer_options_set_accumulation_steps)(tk_trainer_options*, int32_t);
  tk_status (*trainer_options_set_seed)(tk_trainer_options*, uint64_t);
  tk_status (*trainer_options_set_threads)(tk_trainer_options*, int32_t);
  tk_status (*trainer_options_set_reduction)(tk_trainer_options*, tk_reduction);
  tk_status (*trainer_options_set_nonfinite)(tk_trainer_options*, tk_nonfinite);
  tk_status (*trainer_options_set_device)(tk_trainer_options*, tk_device);
  tk_status (*trainer_options_set_compute_dtype)(tk_trainer_options*, tk_dtype);
  tk_status (*trainer_options_set_batch_hint)(tk_trainer_options*, int64_t);
  tk_status (*trainer_options_set_memory_limit)(tk_trainer_options*, uint64_t);
  tk_status (*trainer_create)(const tk_model*, tk_loss, const tk_trainer_options*, tk_trainer**);
  void (*trainer_destroy)(tk_trainer*);
  tk_status (*trainer_step)(tk_trainer*, const tk_tensor_view*, const tk_tensor_view*, float*);
  tk_status (*trainer_evaluate)(tk_trainer*, const tk_tensor_view*, const tk_tensor_view*, double*,
                                double*);
  tk_status (*trainer_predict)(tk_trainer*, const tk_tensor_view*, int32_t, tk_tensor_view*);
  tk_status (*trainer_step_count)(const tk_trainer*, int64_t*);
  tk_status (*trainer_skipped_steps)(const tk_trainer*, int64_t*);
  tk_status (*trainer_learning_rate)(const tk_trainer*, double*);
  tk_status (*trainer_last_grad_norm)(const tk_trainer*, double*);
  tk_status (*trainer_num_parameter_tensors)(const tk_trainer*, int32_t*);
  tk_status (*trainer_parameter_info)(const tk_trainer*, int32_t, char*, size_t, int32_t*, int64_t*);
  tk_status (*trainer_get_parameter)(const tk_trainer*, int32_t, tk_tensor_view*);
  tk_status (*trainer_set_parameter)(tk_trainer*, int32_t, const tk_tensor_view*);
  tk_status (*trainer_num_parameters)(const tk_trainer*, int64_t*);
  tk_status (*trainer_copy_parameters)(const tk_trainer*, float*, int64_t);
  tk_status (*dataset_load_idx)(const char*, const char*, tk_dataset**);
  tk_status (*dataset_create)(const tk_tensor_view*, const tk_tensor_view*, tk_dataset**);
  void (*dataset_destroy)(tk_dataset*);
  tk_status (*dataset_normalize)(tk_dataset*, tk_normalization, double, double);
  tk_status (*dataset_stats)(const tk_dataset*, double*, double*);
  tk_status (*dataset_size)(const tk_dataset*, int64_t*);
  tk_status (*dataset_sample_shape)(const tk_dataset*, int32_t*, int64_t*);
  tk_status (*trainer_evaluate_dataset)(tk_trainer*, const tk_dataset*, int64_t, double*, double*);
  tk_status (*batcher_create)(const tk_dataset*, int64_t, int32_t, uint64_t, int32_t, tk_batcher**);
  void (*batcher_destroy)(tk_batcher*);
  tk_status (*batcher_reset)(tk_batcher*, int64_t);
  tk_status (*batcher_next)(tk_batcher*, tk_tensor_view*, tk_tensor_view*, int32_t*);
  tk_status (*trainer_options_set_precision)(tk_trainer_options*, tk_precision);
  tk_status (*trainer_options_set_loss_scaling)(tk_trainer_options*, tk_loss_scaling, double, double, double,
                                                int64_t);
  tk_status (*trainer_step_report)(tk_trainer*, const tk_tensor_view*, const tk_tensor_view*, tk_step_report*);
  tk_status (*trainer_loss_scale)(const tk_trainer*, double*, int64_t*, int64_t*);
  tk_status (*model_from_spec)(const char*, tk_model**);
  tk_status (*model_load_spec)(const char*, tk_model**);
  tk_status (*model_save_spec)(const tk_model*, const char*);
  tk_status (*model_spec_length)(const tk_model*, size_t*);
  tk_status (*model_spec)(const tk_model*, char*, size_t);
  tk_status (*trainer_save)(tk_trainer*, const char*, const tk_batcher*);
  tk_status (*trainer_save_keep_last)(tk_trainer*, const char*, int32_t, const tk_batcher*, char*, size_t);
  tk_status (*trainer_load)(tk_trainer*, const char*, tk_batcher*);
  tk_status (*trainer_export_weights)(tk_trainer*, const char*, tk_dtype);
  tk_status (*trainer_import_weights)(tk_trainer*, const char*);
  tk_status (*trainer_set_property)(tk_trainer*, const char*, const char*);
  tk_status (*trainer_get_property)(const tk_trainer*, const char*, char*, size_t, size_t*);
  tk_status (*trainer_options_set_replicas)(tk_trainer_options*, int32_t);
  tk_status (*trainer_options_set_bucket_bytes)(tk_trainer_options*, uint64_t);
  tk_status (*trainer_options_set_distributed)(tk_trainer_options*, tk_distributed);
  tk_status (*trainer_options_set_communication_timeout)(tk_trainer_options*, double);
  tk_status (*trainer_world)(const tk_trainer*, int32_t*, int32_t*);
  tk_status (*batcher_set_shard)(tk_batcher*, int32_t, int32_t);
  tk_status (*model_reshape)(tk_model*, tk_node, int32_t, const int64_t*, tk_node*);
  tk_status (*model_conv2d)(tk_model*, tk_node, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int32_t,
                            tk_node*);
  tk_status (*model_max_pool2d)(tk_model*, tk_node, int64_t, int64_t, int64_t, tk_node*);
  tk_status (*model_avg_pool2d)(tk_model*, tk_node, int64_t, int64_t, int64_t, tk_node*);
  tk_status (*model_global_avg_pool)(tk_model*, tk_node, tk_node*);
  /* ---- end of version 1 ---- */
  /* Version 2, added in 0.2 (check `size` before use). */
  tk_status (*model_batch_norm)(tk_model*, tk_node, double, double, tk_node*);
  tk_status (*model_layer_norm)(tk_model*, tk_node, int32_t, double, tk_node*);
  tk_status (*model_dropout2d)(tk_model*, tk_node, double, tk_node*);
  tk_status (*trainer_options_set_cuda_device)(tk_trainer_options*, int32_t);
  tk_status (*trainer_device_name)(const tk_trainer*, char*, size_t);
  tk_status (*gpu_count)(int32_t*, char*, size_t);
  tk_status (*gpu_info_get)(int32_t, tk_gpu_info*);
  tk_status (*trainer_options_set_rendezvous)(tk_trainer_options*, int32_t, int32_t, tk_rendezvous_broadcast, void*);
  tk_status (*host_alloc)(size_t, void**);
  tk_status (*host_free)(void*);
  tk_status (*trainer_step_async)(tk_trainer*, const tk_tensor_view*, const tk_tensor_view*);
  tk_status (*trainer_wait)(tk_trainer*, tk_step_report*);
  tk_status (*trainer_options_set_cuda_graphs)(tk_trainer_options*, int32_t);
  tk_status (*model_op)(tk_model*, const char*, const tk_node*, size_t, const char*, tk_node*);
  tk_status (*op_catalog)(char*, size_t, size_t*);
  tk_status (*batcher_set_shard_ex)(tk_batcher*, int32_t, int32_t, tk_shard_remainder);
  tk_status (*trainer_options_set_sync_batch_norm)(tk_trainer_options*, int32_t);
  tk_status (*trainer_set_learning_rate)(tk_trainer*, double);
  tk_status (*trainer_cancel)(tk_trainer*);
  tk_status (*trainer_clear_cancel)(tk_trainer*);
  tk_status (*fit_options_create)(tk_fit_options**);
  void (*fit_options_destroy)(tk_fit_options*);
  tk_status (*fit_options_set_epochs)(tk_fit_options*, int64_t);
  tk_status (*fit_options_set_validation)(tk_fit_options*, const tk_dataset*, int64_t);
  tk_status (*fit_options_set_early_stopping)(tk_fit_options*, tk_monitor, tk_monitor_mode, int64_t, double);
  tk_status (*fit_options_set_reduce_on_plateau)(tk_fit_options*, tk_monitor, tk_monitor_mode, double, int64_t,
                                                 int64_t, double);
  tk_status (*fit_options_set_keep_best)(tk_fit_options*, const char*, tk_monitor, tk_monitor_mode);
  tk_status (*fit_options_set_keep_last)(tk_fit_options*, const char*, int32_t);
  tk_status (*fit_options_set_time_budget)(tk_fit_options*, double);
  tk_status (*fit_options_set_step_events)(tk_fit_options*, int64_t);
  tk_status (*fit_options_set_callback)(tk_fit_options*, tk_fit_callback, void*);
  tk_status (*trainer_fit)(tk_trainer*, tk_batcher*, const tk_fit_options*, tk_fit_report*);
  tk_status (*fit_begin)(tk_trainer*, tk_batcher*, const tk_fit_options*, tk_fit**);
  tk_status (*fit_next)(tk_fit*, tk_fit_event*, int32_t*);
  tk_status (*fit_stop)(tk_fit*);
  tk_status (*fit_get_report)(const tk_fit*, tk_fit_report*);
  void (*fit_destroy)(tk_fit*);
  tk_status (*trainer_metrics)(tk_trainer*, const tk_dataset*, int64_t, int32_t, tk_metrics*, tk_tensor_view*,
                               tk_tensor_view*);
  tk_status (*dataset_load_csv)(const char*, const char*, int32_t, int32_t, tk_dataset**);
  tk_status (*trainer_output_shape)(const tk_trainer*, int32_t*, int64_t*);
  tk_status (*dataset_split)(const tk_dataset*, int64_t, tk_dataset**, tk_dataset**);
  tk_status (*predictor_create)(const tk_trainer*, int32_t, tk_predictor**);
  tk_status (*predictor_load)(const tk_model*, tk_loss, const char*, int32_t, tk_predictor**);
  void (*predictor_destroy)(tk_predictor*);
  tk_status (*predictor_predict)(tk_predictor*, const tk_tensor_view*, int32_t, tk_tensor_view*);
  tk_status (*predictor_output_shape)(const tk_predictor*, int32_t*, int64_t*);
  tk_status (*predictor_memory)(const tk_predictor*, int64_t*);
  tk_status (*trainer_metric_classes)(const tk_trainer*, int64_t*);
  tk_status (*trainer_freeze)(tk_trainer*, const char*, int64_t*);
  tk_status (*trainer_unfreeze)(tk_trainer*, const char*, int64_t*);
  tk_status (*trainer_set_param_group)(tk_trainer*, const char*, double, double, int64_t*);
  tk_status (*trainer_parameter_settings)(const tk_trainer*, int32_t, int32_t*, double*, double*);
  tk_status (*trainer_options_set_decay_bias_and_norm)(tk_trainer_options*, int32_t);
  tk_status (*trainer_memory)(const tk_trainer*, int64_t*);
  tk_status (*batcher_create_stream)(int32_t, const int64_t*, tk_dtype, int32_t, const int64_t*, int64_t, int32_t,
                                     int64_t, tk_batch_fill_fn, void*, tk_batcher**);
  tk_status (*batcher_stream_request)(tk_batcher*, int64_t*, int64_t*, tk_tensor_view*, tk_tensor_view*, int32_t*);
  tk_status (*batcher_stream_supply)(tk_batcher*, int64_t);
  tk_status (*batcher_stream_supply_copy)(tk_batcher*, const tk_tensor_view*, const tk_tensor_view*);
  tk_status (*batcher_stream_fail)(tk_batcher*, const char*);
  tk_status (*batcher_stream_close)(tk_batcher*);
  tk_status (*dataset_load_csv_features)(const char*, const char*, int32_t, tk_dataset**);
  tk_status (*dataset_has_targets)(const tk_dataset*, int32_t*);
  tk_status (*model_input_indices)(tk_model*, const char*, int32_t, const int64_t*, tk_node*);
  tk_status (*trainer_step_inputs)(tk_trainer*, int32_t, const tk_tensor_view*, const tk_tensor_view*,
                                   tk_step_report*);
  tk_status (*trainer_evaluate_inputs)(tk_trainer*, int32_t, const tk_tensor_view*, const tk_tensor_view*, double*,
                                       double*);
  tk_status (*trainer_predict_inputs)(tk_trainer*, int32_t, const tk_tensor_view*, int32_t, tk_tensor_view*);
  tk_status (*trainer_input_count)(const tk_trainer*, int32_t*);
  tk_status (*predictor_predict_inputs)(tk_predictor*, int32_t, const tk_tensor_view*, int32_t, tk_tensor_view*);
  tk_status (*trainer_input_info)(const tk_trainer*, int32_t, char*, size_t, int32_t*, int32_t*, int64_t*);
  tk_status (*predictor_input_count)(const tk_predictor*, int32_t*);
  tk_status (*predictor_input_info)(const tk_predictor*, int32_t, char*, size_t, int32_t*, int32_t*, int64_t*);
  tk_status (*trainer_import_weights_mapped)(tk_trainer*, const char*, const char*, int32_t);
  tk_status (*trainer_import_report)(const tk_trainer*, char*, size_t, size_t*);
  tk_status (*model_share_parameter)(tk_model*, tk_node, const char*, tk_node, const char*);
  tk_status (*model_multi_head_attention)(tk_model*, tk_node, tk_node, tk_node, int64_t, int32_t, int32_t,
                                          const char*, tk_node*);
  tk_status (*model_add_output)(tk_model*, tk_node, const char*);
  tk_status (*trainer_predict_outputs)(tk_trainer*, int32_t, const tk_tensor_view*, int32_t, int32_t, tk_tensor_view*);
  tk_status (*trainer_output_count)(const tk_trainer*, int32_t*);
  tk_status (*trainer_output_info)(const tk_trainer*, int32_t, char*, size_t, int32_t*, int64_t*);
  tk_status (*predictor_predict_outputs)(tk_predictor*, int32_t, const tk_tensor_view*, int32_t, int32_t,
                                         tk_tensor_view*);
  tk_status (*predictor_output_count)(const tk_predictor*, int32_t*);
  tk_status (*predictor_output_info)(const tk_predictor*, int32_t, char*, size_t, int32_t*, int64_t*);
  /* Append new entries here, never above. */
} tk_api;

/* The table for `version` (1 .. TK_API_VERSION), or NULL for an unknown version.
 * The table is static; do not free it. tk_get_api(1) serves hosts built
 * against version 1, whose sizeof(tk_api) is 94 pointers. */
TK_API const tk_api* tk_get_api(uint32_t version);

#ifdef __cplusplus
}
#endif

#endif /* TRAINKIT_H_ */

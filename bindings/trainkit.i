/* trainkit.i - the one SWIG interface for Java, C# and Python, over
 * capi/trainkit.h itself: every function of the header is generated into each
 * language except those bindings/api_exclusions.txt names with a reason.
 *
 * The C signatures stay as they are; typemaps make them callable:
 * - statuses come back as the generated Status enum (an int in Python);
 * - handles are typed opaque pointers; a `tk_X**` out-param is a one-element
 *   array in Java, an `out` parameter in C#, and an extra result in Python;
 * - scalar out-params (out_*) are one-element arrays in Java, `out` in C#,
 *   and extra results in Python;
 * - `(char* buffer, size_t capacity)` is a caller byte array (bytearray in
 *   Python), so its size is the array's;
 * - shapes are long[] / int64 sequences; tensor views are TensorView structs
 *   filled with reset(), and in Python any buffer-protocol object.
 * api.i, generated from the header by gen_api.py, names the enums and the
 * exclusions. */
%module trainkit_native

%{
#include <stdlib.h>
#include <string.h>
#include "capi/trainkit.h"
%}

%include <stdint.i>
%include <typemaps.i>
/* A C enum as the binding's enum of that name (generated from the header by
 * gen_api.py); Python keeps the C constants and adds IntEnums in _enums.py. */
%define TK_ENUM(CTYPE, NAME)
#if defined(SWIGJAVA)
%typemap(jni) CTYPE "jint"
%typemap(jtype) CTYPE "int"
%typemap(jstype) CTYPE "NAME"
%typemap(javain) CTYPE "$javainput.value"
%typemap(javaout) CTYPE { return NAME.of($jnicall); }
%typemap(in) CTYPE "$1 = ($1_ltype)$input;"
%typemap(out) CTYPE "$result = (jint)$1;"
#elif defined(SWIGCSHARP)
%typemap(ctype) CTYPE "int"
%typemap(imtype) CTYPE "int"
%typemap(cstype) CTYPE "NAME"
%typemap(csin) CTYPE "(int)$csinput"
%typemap(csout, excode=SWIGEXCODE) CTYPE { NAME result = (NAME)$imcall;$excode return result; }
%typemap(in) CTYPE "$1 = ($1_ltype)$input;"
%typemap(out) CTYPE "$result = (int)$1;"
#endif
%enddef
%include "api.i"

%ignore tk_api;
%rename(TensorView) tk_tensor_view;
%rename(StepReport) tk_step_report;
%rename(GpuInfo) tk_gpu_info;
%rename(FitEvent) tk_fit_event;
%rename(FitReport) tk_fit_report;
%rename(Metrics) tk_metrics;

/* uint64_t (seeds, byte counts) is a plain long in Java and C#; size_t a
 * 64-bit one in C#. */
#if defined(SWIGJAVA)
%apply int64_t { uint64_t };
#elif defined(SWIGCSHARP)
%apply unsigned long long { size_t };
#endif

/* ---- Caller memory (void*) ------------------------------------------------ */
#if defined(SWIGJAVA)
/* A direct NIO buffer (zero-copy); null stays NULL. */
%typemap(jni) void* "jobject"
%typemap(jtype) void* "java.nio.Buffer"
%typemap(jstype) void* "java.nio.Buffer"
%typemap(javain) void* "$javainput"
%typemap(in) void* {
  $1 = NULL;
  if ($input) {
    $1 = (*jenv)->GetDirectBufferAddress(jenv, $input);
    if (!$1) {
      SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "trainkit needs a direct buffer");
      return $null;
    }
  }
}
%pragma(java) jniclasscode=%{
  static { org.trainkit.internal.TrainKitLoader.load(); }
%}
/* Package-private plumbing: the JNI class, and a public module class. */
%pragma(java) moduleclassmodifiers="public final class"
#elif defined(SWIGCSHARP)
/* An IntPtr to memory the caller has pinned (fixed) for the call. */
%apply void* VOID_INT_PTR { void* }
#elif defined(SWIGPYTHON)
/* An integer address, e.g. numpy's .ctypes.data; None is NULL. */
%typemap(in) void* {
  $1 = $input == Py_None ? NULL : PyLong_AsVoidPtr($input);
  if (PyErr_Occurred()) SWIG_fail;
}
%typemap(typecheck) void* = long;
#endif

/* ---- Handles and their out-params ------------------------------------------ */
%define TK_HANDLE(TYPE)
#if defined(SWIGPYTHON)
%typemap(in, numinputs=0) TYPE** (TYPE* temp = NULL) "$1 = &temp;"
%typemap(argout) TYPE** {
  $result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj(SWIG_as_voidptr(*$1), $*1_descriptor, 0));
}
#elif defined(SWIGJAVA)
%typemap(jni) TYPE** "jlongArray"
%typemap(jtype) TYPE** "long[]"
%typemap(jstype) TYPE** "$*javaclassname[]"
/* The out array is checked before the call: a missing one found afterwards
 * would leak the handle just made. */
%typemap(javain, pre="    if ($javainput == null || $javainput.length < 1) throw new IllegalArgumentException(\"$javainput needs a one-element array\");\n    long[] address$javainput = new long[1];",
         post="      $javainput[0] = address$javainput[0] == 0 ? null : new $*javaclassname(address$javainput[0], false);")
    TYPE** "address$javainput"
%typemap(in) TYPE** (TYPE* temp = NULL) "$1 = &temp;"
%typemap(argout) TYPE** {
  jlong address = (jlong)(intptr_t)temp$argnum;
  (*jenv)->SetLongArrayRegion(jenv, $input, 0, 1, &address);
}
#elif defined(SWIGCSHARP)
%typemap(ctype) TYPE** "void**"
%typemap(imtype) TYPE** "out global::System.IntPtr"
%typemap(cstype) TYPE** "out $*csclassname"
/* Zero first: the post code runs in a finally block, where C# needs it assigned. */
%typemap(csin, pre="    global::System.IntPtr address$csinput = global::System.IntPtr.Zero;",
         post="      $csinput = address$csinput == global::System.IntPtr.Zero ? null : new $*csclassname(address$csinput, false);")
    TYPE** "out address$csinput"
%typemap(in) TYPE** %{ $1 = ($1_ltype)$input; %}
#endif
%enddef

TK_HANDLE(tk_model)
TK_HANDLE(tk_trainer_options)
TK_HANDLE(tk_trainer)
TK_HANDLE(tk_dataset)
TK_HANDLE(tk_batcher)
TK_HANDLE(tk_fit_options)
TK_HANDLE(tk_fit)
TK_HANDLE(tk_predictor)

/* ---- Scalar out-params ------------------------------------------------------ */
%apply int32_t* OUTPUT { int32_t* out_count, int32_t* out_rank, int32_t* out_size, tk_node* out_node,
                         int32_t* out_frozen, int32_t* out_indices };
%apply int64_t* OUTPUT { int64_t* out_count, int64_t* out_size, int64_t* out_optimizer_steps,
                         int64_t* out_skipped, int64_t* out_growth_tracker, int64_t* out_bytes,
                         int64_t* out_classes, int64_t* out_matched };
%apply double* OUTPUT { double* out_loss, double* out_accuracy, double* out_mean, double* out_std,
                        double* out_scale, double* out_learning_rate, double* out_norm,
                        double* out_lr_scale, double* out_weight_decay };
%apply float* OUTPUT { float* out_loss };
#if defined(SWIGJAVA)
%apply long long* OUTPUT { size_t* out_length };
#elif defined(SWIGCSHARP)
%apply unsigned long long* OUTPUT { size_t* out_length };
#else
%apply size_t* OUTPUT { size_t* out_length };
#endif
%apply int32_t* OUTPUT { int32_t* out_has_batch, int32_t* out_has_event, int32_t* out_open, int32_t* out_has_targets };
%apply int64_t* OUTPUT { int64_t* out_epoch, int64_t* out_batch };

/* Host memory: an address in Python, an IntPtr in C#, a direct ByteBuffer of
 * the allocation in Java. */
#if defined(SWIGPYTHON)
%typemap(in, numinputs=0) void** out_ptr (void* temp = NULL) "$1 = &temp;"
%typemap(argout) void** out_ptr { $result = SWIG_Python_AppendOutput($result, PyLong_FromVoidPtr(*$1)); }
#elif defined(SWIGJAVA)
%typemap(jni) void** out_ptr "jobjectArray"
%typemap(jtype) void** out_ptr "java.nio.ByteBuffer[]"
%typemap(jstype) void** out_ptr "java.nio.ByteBuffer[]"
%typemap(javain) void** out_ptr "$javainput"
%typemap(in) void** out_ptr (void* temp = NULL) {
  if (!$input || (*jenv)->GetArrayLength(jenv, $input) < 1) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "out_ptr needs a ByteBuffer[1]");
    return $null;
  }
  $1 = &temp;
}
/* The allocation as a direct ByteBuffer of its size (arg1: bytes). */
%typemap(argout) void** out_ptr {
  if (temp$argnum) {
    jobject block = (*jenv)->NewDirectByteBuffer(jenv, temp$argnum, (jlong)arg1);
    if (block) (*jenv)->SetObjectArrayElement(jenv, $input, 0, block);
    else tk_host_free(temp$argnum); /* the pending exception says why */
  }
}
#elif defined(SWIGCSHARP)
%typemap(ctype) void** out_ptr "void**"
%typemap(imtype) void** out_ptr "out global::System.IntPtr"
%typemap(cstype) void** out_ptr "out global::System.IntPtr"
%typemap(csin) void** out_ptr "out $csinput"
%typemap(in) void** out_ptr %{ $1 = $input; %}
#endif

/* ---- Arrays in and out -------------------------------------------------------- */
#if defined(SWIGPYTHON)
%{
/* Borrows a contiguous buffer of at least min_bytes (writable if asked). */
static int tk_py_buffer(PyObject* object, Py_buffer* buffer, int writable, Py_ssize_t min_bytes, const char* what) {
  if (PyObject_GetBuffer(object, buffer, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) != 0) return -1;
  if (buffer->len < min_bytes) {
    PyErr_Format(PyExc_ValueError, "%s needs at least %zd bytes, got %zd", what, min_bytes, buffer->len);
    PyBuffer_Release(buffer);
    return -1;
  }
  return 0;
}
%}
/* File paths: str in the file system's encoding (so a name that is not
 * UTF-8 round-trips through os.fsdecode), bytes or os.PathLike, as Python's
 * own os functions take them; an embedded NUL is a ValueError. */
%typemap(in) const char* path (PyObject* encoded = NULL) {
  if (!PyUnicode_FSConverter($input, &encoded)) SWIG_fail;
  $1 = PyBytes_AS_STRING(encoded);
}
%typemap(freearg) const char* path "Py_XDECREF(encoded$argnum);"
%apply const char* path { const char* images_path, const char* labels_path, const char* prefix };
/* (rank, shape) from a sequence of ints. */
%typemap(in) (int32_t rank, const int64_t* shape) (int64_t extents[TK_MAX_RANK + 1]) {
  PyObject* seq = PySequence_Fast($input, "a shape is a sequence of ints");
  if (!seq) SWIG_fail;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  $1 = (int32_t)(n > TK_MAX_RANK ? TK_MAX_RANK + 1 : n);
  for (Py_ssize_t i = 0; i < n && i <= TK_MAX_RANK; ++i) {
    extents[i] = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
    if (PyErr_Occurred()) { Py_DECREF(seq); SWIG_fail; }
  }
  Py_DECREF(seq);
  $2 = extents;
}
%apply (int32_t rank, const int64_t* shape) { (int32_t sample_rank, const int64_t* sample_shape),
                                              (int32_t target_rank, const int64_t* target_shape) };
%typemap(in) (const tk_node* inputs, size_t n_inputs) (tk_node* nodes = NULL) {
  PyObject* seq = PySequence_Fast($input, "inputs is a sequence of nodes");
  if (!seq) SWIG_fail;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
  nodes = (tk_node*)calloc(n ? n : 1, sizeof(tk_node));
  for (Py_ssize_t i = 0; i < n; ++i) {
    long value = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    if (PyErr_Occurred() || value < INT32_MIN || value > INT32_MAX) {
      if (!PyErr_Occurred()) PyErr_SetString(PyExc_OverflowError, "a node id does not fit in int32");
      Py_DECREF(seq);
      SWIG_fail;
    }
    nodes[i] = (tk_node)value;
  }
  Py_DECREF(seq);
  $1 = nodes;
  $2 = (size_t)n;
}
%typemap(freearg) (const tk_node* inputs, size_t n_inputs) "free(nodes$argnum);"
/* Out shapes: a writable buffer of TK_MAX_RANK int64 (e.g. a numpy array). */
%typemap(in) int64_t* out_shape (Py_buffer buffer, int have = 0) {
  if (tk_py_buffer($input, &buffer, 1, TK_MAX_RANK * sizeof(int64_t), "out_shape") != 0) SWIG_fail;
  have = 1;
  $1 = (int64_t*)buffer.buf;
}
%typemap(freearg) int64_t* out_shape "if (have$argnum) PyBuffer_Release(&buffer$argnum);"
/* (buffer, capacity) pairs: a writable buffer (bytearray), or None. */
%typemap(in) (char* buffer, size_t capacity) (Py_buffer bytes, int have = 0) {
  if ($input == Py_None) {
    $1 = NULL;
    $2 = 0;
  } else {
    if (tk_py_buffer($input, &bytes, 1, 0, "buffer") != 0) SWIG_fail;
    have = 1;
    $1 = (char*)bytes.buf;
    $2 = (size_t)bytes.len;
  }
}
%typemap(freearg) (char* buffer, size_t capacity) "if (have$argnum) PyBuffer_Release(&bytes$argnum);"
%apply (char* buffer, size_t capacity) { (char* name, size_t capacity), (char* reason, size_t capacity),
                                         (char* out_path, size_t capacity) };
/* Parameters as f32: a writable buffer; count is its length in floats. */
%typemap(in) (float* out, int64_t count) (Py_buffer buffer, int have = 0) {
  if (tk_py_buffer($input, &buffer, 1, 0, "out") != 0) SWIG_fail;
  have = 1;
  $1 = (float*)buffer.buf;
  $2 = (int64_t)(buffer.len / sizeof(float));
}
%typemap(freearg) (float* out, int64_t count) "if (have$argnum) PyBuffer_Release(&buffer$argnum);"

#elif defined(SWIGJAVA)
%{
/* Copies a Java long[] shape; rank is its length (over TK_MAX_RANK is left
 * for the C API to refuse with its message). */
static int tk_java_shape(JNIEnv* jenv, jlongArray array, int64_t* extents, int32_t* rank) {
  if (!array) {
    SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "shape is null");
    return -1;
  }
  jsize n = (*jenv)->GetArrayLength(jenv, array);
  *rank = n > TK_MAX_RANK ? TK_MAX_RANK + 1 : (int32_t)n;
  (*jenv)->GetLongArrayRegion(jenv, array, 0, n > TK_MAX_RANK ? TK_MAX_RANK : n, (jlong*)extents);
  return 0;
}
%}
%typemap(jni) (int32_t rank, const int64_t* shape) "jlongArray"
%typemap(jtype) (int32_t rank, const int64_t* shape) "long[]"
%typemap(jstype) (int32_t rank, const int64_t* shape) "long[]"
%typemap(javain) (int32_t rank, const int64_t* shape) "$javainput"
%typemap(in) (int32_t rank, const int64_t* shape) (int64_t extents[TK_MAX_RANK + 1]) {
  if (tk_java_shape(jenv, $input, extents, &$1) != 0) return $null;
  $2 = extents;
}
%apply (int32_t rank, const int64_t* shape) { (int32_t sample_rank, const int64_t* sample_shape),
                                              (int32_t target_rank, const int64_t* target_shape) };
/* Strings too are taken in `check`, after every argument's `in`: a later
 * argument's refusal then leaves no UTF-8 copy held (freearg releases it). */
%typemap(in, noblock=1) char*, const char* (jstring held = NULL) {
  held = $input;
  $1 = 0;
}
%typemap(check, noblock=1) char*, const char* {
  if (held$argnum) {
    $1 = ($1_ltype)(*jenv)->GetStringUTFChars(jenv, held$argnum, 0);
    if (!$1) return $null; /* OutOfMemoryError pending */
  }
}
%typemap(jni) (const tk_node* inputs, size_t n_inputs) "jintArray"
%typemap(jtype) (const tk_node* inputs, size_t n_inputs) "int[]"
%typemap(jstype) (const tk_node* inputs, size_t n_inputs) "int[]"
%typemap(javain) (const tk_node* inputs, size_t n_inputs) "$javainput"
/* Arrays are checked in `in` and taken in `check`, which runs after every
 * argument's `in`: a later argument's refusal then leaves nothing pinned. */
%typemap(in) (const tk_node* inputs, size_t n_inputs) (jintArray held = NULL) {
  if (!$input) {
    SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "inputs is null");
    return $null;
  }
  held = $input;
  $1 = NULL;
  $2 = (size_t)(*jenv)->GetArrayLength(jenv, $input);
}
%typemap(check) (const tk_node* inputs, size_t n_inputs) {
  $1 = (tk_node*)(*jenv)->GetIntArrayElements(jenv, held$argnum, NULL);
  if (!$1) return $null; /* OutOfMemoryError pending */
}
%typemap(freearg) (const tk_node* inputs, size_t n_inputs) "if ($1) (*jenv)->ReleaseIntArrayElements(jenv, held$argnum, (jint*)$1, JNI_ABORT);"
/* Out shapes: a caller long[] of at least TK_MAX_RANK. */
%typemap(jni) int64_t* out_shape "jlongArray"
%typemap(jtype) int64_t* out_shape "long[]"
%typemap(jstype) int64_t* out_shape "long[]"
%typemap(javain) int64_t* out_shape "$javainput"
%typemap(in) int64_t* out_shape (int64_t extents[TK_MAX_RANK]) {
  if (!$input || (*jenv)->GetArrayLength(jenv, $input) < TK_MAX_RANK) {
    SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, "out_shape needs a long[TK_MAX_RANK]");
    return $null;
  }
  memset(extents, 0, sizeof extents);
  $1 = extents;
}
%typemap(argout) int64_t* out_shape "(*jenv)->SetLongArrayRegion(jenv, $input, 0, TK_MAX_RANK, (jlong*)$1);"
/* (buffer, capacity): a caller byte[] (null for none), written back. */
%typemap(jni) (char* buffer, size_t capacity) "jbyteArray"
%typemap(jtype) (char* buffer, size_t capacity) "byte[]"
%typemap(jstype) (char* buffer, size_t capacity) "byte[]"
%typemap(javain) (char* buffer, size_t capacity) "$javainput"
%typemap(in) (char* buffer, size_t capacity) (jbyteArray held = NULL) {
  held = $input;
  $1 = NULL;
  $2 = $input ? (size_t)(*jenv)->GetArrayLength(jenv, $input) : 0;
}
%typemap(check) (char* buffer, size_t capacity) {
  if (held$argnum) {
    $1 = (char*)(*jenv)->GetByteArrayElements(jenv, held$argnum, NULL);
    if (!$1) return $null;
  }
}
%typemap(argout) (char* buffer, size_t capacity) "if ($1) (*jenv)->ReleaseByteArrayElements(jenv, held$argnum, (jbyte*)$1, 0);"
%apply (char* buffer, size_t capacity) { (char* name, size_t capacity), (char* reason, size_t capacity),
                                         (char* out_path, size_t capacity) };
/* Parameters as f32 into a caller float[]; count is its length. */
%typemap(jni) (float* out, int64_t count) "jfloatArray"
%typemap(jtype) (float* out, int64_t count) "float[]"
%typemap(jstype) (float* out, int64_t count) "float[]"
%typemap(javain) (float* out, int64_t count) "$javainput"
%typemap(in) (float* out, int64_t count) (jfloatArray held = NULL) {
  if (!$input) {
    SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, "out is null");
    return $null;
  }
  held = $input;
  $1 = NULL;
  $2 = (int64_t)(*jenv)->GetArrayLength(jenv, $input);
}
%typemap(check) (float* out, int64_t count) {
  $1 = (float*)(*jenv)->GetFloatArrayElements(jenv, held$argnum, NULL);
  if (!$1) return $null;
}
%typemap(argout) (float* out, int64_t count) "if ($1) (*jenv)->ReleaseFloatArrayElements(jenv, held$argnum, (jfloat*)$1, 0);"

#elif defined(SWIGCSHARP)
/* Arrays are pinned for the call (blittable), never copied; the length that
 * travels beside one is the caller's to pass (the thin layer passes Length). */
%define TK_CS_ARRAY(CTYPE, CSTYPE, DIRECTION, DECLS...)
%typemap(ctype) DECLS "CTYPE"
%typemap(imtype, inattributes=DIRECTION) DECLS "CSTYPE[]"
%typemap(cstype) DECLS "CSTYPE[]"
%typemap(csin) DECLS "$csinput"
%typemap(in) DECLS %{ $1 = ($1_ltype)$input; %}
%enddef
TK_CS_ARRAY(int64_t*, long, "[global::System.Runtime.InteropServices.In]", const int64_t* shape,
            const int64_t* sample_shape, const int64_t* target_shape)
TK_CS_ARRAY(tk_node*, int, "[global::System.Runtime.InteropServices.In]", const tk_node* inputs)
TK_CS_ARRAY(int64_t*, long, "[global::System.Runtime.InteropServices.In, global::System.Runtime.InteropServices.Out]",
            int64_t* out_shape)
TK_CS_ARRAY(float*, float, "[global::System.Runtime.InteropServices.In, global::System.Runtime.InteropServices.Out]",
            float* out)
TK_CS_ARRAY(char*, byte, "[global::System.Runtime.InteropServices.In, global::System.Runtime.InteropServices.Out]",
            char* buffer, char* name, char* reason, char* out_path)
/* SWIG matches `const char* name` (the names given to tk_model_input and
 * tk_model_output) to the `char* name` buffer above; those stay strings. */
%apply char* { const char* name };
#endif

/* ---- Tensor views ---------------------------------------------------------------- */
/* A TensorView is filled with reset(data, dtype, shape) (Java: a direct
 * buffer; C#: an IntPtr to pinned memory); extent(axis) reads its shape. */
%extend tk_tensor_view {
  void reset(void* data, tk_dtype dtype, int32_t rank, const int64_t* shape) {
    *$self = tk_view(data, dtype, rank > TK_MAX_RANK ? 0 : rank, shape);
    $self->rank = rank;
  }
  int64_t extent(int32_t axis) { return axis >= 0 && axis < $self->rank && axis < TK_MAX_RANK ? $self->shape[axis] : 0; }
  void set_stride(int32_t axis, int64_t stride) { if (axis >= 0 && axis < TK_MAX_RANK) $self->strides[axis] = stride; }
  /* The bytes the view spans when contiguous (0 for an unknown dtype). */
  int64_t nbytes() {
    static const int64_t sizes[] = {4, 8, 2, 2, 4, 1};
    int64_t n = $self->dtype >= 0 && $self->dtype < 6 ? sizes[$self->dtype] : 0;
    for (int32_t d = 0; d < $self->rank && d < TK_MAX_RANK; ++d) n *= $self->shape[d];
    return n;
  }
}
%extend tk_step_report {
  tk_step_report() {
    tk_step_report* report = (tk_step_report*)calloc(1, sizeof(tk_step_report));
    if (report) report->struct_size = sizeof(tk_step_report);
    return report;
  }
  ~tk_step_report() { free($self); }
}
%extend tk_gpu_info {
  tk_gpu_info() {
    tk_gpu_info* info = (tk_gpu_info*)calloc(1, sizeof(tk_gpu_info));
    if (info) info->struct_size = sizeof(tk_gpu_info);
    return info;
  }
  ~tk_gpu_info() { free($self); }
}
/* Size-versioned results of the training loop, made with struct_size set. */
%define TK_SIZED_STRUCT(TYPE)
%extend TYPE {
  TYPE() {
    TYPE* value = (TYPE*)calloc(1, sizeof(TYPE));
    if (value) value->struct_size = sizeof(TYPE);
    return value;
  }
  ~TYPE() { free($self); }
}
%immutable TYPE::struct_size;
%enddef
TK_SIZED_STRUCT(tk_fit_event)
TK_SIZED_STRUCT(tk_fit_report)
TK_SIZED_STRUCT(tk_metrics)
/* Views are filled with reset() and read with extent() and nbytes(). */
%ignore tk_tensor_view::data;
%ignore tk_tensor_view::shape;
%ignore tk_tensor_view::strides;
%immutable tk_step_report::struct_size;
%immutable tk_gpu_info::struct_size;

#if defined(SWIGPYTHON)
%{
/* A tk_tensor_view over a buffer-protocol object (numpy arrays, memoryviews,
 * array.array): its format gives the dtype, its strides are passed on, so
 * non-contiguous arrays are read in place. A (buffer, dtype) pair overrides
 * the dtype for the same item size (bf16 held as uint16). A TensorView
 * proxy (from tk_batcher_next) is used as it is. */
static int tk_py_dtype(const Py_buffer* b) {
  const char* f = b->format ? b->format : "B";
  if (*f == '<' || *f == '=' || *f == '@') ++f;
  if (f[0] && f[1]) return -1;
  switch (f[0]) {
    case 'f': return TK_DTYPE_F32;
    case 'd': return TK_DTYPE_F64;
    case 'e': return TK_DTYPE_F16;
    case 'B': return TK_DTYPE_U8;
    case 'i': return b->itemsize == 4 ? TK_DTYPE_I32 : -1;
    case 'l': return b->itemsize == 4 ? TK_DTYPE_I32 : -1;
    default: return -1;
  }
}
static int tk_py_view(PyObject* object, int writable, Py_buffer* buffer, tk_tensor_view* view, const char* name) {
  PyObject* source = object;
  long forced = -1;
  if (PyTuple_Check(object) && PyTuple_GET_SIZE(object) == 2) {
    source = PyTuple_GET_ITEM(object, 0);
    forced = PyLong_AsLong(PyTuple_GET_ITEM(object, 1));
    if (PyErr_Occurred()) return -1;
  }
  if (PyObject_GetBuffer(source, buffer, PyBUF_RECORDS_RO | (writable ? PyBUF_WRITABLE : 0)) != 0) {
    PyErr_Clear();
    PyErr_Format(PyExc_TypeError, "'%s' must be a %sbuffer (a numpy array, say), got %s", name,
                 writable ? "writable " : "", Py_TYPE(source)->tp_name);
    return -1;
  }
  int dtype = tk_py_dtype(buffer);
  static const int sizes[] = {4, 8, 2, 2, 4, 1};
  if (forced >= 0) dtype = forced < 6 && sizes[forced] == buffer->itemsize ? (int)forced : -1;
  if (dtype < 0 || buffer->ndim > TK_MAX_RANK) {
    PyErr_Format(PyExc_TypeError, dtype < 0 ? "'%s' has element type '%s', which trainkit does not take"
                                            : "'%s' has more than 8 dimensions (%s)",
                 name, buffer->format ? buffer->format : "B");
    PyBuffer_Release(buffer);
    return -1;
  }
  memset(view, 0, sizeof *view);
  view->data = buffer->buf;
  view->dtype = dtype;
  view->rank = buffer->ndim;
  for (int d = 0; d < buffer->ndim; ++d) {
    view->shape[d] = buffer->shape[d];
    if (!buffer->strides) continue; /* contiguous: the C API's all-zero strides */
    Py_ssize_t stride = buffer->strides[d];
    /* A zero stride (a broadcast array) is refused: all-zero strides mean
     * "contiguous" to the C API, which would read past the buffer. */
    if (stride % buffer->itemsize != 0 || stride < 0 || (stride == 0 && buffer->shape[d] > 1)) {
      PyErr_Format(PyExc_ValueError,
                   "'%s' has a stride of %zd bytes, not a positive multiple of its %zd-byte items (pass a copy: "
                   "numpy.ascontiguousarray)",
                   name, stride, buffer->itemsize);
      PyBuffer_Release(buffer);
      return -1;
    }
    view->strides[d] = stride / buffer->itemsize;
  }
  return 0;
}
%}
%typemap(in) const tk_tensor_view* inputs (Py_buffer buffer, int have = 0, tk_tensor_view view, void* proxy = NULL) {
  if ($input == Py_None) {
    $1 = NULL;
  } else if (SWIG_IsOK(SWIG_ConvertPtr($input, &proxy, $descriptor(tk_tensor_view*), 0))) {
    $1 = (tk_tensor_view*)proxy;
  } else {
    if (tk_py_view($input, 0, &buffer, &view, "$1_name") != 0) SWIG_fail;
    have = 1;
    $1 = &view;
  }
}
%typemap(freearg) const tk_tensor_view* inputs "if (have$argnum) PyBuffer_Release(&buffer$argnum);"
%typemap(in) tk_tensor_view* outputs (Py_buffer buffer, int have = 0, tk_tensor_view view) {
  if ($input == Py_None) {
    $1 = NULL;
  } else {
    if (tk_py_view($input, 1, &buffer, &view, "$1_name") != 0) SWIG_fail;
    have = 1;
    $1 = &view;
  }
}
%typemap(freearg) tk_tensor_view* outputs "if (have$argnum) PyBuffer_Release(&buffer$argnum);"
/* Several inputs (tk_*_inputs): a sequence of buffers, one per model input. */
%typemap(in) (int32_t input_count, const tk_tensor_view* inputs) (Py_buffer* buffers = NULL, int held = 0) {
  PyObject* items = PySequence_Fast($input, "inputs must be a sequence of arrays, one per model input");
  if (!items) SWIG_fail;
  Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
  if (count > 1024) count = 1025; /* refused by the C API with its message */
  $1 = (int32_t)count;
  $2 = (tk_tensor_view*)calloc(count ? count : 1, sizeof(tk_tensor_view));
  buffers = (Py_buffer*)calloc(count ? count : 1, sizeof(Py_buffer));
  if (!$2 || !buffers) {
    Py_DECREF(items);
    PyErr_NoMemory();
    SWIG_fail;
  }
  for (Py_ssize_t i = 0; i < count && i < PySequence_Fast_GET_SIZE(items); ++i) {
    if (tk_py_view(PySequence_Fast_GET_ITEM(items, i), 0, &buffers[i], &$2[i], "inputs") != 0) {
      Py_DECREF(items);
      SWIG_fail;
    }
    held = (int)i + 1;
  }
  Py_DECREF(items);
}
%typemap(freearg) (int32_t input_count, const tk_tensor_view* inputs) {
  for (int i = 0; i < held$argnum; ++i) PyBuffer_Release(&buffers$argnum[i]);
  free(buffers$argnum);
  free($2);
}
/* Several outputs (tk_*_predict_outputs): a sequence of writable buffers, one per output read. */
%typemap(in) (int32_t output_count, tk_tensor_view* outputs) (Py_buffer* buffers = NULL, int held = 0) {
  PyObject* items = PySequence_Fast($input, "outputs must be a sequence of arrays, one per model output");
  if (!items) SWIG_fail;
  Py_ssize_t count = PySequence_Fast_GET_SIZE(items);
  if (count > 1024) count = 1025; /* refused by the C API with its message */
  $1 = (int32_t)count;
  $2 = (tk_tensor_view*)calloc(count ? count : 1, sizeof(tk_tensor_view));
  buffers = (Py_buffer*)calloc(count ? count : 1, sizeof(Py_buffer));
  if (!$2 || !buffers) {
    Py_DECREF(items);
    PyErr_NoMemory();
    SWIG_fail;
  }
  for (Py_ssize_t i = 0; i < count && i < PySequence_Fast_GET_SIZE(items); ++i) {
    if (tk_py_view(PySequence_Fast_GET_ITEM(items, i), 1, &buffers[i], &$2[i], "outputs") != 0) {
      Py_DECREF(items);
      SWIG_fail;
    }
    held = (int)i + 1;
  }
  Py_DECREF(items);
}
%typemap(freearg) (int32_t output_count, tk_tensor_view* outputs) {
  for (int i = 0; i < held$argnum; ++i) PyBuffer_Release(&buffers$argnum[i]);
  free(buffers$argnum);
  free($2);
}
%apply const tk_tensor_view* inputs { const tk_tensor_view* targets, const tk_tensor_view* features,
                                     const tk_tensor_view* values };
%apply tk_tensor_view* outputs { tk_tensor_view* out, tk_tensor_view* out_confusion, tk_tensor_view* out_per_class };
/* tk_batcher_next's views come back as TensorView proxies (copies of the
 * structs; the memory stays the batcher's until its next call). */
%typemap(in, numinputs=0) tk_tensor_view* out_features (tk_tensor_view view), tk_tensor_view* out_targets (tk_tensor_view view) {
  memset(&view, 0, sizeof view);
  $1 = &view;
}
%typemap(freearg) tk_tensor_view* out_features, tk_tensor_view* out_targets ""
%typemap(argout) tk_tensor_view* out_features, tk_tensor_view* out_targets {
  tk_tensor_view* copy = (tk_tensor_view*)malloc(sizeof(tk_tensor_view));
  if (!copy) {
    Py_XDECREF(resultobj);
    resultobj = NULL;
    PyErr_NoMemory();
    SWIG_fail;
  }
  *copy = *$1;
  $result = SWIG_Python_AppendOutput($result, SWIG_NewPointerObj(copy, $descriptor(tk_tensor_view*), SWIG_POINTER_OWN));
}
/* It builds a Python object, so it keeps the GIL (-threads releases it around
 * every other call). */
%feature("nothread") tk_tensor_view::memory;
%extend tk_tensor_view {
  /* The view's memory as a read-only memoryview of bytes (valid while the
   * memory is: until the next call on the batcher that made it). */
  PyObject* memory() {
    int64_t n = tk_tensor_view_nbytes($self);
    if (!$self->data || n == 0) return PyMemoryView_FromMemory((char*)"", 0, PyBUF_READ);
    return PyMemoryView_FromMemory((char*)$self->data, (Py_ssize_t)n, PyBUF_READ);
  }
}
#endif

%include "capi/trainkit.h"

/* The views of a model of several inputs (tk_*_inputs take a C array):
 * TensorViewArray(count), setitem(i, view) copies a view in, cast() passes
 * the array. Python passes a sequence of buffers instead (above). */
#if defined(SWIGJAVA) || defined(SWIGCSHARP)
%include <carrays.i>
%array_class(tk_tensor_view, TensorViewArray);
#endif

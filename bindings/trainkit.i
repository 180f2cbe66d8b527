/* trainkit.i - the one SWIG interface for Java, C# and Python. It wraps
 * bindings/shim.h (the C API with handles as int64 and memory as addresses);
 * only the mapping of `void*` (caller memory) differs per language. */
%module trainkit_native

%{
#include "bindings/shim.h"
%}

%include <stdint.i>

#if defined(SWIGJAVA)
/* Java: caller memory is a direct NIO buffer (zero-copy); null stays NULL. */
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
  static { TrainKitLoader.load(); }
%}
#elif defined(SWIGCSHARP)
/* C#: caller memory is an IntPtr to a pinned array or span. */
%apply void* VOID_INT_PTR { void* }
#elif defined(SWIGPYTHON)
/* Python: caller memory is an integer address (numpy's .ctypes.data). */
%typemap(in) void* {
  $1 = $input == Py_None ? NULL : PyLong_AsVoidPtr($input);
  if (PyErr_Occurred()) SWIG_fail;
}
%typemap(typecheck) void* = long;
#endif

%include "bindings/shim.h"

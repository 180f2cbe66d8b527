// Ownership and errors for the idiomatic layer over the generated TrainKitC.
// Every native object is a SafeHandle: Dispose frees it once, the finalizer
// frees what was left to the garbage collector, and each call holds a
// reference on it (DangerousAddRef) so it cannot be freed under that call.
using System;
using System.Runtime.InteropServices;
using System.Text;

namespace TrainKit {

/// <summary>A failed call of the C API: its status and its message.</summary>
public class TrainKitException : Exception {
  /// <summary>The status the C API returned (never <see cref="TrainKit.Status.Ok"/>).</summary>
  public Status Status { get; }

  /// <summary>The status's C name, e.g. "TK_ERROR_SHAPE_MISMATCH".</summary>
  public string StatusName => TrainKitC.tk_status_string(Status);

  /// <summary>An exception for <paramref name="status"/>; an empty message becomes the status's name.</summary>
  public TrainKitException(Status status, string message)
      : base(string.IsNullOrEmpty(message) ? TrainKitC.tk_status_string(status) : message) {
    Status = status;
  }

  /// <summary>Throws for any status but <see cref="TrainKit.Status.Ok"/>, with this thread's
  /// native message (tk_last_error_message), which describes the call that just failed.</summary>
  public static void Check(Status status) {
    if (status != Status.Ok) throw new TrainKitException(status, TrainKitC.tk_last_error_message());
  }
}

/// <summary>A reference held on a native object for the length of a <c>using</c> block:
/// while it is held, Dispose (or the finalizer) on another thread defers freeing the
/// object until the lease ends. A struct, so taking one allocates nothing.</summary>
public struct NativeLease : IDisposable {
  readonly SafeHandle owner;
  readonly bool added;

  // `holder` names the object in the exception; its name is looked up only
  // then, since Type.Name allocates.
  internal NativeLease(SafeHandle owner, object holder) {
    this.owner = owner;
    added = false;
    if (owner.IsClosed) throw new ObjectDisposedException(holder.GetType().Name);
    owner.DangerousAddRef(ref added);
  }

  /// <summary>Releases the reference; the object is freed here if it was disposed meanwhile.</summary>
  public void Dispose() {
    if (added) owner.DangerousRelease();
  }
}

/// <summary>Owns one native pointer and frees it with the generated destroy function.</summary>
sealed class OwnedHandle : SafeHandle {
  readonly Action<IntPtr> destroy;
  // Native scratch memory (TensorView proxies) that calls on this handle
  // use; freed with it, so never under a running call.
  internal IDisposable[] Companions;

  internal OwnedHandle(IntPtr address, Action<IntPtr> destroy) : base(IntPtr.Zero, true) {
    this.destroy = destroy;
    SetHandle(address);
  }

  public override bool IsInvalid => handle == IntPtr.Zero;

  protected override bool ReleaseHandle() {
    destroy(handle);
    if (Companions != null)
      foreach (IDisposable companion in Companions) companion.Dispose();
    return true;
  }
}

/// <summary>Base of every object that owns a native trainkit handle of SWIG type
/// <typeparamref name="THandle"/> (e.g. <see cref="SWIGTYPE_p_tk_model"/>).</summary>
/// <typeparam name="THandle">The generated opaque handle type.</typeparam>
public abstract class NativeObject<THandle> : IDisposable where THandle : class {
  internal readonly OwnedHandle Owner;
  // The typed handle the generated functions take; the same pointer as Owner's.
  internal readonly THandle Native;

  internal NativeObject(THandle native, IntPtr address, Action<IntPtr> destroy) {
    Native = native;
    Owner = new OwnedHandle(address, destroy);
  }

  /// <summary>The generated typed handle, for calling any <see cref="TrainKitC"/> function on this
  /// object. It is valid until the object is disposed; hold a <see cref="Lease"/> around calls
  /// that may race with Dispose on another thread.</summary>
  /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
  public THandle Handle {
    get {
      if (Owner.IsClosed) throw new ObjectDisposedException(GetType().Name);
      return Native;
    }
  }

  /// <summary>Keeps the native object alive until the returned lease is disposed.</summary>
  /// <exception cref="ObjectDisposedException">The object was disposed.</exception>
  public NativeLease Lease() => new NativeLease(Owner, this);

  /// <summary>Whether <see cref="Dispose"/> has been called.</summary>
  public bool IsClosed => Owner.IsClosed;

  /// <summary>Frees the native object (once; later calls do nothing). A call running on another
  /// thread finishes first.</summary>
  public void Dispose() => Owner.Dispose();
}

/// <summary>Helpers shared by the wrappers.</summary>
static class Interop {
  internal static void Check(Status status) => TrainKitException.Check(status);

  internal static void NotNull(object value, string name) {
    if (value == null) throw new ArgumentNullException(name);
  }

  // Elements a shape describes, or -1 for a negative extent or an overflow.
  internal static long Count(long[] shape) {
    long n = 1;
    foreach (long extent in shape) {
      if (extent < 0) return -1;
      if (extent != 0 && n > long.MaxValue / extent) return -1;
      n *= extent;
    }
    return n;
  }

  internal static string Format(long[] shape) => "[" + string.Join(", ", shape) + "]";

  // The array must hold exactly what its shape describes: the C API reads
  // and writes by the shape, and cannot see the array's length.
  internal static void Fits(long[] shape, long length, string what, string shapeName) {
    if (shape == null) throw new ArgumentNullException(shapeName);
    long count = Count(shape);
    if (count != length)
      throw new TrainKitException(Status.ErrorShapeMismatch,
                                  $"{what} holds {length} values, its shape {Format(shape)} describes {count}");
  }

  // The NUL-terminated UTF-8 text at the start of buffer.
  internal static string Text(byte[] buffer) {
    int length = Array.IndexOf(buffer, (byte)0);
    return Encoding.UTF8.GetString(buffer, 0, length < 0 ? buffer.Length : length);
  }

  // A name from a call that truncates to the buffer: retried with a larger
  // buffer while the text fills it.
  internal static string Name(Func<byte[], Status> fill) {
    for (int capacity = 128;; capacity *= 4) {
      var buffer = new byte[capacity];
      Check(fill(buffer));
      string text = Text(buffer);
      if (Encoding.UTF8.GetByteCount(text) < capacity - 1 || capacity >= 1 << 20) return text;
    }
  }

  internal static long[] Shape(int rank, long[] extents) {
    var shape = new long[Math.Max(0, Math.Min(rank, extents.Length))];
    Array.Copy(extents, shape, shape.Length);
    return shape;
  }
}

}  // namespace TrainKit

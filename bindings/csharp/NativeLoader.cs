// Finds the native library before the first call into it. Mono and .NET look
// for libtrainkit_csharp.so beside TrainKit.dll and on the loader's path; a
// NuGet package keeps it under runtimes/linux-x64/native/ instead, which only
// .NET's package resolution knows. So the loader opens it from the package
// layout itself (by full path, with the dynamic loader, which then serves the
// DllImports by its SONAME), and a library found nowhere is named with the
// platform and every place looked in.
using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace TrainKit {

static class NativeLoader {
  const string Library = "libtrainkit_csharp.so";
  const string Platform = "linux-x64";
  const int RtldNow = 2, RtldGlobal = 0x100;
  static readonly object Gate = new object();
  static bool loaded;

  [DllImport("libdl.so.2")] static extern IntPtr dlopen(string path, int flags);
  [DllImport("libdl.so.2")] static extern IntPtr dlerror();

  /// <summary>Loads the native library once; throws DllNotFoundException naming it when it cannot.</summary>
  internal static void Load() {
    lock (Gate) {
      if (loaded) return;
      if (Environment.OSVersion.Platform != PlatformID.Unix || !Environment.Is64BitProcess)
        throw new DllNotFoundException("trainkit: this package carries " + Library + " for " + Platform +
                                       " only, not for " + Environment.OSVersion.Platform);
      string here = Path.GetDirectoryName(typeof(NativeLoader).Assembly.Location) ?? ".";
      var candidates = new List<string> {
        Path.Combine(here, Library),                                                 // a build folder
        Path.Combine(here, "runtimes", Platform, "native", Library),                 // published beside
        Path.Combine(here, "..", "..", "runtimes", Platform, "native", Library),     // the package's own layout
      };
      var tried = new List<string>();
      foreach (string path in candidates) {
        if (!File.Exists(path)) {
          tried.Add(Path.GetFullPath(path) + " (absent)");
          continue;
        }
        if (dlopen(Path.GetFullPath(path), RtldNow | RtldGlobal) != IntPtr.Zero) {
          loaded = true;
          return;
        }
        tried.Add(Path.GetFullPath(path) + " (" + Marshal.PtrToStringAnsi(dlerror()) + ")");
      }
      if (dlopen(Library, RtldNow | RtldGlobal) != IntPtr.Zero) {  // the loader's search path
        loaded = true;
        return;
      }
      tried.Add("the loader's search path (" + Marshal.PtrToStringAnsi(dlerror()) + ")");
      throw new DllNotFoundException("trainkit: cannot load its native library " + Library + " for " + Platform +
                                     "; looked in: " + string.Join("; ", tried));
    }
  }
}

}  // namespace TrainKit

package org.trainkit.internal;

import java.io.File;

/** Loads the JNI library: from beside the jar if it is there, else from java.library.path. */
public final class TrainKitLoader {
  private static boolean loaded;

  private TrainKitLoader() {}

  public static synchronized void load() {
    if (loaded) return;
    File beside = null;
    try {
      File jar = new File(TrainKitLoader.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      beside = new File(jar.isDirectory() ? jar : jar.getParentFile(), "libtrainkit_jni.so");
    } catch (Exception ignored) {
      // No usable code source: fall back to java.library.path.
    }
    if (beside != null && beside.isFile()) {
      System.load(beside.getAbsolutePath());
    } else {
      System.loadLibrary("trainkit_jni");
    }
    loaded = true;
  }
}

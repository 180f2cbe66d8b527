package org.trainkit.internal;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Loads the JNI library, in this order: from beside the jar (a build tree); from the jar itself,
 * whose {@code native/<platform>/} folder is extracted once into a private cache (the packaged jar);
 * from {@code java.library.path}. Failing all three, the error names the library, the platform and
 * every place looked in.
 */
public final class TrainKitLoader {
  private static final String LIBRARY = "libtrainkit_jni.so";
  private static boolean loaded;

  private TrainKitLoader() {}

  public static synchronized void load() {
    if (loaded) return;
    List<String> tried = new ArrayList<>();
    File beside = besideJar();
    if (beside != null && beside.isFile()) {
      System.load(beside.getAbsolutePath());
      loaded = true;
      return;
    }
    if (beside != null) tried.add(beside.getPath() + " (absent)");
    String platform = platform();
    String folder = "/native/" + platform + "/";
    try (InputStream list = TrainKitLoader.class.getResourceAsStream(folder + "files.txt")) {
      if (list != null) {
        Path library = extract(folder, list.readAllBytes());
        System.load(library.toString());
        loaded = true;
        return;
      }
      tried.add("this jar's " + folder + " (absent: the jar carries no natives for " + platform + ")");
    } catch (IOException | NoSuchAlgorithmException e) {
      tried.add("this jar's " + folder + " (could not be extracted: " + e + ")");
    }
    try {
      System.loadLibrary("trainkit_jni");
    } catch (UnsatisfiedLinkError e) {
      tried.add("java.library.path (" + e.getMessage() + ")");
      throw new UnsatisfiedLinkError(
          "trainkit: cannot load its native library " + LIBRARY + " for platform " + platform
              + "; looked in: " + String.join("; ", tried));
    }
    loaded = true;
  }

  private static File besideJar() {
    try {
      File jar = new File(TrainKitLoader.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return new File(jar.isDirectory() ? jar : jar.getParentFile(), LIBRARY);
    } catch (Exception noCodeSource) {
      return null;
    }
  }

  /** The jar's platform folder name: linux-x86_64, linux-aarch64, ... */
  static String platform() {
    String os = System.getProperty("os.name", "unknown").toLowerCase().replace(' ', '_');
    if (os.startsWith("linux")) os = "linux";
    else if (os.startsWith("mac")) os = "macos";
    else if (os.startsWith("windows")) os = "windows";
    String arch = System.getProperty("os.arch", "unknown").toLowerCase();
    if (arch.equals("amd64") || arch.equals("x86_64")) arch = "x86_64";
    else if (arch.equals("arm64")) arch = "aarch64";
    return os + "-" + arch;
  }

  /**
   * Extracts the files listed (SHA-256 and name per line) into a cache folder named by the list's
   * own hash, so jars of other builds never share files. A file already there is reused only when
   * its hash matches; new files are written aside and renamed into place, so processes starting at
   * once never load a half-written library. Returns the JNI library's path.
   */
  private static Path extract(String folder, byte[] list) throws IOException, NoSuchAlgorithmException {
    Path cache = privateFolder(cacheRoot().resolve(hex(sha256(list)).substring(0, 16)));
    for (String line : new String(list, StandardCharsets.UTF_8).split("\n")) {
      String[] fields = line.trim().split("\\s+");
      if (fields.length != 2) continue;
      String expected = fields[0], name = fields[1];
      Path target = cache.resolve(name);
      if (Files.isRegularFile(target) && hex(sha256(Files.readAllBytes(target))).equals(expected)) continue;
      try (InputStream in = TrainKitLoader.class.getResourceAsStream(folder + name)) {
        if (in == null) throw new IOException(folder + name + " is listed but missing from the jar");
        byte[] bytes = in.readAllBytes();
        if (!hex(sha256(bytes)).equals(expected)) throw new IOException(folder + name + " does not match its hash");
        Path part = Files.createTempFile(cache, name, ".part");
        Files.write(part, bytes);
        Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      }
    }
    Path library = cache.resolve(LIBRARY);
    if (!Files.isRegularFile(library)) throw new IOException(folder + " has no " + LIBRARY);
    return library;
  }

  /** trainkit.native.cache if set, else $XDG_CACHE_HOME/trainkit or ~/.cache/trainkit. */
  private static Path cacheRoot() throws IOException {
    String configured = System.getProperty("trainkit.native.cache");
    if (configured != null && !configured.isEmpty()) return privateFolder(Paths.get(configured));
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base = xdg != null && !xdg.isEmpty() ? Paths.get(xdg) : Paths.get(System.getProperty("user.home"), ".cache");
    return privateFolder(base.resolve("trainkit"));
  }

  /**
   * `folder`, created owner-only when absent, if it is owned by this user and writable by no one else
   * (so no other user can swap a library between its check and its load); otherwise a fresh
   * owner-only temporary folder.
   */
  private static Path privateFolder(Path folder) throws IOException {
    try {
      if (!Files.isDirectory(folder)) {
        Files.createDirectories(folder);
        Files.setPosixFilePermissions(folder, PosixFilePermissions.fromString("rwx------"));
      }
      Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(folder);
      boolean shared = permissions.contains(PosixFilePermission.GROUP_WRITE)
          || permissions.contains(PosixFilePermission.OTHERS_WRITE);
      boolean mine = Files.getOwner(folder).getName().equals(System.getProperty("user.name"));
      if (mine && !shared) return folder;
      return Files.createTempDirectory("trainkit-native",
          PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException notPosix) {
      Files.createDirectories(folder);
      return folder;
    }
  }

  private static byte[] sha256(byte[] bytes) throws NoSuchAlgorithmException {
    return MessageDigest.getInstance("SHA-256").digest(bytes);
  }

  private static String hex(byte[] bytes) {
    StringBuilder s = new StringBuilder(bytes.length * 2);
    for (byte b : bytes) s.append(String.format("%02x", b));
    return s.toString();
  }
}

#!/bin/bash
# A Java program of a user's own, compiled with `javac -cp trainkit-VERSION.jar`
# alone and run with that jar on the class path: the jar extracts its natives
# into a fresh private cache, loads them, trains, and a second run reuses the
# cache. A jar stripped of its natives fails naming the library and platform.
# The jar and POM are installed into a scratch local Maven repository in
# Maven's layout (packaging/java/install_to_maven.sh).
# Args: jar pom consumer-source install_to_maven.sh
set -euo pipefail
source "$(dirname "$0")/accuracy.sh"
jar="$(readlink -f "$1")" pom="$(readlink -f "$2")" source="$(readlink -f "$3")" install_script="$(readlink -f "$4")"  # absolute: the test changes folders
work="${TEST_TMPDIR:-/tmp}/java-consumer"
rm -rf "$work" && mkdir -p "$work/app"
cp "$jar" "$work/app/trainkit.jar"
cp "$source" "$work/app/"
cd "$work/app"
javac -cp trainkit.jar TrainTeacher.java
run() { java -Dtrainkit.native.cache="$work/cache" -cp trainkit.jar:. TrainTeacher; }
first=$(run)
check_accuracy "$first"
echo "cache: $(cd "$work/cache" && find . -type f | sort | tr '\n' ' ')"
[ "$(find "$work/cache" -name libtrainkit_jni.so | wc -l)" -eq 1 ] || { echo "FAIL: no single extracted JNI library"; exit 1; }
[ "$(find "$work/cache" -name '*.part' | wc -l)" -eq 0 ] || { echo "FAIL: partial files left"; exit 1; }
stamp=$(stat -c %Y "$(find "$work/cache" -name libtrainkit_jni.so)")
sleep 1
second=$(run)
[ "$second" = "$first" ] || { echo "FAIL: the second run differs: $second"; exit 1; }
[ "$(stat -c %Y "$(find "$work/cache" -name libtrainkit_jni.so)")" = "$stamp" ] || { echo "FAIL: the cache was rewritten"; exit 1; }

echo "== a cached library that was tampered with is replaced"
cached=$(find "$work/cache" -name libtrainkit.so.0)
chmod u+w "$cached" && printf 'garbage' > "$cached"
[ "$(run)" = "$first" ] || { echo "FAIL: a tampered cache broke the run"; exit 1; }

echo "== a cache folder others may write is not used"
mkdir -p "$work/shared" && chmod 0777 "$work/shared"
[ "$(java -Dtrainkit.native.cache="$work/shared" -cp trainkit.jar:. TrainTeacher)" = "$first" ] || { echo "FAIL: run with a shared cache"; exit 1; }
[ -z "$(find "$work/shared" -type f)" ] || { echo "FAIL: libraries were extracted into a world-writable folder"; exit 1; }

echo "== a jar without natives names what is missing"
mkdir -p "$work/bare" && (cd "$work/bare" && unzip -q "$work/app/trainkit.jar" && rm -rf native && jar cf ../bare.jar .)
if message=$(java -Dtrainkit.native.cache="$work/cache2" -cp "$work/bare.jar:." TrainTeacher 2>&1); then
  echo "FAIL: ran without natives"; exit 1
fi
echo "$message" | grep -m1 "UnsatisfiedLinkError"
echo "$message" | grep -q "libtrainkit_jni.so" && echo "$message" | grep -q "linux-x86_64" ||
  { echo "FAIL: the error names neither library nor platform: $message"; exit 1; }

echo "== into a local Maven repository"
sh "$install_script" "$jar" "$pom" "$work/m2"
version=$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' "$pom" | head -1)
for f in "trainkit-$version.jar" "trainkit-$version.pom" maven-metadata-local.xml; do
  [ -f "$work/m2/org/trainkit/trainkit/$version/$f" ] || [ -f "$work/m2/org/trainkit/trainkit/$f" ] ||
    { echo "FAIL: $f missing from the repository"; exit 1; }
done
javac -d "$work/from-m2" -cp "$work/m2/org/trainkit/trainkit/$version/trainkit-$version.jar" TrainTeacher.java
echo "PASS"

#!/bin/bash
# Java binding: JUnit 4 over the jar and JNI library built by //bindings:java_binding;
# the coverage tests read the manifest generated from capi/trainkit.h.
set -euo pipefail
jar="$1"; reference="$2"; test_source="$3"; manifest="$4"
classes="${TEST_TMPDIR:-/tmp}/java-test-classes"
mkdir -p "$classes"
"$reference" > "$classes/reference.txt"
cp=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
javac --release 17 -nowarn -cp "$jar:$cp" -d "$classes" "$test_source"
# A fixed, pre-touched heap and a bounded direct-memory pool keep the JVM's own
# growth out of resident memory, so the cycle test sees native leaks only.
java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -XX:MaxDirectMemorySize=8m \
  -Dtrainkit.reference="$classes/reference.txt" -Dtrainkit.manifest="$manifest" -cp "$jar:$cp:$classes" \
  org.junit.runner.JUnitCore org.trainkit.TrainKitTest

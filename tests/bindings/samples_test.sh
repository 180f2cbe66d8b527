#!/bin/bash
# The Java, C# and Python Fashion-MNIST samples train (3 epochs here) to the
# same test accuracy as the C sample with the same seed and schedule.
set -euo pipefail
c_sample="$1"; jar="$2"; java_sample="$3"; dll="$4"; cs_sample="$5"; py_init="$6"; py_sample="$7"
work="${TEST_TMPDIR:-/tmp}/samples"
mkdir -p "$work/java" "$work/cs"
accuracy() { sed -n 's/^test accuracy: //p' "$1"; }

"$c_sample" --epochs 3 --seed 1 > "$work/c.txt"
javac --release 17 -nowarn -cp "$jar" -d "$work/java" "$java_sample"
java -cp "$jar:$work/java" FashionMnist --epochs 3 --seed 1 | tee "$work/java.txt"
cp "$dll" "$(dirname "$dll")"/*.so* "$work/cs/"
mcs -nologo -langversion:7.2 -r:"$work/cs/TrainKit.dll" -out:"$work/cs/FashionMnist.exe" "$cs_sample"
(cd "$work/cs" && mono FashionMnist.exe --epochs 3 --seed 1) | tee "$work/cs.txt"
PYTHONPATH="$(cd "$(dirname "$py_init")/.." && pwd)" python3 "$py_sample" --epochs 3 --seed 1 | tee "$work/py.txt"

c=$(accuracy "$work/c.txt")
for language in java cs py; do
  a=$(accuracy "$work/$language.txt")
  [ "$a" = "$c" ] || { echo "FAIL: $language test accuracy $a differs from C's $c"; exit 1; }
done
awk -v a="$c" 'BEGIN { exit !(a >= 0.87) }' || { echo "FAIL: accuracy $c < 0.87"; exit 1; }
echo "PASS: C, Java, C# and Python all reach test accuracy $c"

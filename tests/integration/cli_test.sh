#!/usr/bin/env bash
# The trainkit CLI as a person uses it: `train` in a terminal (a pty from
# script(1)) redraws its progress bar in place, writes one JSON line per
# epoch, a PNG plot and a model folder; `eval` and `predict` use that folder;
# without a terminal there is one line per epoch; bad input is a message and
# a non-zero exit, never a crash.
# Args: the trainkit binary, the Fashion-MNIST MLP spec.
set -euo pipefail
cli=$(realpath "$1")
mlp_spec=$(realpath "$2")
work=${TEST_TMPDIR:-$(mktemp -d)}/cli
rm -rf "$work" && mkdir -p "$work" && cd "$work"
status=0
fail() { echo "FAIL: $*"; status=1; }

# A CSV set: 4 features, 3 classes from a fixed linear rule.
python3 - <<'PY'
import random
random.seed(5)
for name, n in (("train.csv", 600), ("valid.csv", 200)):
    with open(name, "w") as f:
        f.write("f0,f1,f2,f3,label\n")
        for _ in range(n):
            x = [random.uniform(-1, 1) for _ in range(4)]
            scores = [x[0] - x[1], x[1] - x[2] + 0.2, x[3] - x[0]]
            f.write(",".join(f"{v:.6f}" for v in x) + f",{scores.index(max(scores))}\n")
PY
cat > spec.json <<'JSON'
{"format": "trainkit-model", "version": 1,
 "nodes": [{"name": "x", "op": "input", "shape": [4]},
           {"name": "h", "op": "linear", "inputs": ["x"], "units": 32},
           {"name": "r", "op": "relu", "inputs": ["h"]},
           {"name": "y", "op": "linear", "inputs": ["r"], "units": 3}],
 "output": {"node": "y", "name": "logits"}}
JSON

# In a terminal.
script -qfec "$cli train --spec spec.json --data train.csv --label label --validation valid.csv --epochs 6 \
  --batch 8 --lr 0.01 --threads 1 --patience 3 --out run" tty.log > /dev/null || fail "train in a pty exited non-zero"
redraws=$(grep -o $'\r\033\[2Kepoch 1/6 \[' tty.log | wc -l)
[ "$redraws" -ge 2 ] || fail "the bar of epoch 1 was drawn $redraws times, not redrawn in place"
grep -q "ETA" tty.log || fail "the bar shows no ETA"
grep -q "samples/s" tty.log || fail "the bar shows no samples/s"
grep -q "validation accuracy: " tty.log || fail "no final accuracy line"
grep -q "plot: run/curves.png" tty.log || fail "the plot's path is not printed"
python3 - <<'PY' || status=1
import json, struct
lines = [json.loads(l) for l in open("run/metrics.jsonl")]
assert [l["epoch"] for l in lines] == [1, 2, 3, 4, 5, 6], lines
assert all(l["steps"] == 75 * l["epoch"] for l in lines), lines
assert lines[-1]["val_accuracy"] > 0.8, lines[-1]
assert 0.5 < lines[-1]["train_accuracy"] <= 1 and lines[-1]["train_accuracy"] > lines[0]["train_accuracy"], lines
assert lines[-1]["train_loss"] < lines[0]["train_loss"], lines
png = open("run/curves.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
width, height = struct.unpack(">II", png[16:24])
assert (width, height) == (1200, 480), (width, height)
assert len(png) > 10000, len(png)
print("PASS: metrics.jsonl has 6 epochs (val_accuracy %.3f); curves.png is %dx%d" % (lines[-1]["val_accuracy"], width, height))
PY
for f in run/model/spec.json run/model/weights.safetensors run/model/preprocess.json run/best.safetensors; do
  [ -s "$f" ] || fail "$f was not written"
done

# eval and predict from the model folder.
"$cli" eval --model run/model --data valid.csv --top-k 2 > eval.txt || fail "eval exited non-zero"
grep -q "^accuracy: 0\.[89]" eval.txt || fail "eval: $(cat eval.txt)"
grep -q "^top-2 accuracy: " eval.txt || fail "eval shows no top-2 accuracy"
grep -q "confusion matrix" eval.txt || fail "eval shows no confusion matrix"
counted=$(awk '/confusion matrix/ { on = 1; getline; next } on && NF == 4 { s += $2 + $3 + $4 } END { print s }' eval.txt)
[ "$counted" = 200 ] || fail "the confusion matrix counts $counted samples, not 200"
"$cli" predict --model run/model --data valid.csv --out predictions.csv > /dev/null || fail "predict exited non-zero"
[ "$(wc -l < predictions.csv)" = 201 ] || fail "predictions.csv has $(wc -l < predictions.csv) lines, not 201"
head -1 predictions.csv | grep -q "^predicted,p0,p1,p2$" || fail "predictions.csv header: $(head -1 predictions.csv)"
python3 - <<'PY' || status=1
import csv
rows = list(csv.DictReader(open("predictions.csv")))
truth = [int(r["label"]) for r in csv.DictReader(open("valid.csv"))]
right = sum(int(r["predicted"]) == t for r, t in zip(rows, truth)) / len(truth)
assert all(abs(sum(float(r[f"p{c}"]) for c in range(3)) - 1) < 1e-4 for r in rows)
accuracy = float([l for l in open("eval.txt") if l.startswith("accuracy:")][0].split()[1])
assert abs(right - accuracy) < 1e-9, (right, accuracy)
print("PASS: predict agrees with eval (accuracy %.4f)" % right)
PY
# New data has no label column: predict reads its features alone, with the same results.
cut -d, -f1-4 valid.csv > unlabelled.csv
"$cli" predict --model run/model --data unlabelled.csv --out unlabelled_predictions.csv > /dev/null ||
  fail "predict on a CSV without labels exited non-zero"
cmp -s predictions.csv unlabelled_predictions.csv || fail "predictions without the label column differ"
if "$cli" eval --model run/model --data unlabelled.csv > out.txt 2>&1; then fail "eval without labels succeeded"; fi
grep -q "no label column 'label'" out.txt || fail "eval without labels said: $(cat out.txt)"

# Without a terminal: one line per epoch, no redraws.
"$cli" train --spec spec.json --data train.csv --epochs 2 --threads 1 --no-plot --out plain > plain.txt ||
  fail "train without a terminal exited non-zero"
if grep -q $'\r' plain.txt; then fail "carriage returns without a terminal"; fi
[ "$(grep -c '^epoch [12]/2  loss' plain.txt)" = 2 ] || fail "not one line per epoch: $(cat plain.txt)"

# Fashion-MNIST (IDX folder): validation split, test accuracy, time budget.
"$cli" train --spec "$mlp_spec" --data /usr/share/datasets/fashion-mnist --epochs 3 --time-budget 4 \
  --out fmnist > fmnist.txt || fail "Fashion-MNIST train exited non-zero"
grep -q "54000 training samples, 6000 validation samples" fmnist.txt || fail "no 10% validation split: $(head -1 fmnist.txt)"
grep -q "^test accuracy: 0\.[78]" fmnist.txt || fail "Fashion-MNIST: $(tail -5 fmnist.txt)"

# Bad input.
expect_error() {  # expect_error FRAGMENT COMMAND...
  local fragment=$1; shift
  if "$@" > out.txt 2>&1; then fail "succeeded: $*"; return; fi
  grep -q -- "$fragment" out.txt || fail "'$*' said: $(cat out.txt)"
}
printf 'f0,f1,f2,f3,label\n1,2,3,4,0\n1,2,x,4,1\n' > bad.csv
expect_error "line 3, column 3 ('f2'): 'x' is not a number" "$cli" train --spec spec.json --data bad.csv --out bad
expect_error "no label column 'kind'" "$cli" train --spec spec.json --data train.csv --label kind --out bad
expect_error "File does not exist" "$cli" train --spec missing.json --data train.csv
printf '{"format": "trainkit-model", "nodes": [' > broken.json
expect_error "reading the model spec" "$cli" train --spec broken.json --data train.csv --out bad
expect_error "no preprocess.json" "$cli" eval --model . --data valid.csv
expect_error "shape" "$cli" train --spec "$mlp_spec" --data train.csv --out bad

[ "$status" -eq 0 ] && echo "PASS: the CLI trains, shows progress, logs, plots, evaluates, predicts and refuses bad input"
exit "$status"

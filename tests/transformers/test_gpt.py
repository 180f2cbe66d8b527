"""samples/c/gpt.c: a character-level GPT trained from scratch on Debian's
fortunes through the C API. A short run must lower the validation loss each
epoch, print its progress, and generate; the saved model, loaded again,
generates the same greedy text; bad settings are refused."""
import math
import os
import re
import subprocess

import pytest

GPT = os.environ["TRAINKIT_GPT"]
SMALL = ["--layers", "2", "--dim", "64", "--heads", "4", "--context", "32", "--batch", "32", "--epochs", "2",
         "--steps", "80", "--threads", "2", "--length", "120", "--prompt", "Love is"]


def run(*args, check=True):
    done = subprocess.run([GPT, *args], capture_output=True, text=True, timeout=600)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def section(out, title):
    """The generated text under a '--- title ---' line."""
    part = out.split(f"--- {title}")[1]
    return part.split("\n", 1)[1].split("\n--- ")[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    prefix = str(tmp_path_factory.mktemp("gpt") / "model")
    return prefix, run(*SMALL, "--save", prefix).stdout


def test_validation_loss_falls_every_epoch(trained):
    _, out = trained
    before = float(re.search(r"validation loss before training: ([\d.]+)", out).group(1))
    epochs = [float(v) for v in re.findall(r"epoch \d+: validation loss ([\d.]+)", out)]
    vocabulary = int(re.search(r"vocabulary: (\d+) bytes", out).group(1))
    assert len(epochs) == 2
    # Uniform guessing costs log(vocabulary) nats; the trained model far less, and less each epoch.
    assert before > math.log(vocabulary) - 0.5, (before, vocabulary)
    assert epochs[0] < before - 1.0 and epochs[1] < epochs[0], (before, epochs)
    assert re.search(r"epoch 2 step   80/80  loss [\d.]+  \d+ tokens/s", out)


def test_it_generates_from_the_prompt(trained):
    _, out = trained
    for title in ("greedy", "top-10"):
        text = section(out, title)
        assert text.startswith("Love is") and len(text) >= len("Love is") + 100, text


def test_the_saved_model_generates_the_same_text(trained):
    prefix, out = trained
    again = run("--load", prefix, "--length", "120", "--prompt", "Love is", "--threads", "2").stdout
    assert section(again, "greedy") == section(out, "greedy")
    assert section(again, "top-10") == section(out, "top-10")  # the same seed draws the same samples
    assert "epoch" not in again


def test_bad_settings_are_refused(tmp_path):
    assert run("--layers", "0", check=False).returncode == 2
    assert run("--heads", "3", "--dim", "64", "--epochs", "1", "--steps", "1", check=False).returncode == 1
    missing = run("--corpus", str(tmp_path / "none"), check=False)
    assert missing.returncode == 1 and "no corpus" in missing.stderr
    assert run("--load", str(tmp_path / "none"), check=False).returncode == 1

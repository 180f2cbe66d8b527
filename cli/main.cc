// trainkit: train, evaluate and predict from the command line.
//
//   trainkit train --spec model.json --data DIR|file.csv [--epochs N] ...
//   trainkit eval --model DIR --data DIR|file.csv
//   trainkit predict --model DIR --data DIR|file.csv --out predictions.csv
#include <CLI/CLI.hpp>
#include <cstdio>

#include "cli/commands.h"
#include "cli/status.h"

int main(int argc, char** argv) {
  CLI::App app{"trainkit: train neural networks from the command line"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("trainkit ") + tk_version());

  tkcli::TrainOptions train;
  CLI::App* train_cmd = app.add_subcommand("train", "train a model spec on an IDX folder or a CSV file");
  train_cmd->add_option("--spec", train.spec, "the model spec (JSON)")->required()->check(CLI::ExistingFile);
  train_cmd->add_option("--data", train.data.path, "an IDX folder (train and t10k files) or a CSV file")
      ->required()->check(CLI::ExistingPath);
  train_cmd->add_option("--label", train.data.label_column, "CSV: the label column, by name or 0-based index (default: the last)");
  train_cmd->add_flag("!--no-header", train.data.csv_header, "CSV: the first row is data, not column names");
  train_cmd->add_option("--validation", train.validation, "CSV: a validation file, evaluated after every epoch")
      ->check(CLI::ExistingFile);
  train_cmd->add_option("--validation-split", train.validation_split,
                        "the training set's last fraction, held out for validation (default: 0.1 for an IDX folder)")
      ->check(CLI::Range(0.0, 0.99));
  train_cmd->add_option("--epochs", train.epochs, "epochs to train")->capture_default_str()->check(CLI::PositiveNumber);
  train_cmd->add_option("--batch", train.batch, "samples per step")->capture_default_str()->check(CLI::PositiveNumber);
  train_cmd->add_option("--lr", train.learning_rate, "learning rate")->capture_default_str()->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--optimizer", train.optimizer, "sgd, adam or adamw")->capture_default_str()
      ->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  train_cmd->add_option("--weight-decay", train.weight_decay, "weight decay")->check(CLI::NonNegativeNumber);
  train_cmd->add_flag("--cosine", train.cosine, "cosine learning-rate schedule over the run");
  train_cmd->add_option("--loss", train.loss, "cross-entropy, mse or bce")->capture_default_str()
      ->check(CLI::IsMember({"cross-entropy", "mse", "bce"}));
  train_cmd->add_option("--scaling", train.scaling, "feature scaling: mean-std, unit-range (bytes to [0,1]) or none")
      ->capture_default_str()->check(CLI::IsMember({"mean-std", "unit-range", "none"}));
  train_cmd->add_option("--precision", train.precision, "fp32, fp16 or bf16 (mixed precision)")->capture_default_str()
      ->check(CLI::IsMember({"fp32", "fp16", "bf16"}));
  train_cmd->add_option("--patience", train.patience, "early stopping: epochs without a better validation loss")
      ->check(CLI::NonNegativeNumber);
  train_cmd->add_flag("--reduce-on-plateau", train.reduce_on_plateau, "halve the learning rate after 2 epochs without improvement");
  train_cmd->add_option("--keep-best", train.keep_best,
                        "end with the weights of the best epoch by this validation metric, or none")
      ->capture_default_str()->check(CLI::IsMember({"val_loss", "val_accuracy", "none"}));
  train_cmd->add_option("--time-budget", train.time_budget, "stop after this many seconds")->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--threads", train.threads, "CPU threads (0: all cores)")->check(CLI::NonNegativeNumber);
  train_cmd->add_option("--seed", train.seed, "seed of the weights and the shuffling")->capture_default_str();
  train_cmd->add_option("--out", train.out, "run folder: metrics.jsonl, curves.png, checkpoints, model/")->capture_default_str();
  train_cmd->add_flag("!--no-plot", train.plot, "skip the PNG plot");

  tkcli::EvalOptions eval;
  CLI::App* eval_cmd = app.add_subcommand("eval", "metrics of a trained model on a dataset");
  eval_cmd->add_option("--model", eval.model, "a model folder written by train (<out>/model)")->required()
      ->check(CLI::ExistingDirectory);
  eval_cmd->add_option("--data", eval.data.path, "an IDX folder (its t10k files) or a CSV file")->required()
      ->check(CLI::ExistingPath);
  eval_cmd->add_option("--label", eval.data.label_column, "CSV: the label column (default: as in training)");
  eval_cmd->add_flag("!--no-header", eval.data.csv_header, "CSV: the first row is data");
  eval_cmd->add_option("--batch", eval.batch, "samples per batch")->capture_default_str()->check(CLI::PositiveNumber);
  eval_cmd->add_option("--top-k", eval.top_k, "k of the top-k accuracy")->capture_default_str()->check(CLI::PositiveNumber);
  eval_cmd->add_option("--threads", eval.threads, "CPU threads (0: all cores)")->check(CLI::NonNegativeNumber);

  tkcli::PredictOptions predict;
  CLI::App* predict_cmd = app.add_subcommand("predict", "a trained model's predictions for a dataset, as CSV");
  predict_cmd->add_option("--model", predict.model, "a model folder written by train (<out>/model)")->required()
      ->check(CLI::ExistingDirectory);
  predict_cmd->add_option("--data", predict.data.path,
                          "an IDX folder (its t10k files) or a CSV file (features; a label column the header names "
                          "as in training is left out)")->required()
      ->check(CLI::ExistingPath);
  predict_cmd->add_option("--label", predict.data.label_column,
                          "CSV: a label column to leave out, by header name (default: as in training)");
  predict_cmd->add_flag("!--no-header", predict.data.csv_header, "CSV: the first row is data");
  predict_cmd->add_option("--out", predict.out, "the CSV to write")->capture_default_str();
  predict_cmd->add_option("--batch", predict.batch, "samples per batch")->capture_default_str()->check(CLI::PositiveNumber);
  predict_cmd->add_option("--threads", predict.threads, "CPU threads (0: all cores)")->check(CLI::NonNegativeNumber);

  CLI11_PARSE(app, argc, argv);
  try {
    if (train_cmd->parsed()) return tkcli::train(train);
    if (eval_cmd->parsed()) return tkcli::evaluate(eval);
    if (predict_cmd->parsed()) return tkcli::predict(predict);
  } catch (const tkcli::CliError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "trainkit: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "trainkit: %s\n", e.what());
    return 1;
  }
  return 2;
}

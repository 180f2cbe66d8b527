// The CLI's commands and their options, filled from the command line by main.cc.
#pragma once

#include <string>

#include "cli/data.h"

namespace tkcli {

struct TrainOptions {
  std::string spec;
  DataOptions data;
  std::string validation;  // a CSV file evaluated after every epoch
  double validation_split = -1;  // the training set's last fraction for validation (-1: 0.1 for IDX, 0 for CSV)
  std::string out = "trainkit-run";
  std::string loss = "cross-entropy";
  std::string optimizer = "adam";
  std::string scaling = "mean-std";
  std::string precision = "fp32";
  std::string keep_best = "val_loss";  // val_loss, val_accuracy or none
  int64_t epochs = 10, batch = 64, patience = 0;
  double learning_rate = 1e-3, weight_decay = 0, time_budget = 0;
  bool cosine = false, reduce_on_plateau = false, plot = true;
  int threads = 0;
  uint64_t seed = 1;
};

struct EvalOptions {
  std::string model;
  DataOptions data;
  int64_t batch = 256;
  int top_k = 5;
  int threads = 0;
};

struct PredictOptions {
  std::string model;
  DataOptions data;
  std::string out = "predictions.csv";
  int64_t batch = 256;
  int threads = 0;
};

int train(const TrainOptions& options);
int evaluate(const EvalOptions& options);
int predict(const PredictOptions& options);

}  // namespace tkcli

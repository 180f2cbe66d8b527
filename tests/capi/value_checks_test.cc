// Values that would train or predict silently wrong are refused with a clear
// status: BCE targets outside [0, 1], probabilities asked of an MSE model,
// NaN set as a weight. The trainer is unchanged after each refusal.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "capi/trainkit.h"

namespace {

struct Trainer {
  tk_model* model = nullptr;
  tk_trainer* trainer = nullptr;
  explicit Trainer(tk_loss loss) {
    tk_node x, y;
    int64_t shape[1] = {3};
    EXPECT_EQ(tk_model_create(&model), TK_OK);
    EXPECT_EQ(tk_model_input(model, "x", 1, shape, &x), TK_OK);
    EXPECT_EQ(tk_model_linear(model, x, 2, &y), TK_OK);
    EXPECT_EQ(tk_model_output(model, y, "y"), TK_OK);
    EXPECT_EQ(tk_trainer_create(model, loss, nullptr, &trainer), TK_OK);
  }
  ~Trainer() {
    tk_trainer_destroy(trainer);
    tk_model_destroy(model);
  }
  std::vector<float> parameters() {
    int64_t count = 0;
    tk_trainer_num_parameters(trainer, &count);
    std::vector<float> values(static_cast<size_t>(count));
    tk_trainer_copy_parameters(trainer, values.data(), count);
    return values;
  }
};

TEST(ValueChecks, BceTargetsMustBeProbabilities) {
  Trainer t(TK_LOSS_BCE_WITH_LOGITS);
  std::vector<float> x(12, 0.5f), y = {0, 1, 0.25f, 1, 0, 0, 1, 1};
  int64_t x_shape[2] = {4, 3}, y_shape[2] = {4, 2};
  tk_tensor_view xv = tk_view(x.data(), TK_DTYPE_F32, 2, x_shape), yv = tk_view(y.data(), TK_DTYPE_F32, 2, y_shape);
  float loss;
  ASSERT_EQ(tk_trainer_step(t.trainer, &xv, &yv, &loss), TK_OK);
  const std::vector<float> before = t.parameters();
  for (float bad : {1.5f, -0.1f, std::nanf("")}) {
    y[5] = bad;
    EXPECT_EQ(tk_trainer_step(t.trainer, &xv, &yv, &loss), TK_ERROR_INVALID_ARGUMENT) << bad;
    EXPECT_NE(std::string(tk_last_error_message()).find("[0, 1]"), std::string::npos) << tk_last_error_message();
  }
  EXPECT_EQ(t.parameters(), before);
}

TEST(ValueChecks, AnMseModelHasNoProbabilities) {
  Trainer t(TK_LOSS_MSE);
  std::vector<float> x(6, 0.5f), out(4);
  int64_t x_shape[2] = {2, 3}, out_shape[2] = {2, 2};
  tk_tensor_view xv = tk_view(x.data(), TK_DTYPE_F32, 2, x_shape), ov = tk_view(out.data(), TK_DTYPE_F32, 2, out_shape);
  EXPECT_EQ(tk_trainer_predict(t.trainer, &xv, 1, &ov), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(tk_last_error_message()).find("MSE"), std::string::npos) << tk_last_error_message();
  EXPECT_EQ(tk_trainer_predict(t.trainer, &xv, 0, &ov), TK_OK);
}

TEST(ValueChecks, AWeightCannotBeSetToNaN) {
  Trainer t(TK_LOSS_SOFTMAX_CROSS_ENTROPY);
  std::vector<float> bias = {0.25f, std::nanf("")};
  int64_t shape[1] = {2};
  tk_tensor_view view = tk_view(bias.data(), TK_DTYPE_F32, 1, shape);
  const std::vector<float> before = t.parameters();
  EXPECT_EQ(tk_trainer_set_parameter(t.trainer, 1, &view), TK_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(t.parameters(), before);
  bias[1] = 0.5f;
  EXPECT_EQ(tk_trainer_set_parameter(t.trainer, 1, &view), TK_OK);
}

}  // namespace

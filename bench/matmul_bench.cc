// matmul_bench: a Linear layer's forward, relu(x W^T + b), through the CPU
// library trainkit uses today (OpenBLAS sgemm, then one pass for bias and
// ReLU) against oneDNN's matmul with the bias and ReLU fused, in one run:
//   - weights as stored (oneDNN packs them inside each call, as sgemm does);
//   - weights reordered once into the layout oneDNN picks (what a predictor,
//     whose weights never change, could keep);
//   - that reorder repeated before every call (what training would pay).
// The shapes are the Fashion-MNIST MLP's first layer (784 -> 256).
//
//   matmul_bench [--threads N] [--seconds S] [--rows M ...]
#include <cblas.h>
#include <omp.h>

#include <dnnl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace {

using dnnl::memory;

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Seconds per call of fn, over about `seconds` after a warm-up.
double time_per_call(const std::function<void()>& fn, double seconds) {
  for (int i = 0; i < 20; ++i) fn();
  long calls = 0;
  const double start = now();
  do {
    fn();
    ++calls;
  } while (now() - start < seconds);
  return (now() - start) / static_cast<double>(calls);
}

void run(int64_t rows, int64_t in, int64_t out, double seconds) {
  std::vector<float> x(rows * in), w(out * in), b(out), y(rows * out);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i % 23) / 230.0f - 0.05f;
  for (size_t i = 0; i < b.size(); ++i) b[i] = 0.01f * static_cast<float>(i % 5);

  auto blas = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(out),
                static_cast<int>(in), 1.0f, x.data(), static_cast<int>(in), w.data(), static_cast<int>(in), 0.0f,
                y.data(), static_cast<int>(out));
#pragma omp parallel for
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < out; ++c) {
        const float v = y[r * out + c] + b[c];
        y[r * out + c] = v > 0 ? v : 0;
      }
  };

  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const memory::desc x_desc({rows, in}, memory::data_type::f32, memory::format_tag::ab);
  // W is stored [out, in] row-major: the [in, out] matrix in column-major.
  const memory::desc w_stored({in, out}, memory::data_type::f32, memory::format_tag::ba);
  const memory::desc w_any({in, out}, memory::data_type::f32, memory::format_tag::any);
  const memory::desc b_desc({1, out}, memory::data_type::f32, memory::format_tag::ab);
  const memory::desc y_desc({rows, out}, memory::data_type::f32, memory::format_tag::ab);
  dnnl::post_ops relu;
  relu.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(relu);
  const dnnl::matmul::primitive_desc stored_pd(dnnl::matmul::desc(x_desc, w_stored, b_desc, y_desc), attr, engine);
  const dnnl::matmul::primitive_desc packed_pd(dnnl::matmul::desc(x_desc, w_any, b_desc, y_desc), attr, engine);
  memory xm(x_desc, engine, x.data()), wm(w_stored, engine, w.data()), bm(b_desc, engine, b.data()),
      ym(y_desc, engine, y.data()), packed(packed_pd.weights_desc(), engine);
  dnnl::matmul stored_mm(stored_pd), packed_mm(packed_pd);
  dnnl::reorder pack(wm, packed);
  pack.execute(stream, wm, packed);
  stream.wait();
  auto with = [&](dnnl::matmul& mm, memory& weights) {
    mm.execute(stream, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, ym}});
    stream.wait();
  };
  const double flop = 2.0 * static_cast<double>(rows * in * out);
  const double base = time_per_call(blas, seconds);
  struct Case {
    const char* name;
    std::function<void()> fn;
  } cases[] = {
      {"oneDNN, weights as stored", [&] { with(stored_mm, wm); }},
      {"oneDNN, weights packed once", [&] { with(packed_mm, packed); }},
      {"oneDNN, packed every call", [&] {
         pack.execute(stream, wm, packed);
         with(packed_mm, packed);
       }},
  };
  std::printf("%6lld  %-30s %10.1f %10.1f %8s\n", static_cast<long long>(rows), "OpenBLAS sgemm + bias/ReLU pass",
              base * 1e6, flop / base / 1e9, "1.00x");
  for (const Case& c : cases) {
    const double t = time_per_call(c.fn, seconds);
    std::printf("%6s  %-30s %10.1f %10.1f %7.2fx\n", "", c.name, t * 1e6, flop / t / 1e9, base / t);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  double seconds = 0.5;
  std::vector<int64_t> rows;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    else if (!std::strcmp(argv[i], "--rows")) while (i + 1 < argc && argv[i + 1][0] != '-') rows.push_back(std::atoll(argv[++i]));
  }
  if (rows.empty()) rows = {1, 16, 64, 256, 1024};
  omp_set_num_threads(threads);
  openblas_set_num_threads(threads);
  std::printf("relu(x W^T + b), W 256 x 784, f32, %d thread(s)\n", threads);
  std::printf("%6s  %-30s %10s %10s %8s\n", "rows", "path", "us/call", "GFLOP/s", "speed");
  for (int64_t m : rows) run(m, 784, 256, seconds);
  return 0;
}

// Linear read-outs of frozen features: ridge regression (closed form) and L2-regularised
// logistic regression (Newton's method), both on standardised features, with the penalty
// chosen on a held-out validation part of the training rows only. Plain buffers in and out.
#pragma once

#include <cstdint>
#include <vector>

namespace darkmatter::eval {

// A dense row-major matrix.
struct Matrix {
  int64_t rows = 0;            // number of samples
  int64_t cols = 0;            // number of features or outputs
  std::vector<double> values;  // (rows x cols) row-major

  // A rows x cols matrix of zeros.
  static Matrix Zeros(int64_t rows, int64_t cols);
  // Element (r, c).
  double& At(int64_t r, int64_t c) { return values[r * cols + c]; }
  double At(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

struct RegressionSettings {
  std::vector<double> lambdas = {1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0};  // L2 penalties
                                   // tried, per sample on standardised features
  double validation_fraction = 0.2;  // part of the training groups held out to choose lambda
  uint64_t seed = 0;                 // seed of the validation choice
  int logistic_iterations = 50;      // Newton steps of the logistic fit (at most)
};

// y = standardise(x) W + b, fitted by ridge regression.
struct RidgeModel {
  std::vector<double> mean, scale;  // (d) feature standardisation
  Matrix weights;                   // (d x k) on standardised features
  std::vector<double> bias;         // (k)
  double lambda = 0;                // chosen penalty
  double validation_r2 = 0;         // pooled R² of the chosen penalty on the validation part

  // Predictions (n x k) of features x (n x d).
  Matrix Predict(const Matrix& x) const;
};

// P(y = 1) = sigmoid(standardise(x) w + b), fitted by L2-regularised logistic regression.
struct LogisticModel {
  std::vector<double> mean, scale;  // (d) feature standardisation
  std::vector<double> weights;      // (d) on standardised features
  double bias = 0;
  double lambda = 0;               // chosen penalty
  double validation_accuracy = 0;  // of the chosen penalty on the validation part

  // P(y = 1) of each row of x (n x d).
  std::vector<double> Probability(const Matrix& x) const;
  // 1 where P(y = 1) > 0.5, else 0, for each row of x.
  std::vector<int> Classify(const Matrix& x) const;
};

// Fits y (n x k) from x (n x d): minimises (1/n)|y - x̃W - b|² + lambda |W|² with x̃ the
// standardised features. lambda is the entry of settings.lambdas with the best pooled R² on a
// validation part (a seeded choice of whole groups when `groups` (n) names each row's group,
// e.g. its episode, so that frames of one episode never straddle the split; rows otherwise);
// the model is then refitted on all rows. Throws BadInput for mismatched or empty inputs.
RidgeModel FitRidge(const Matrix& x, const Matrix& y, const RegressionSettings& settings,
                    const std::vector<int64_t>& groups = {});

// Fits labels (n, each 0 or 1) from x (n x d) by logistic regression; lambda chosen by the
// validation log-likelihood as in FitRidge. Throws BadInput when a class is missing.
LogisticModel FitLogistic(const Matrix& x, const std::vector<int>& labels,
                          const RegressionSettings& settings,
                          const std::vector<int64_t>& groups = {});

// Pooled coefficient of determination 1 - sum(SSE) / sum(SST) over the columns (SST about
// each column's mean of `truth`); NaN when truth has no variance.
double RSquared(const Matrix& prediction, const Matrix& truth);

// Fraction of equal entries.
double Accuracy(const std::vector<int>& predicted, const std::vector<int>& truth);

}  // namespace darkmatter::eval

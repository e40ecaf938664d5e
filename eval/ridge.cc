#include "eval/ridge.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <string>

#include <Eigen/Dense>

#include "sim/error.h"

namespace darkmatter::eval {
namespace {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

Eigen::Map<const RowMatrix> View(const Matrix& m) {
  return Eigen::Map<const RowMatrix>(m.values.data(), m.rows, m.cols);
}

void CheckShapes(const Matrix& x, int64_t rows, const std::vector<int64_t>& groups,
                 const char* what) {
  if (x.rows < 2) throw sim::BadInput(std::string(what) + ": needs at least 2 samples");
  if (x.cols < 1) throw sim::BadInput(std::string(what) + ": needs at least 1 feature");
  if (static_cast<int64_t>(x.values.size()) != x.rows * x.cols || rows != x.rows) {
    throw sim::BadInput(std::string(what) + ": features and targets disagree in size");
  }
  if (!groups.empty() && static_cast<int64_t>(groups.size()) != x.rows) {
    throw sim::BadInput(std::string(what) + ": groups must name every row");
  }
  for (double v : x.values) {
    if (!std::isfinite(v)) throw sim::BadInput(std::string(what) + ": features are not finite");
  }
}

// Per-column mean and std (a constant column gets scale 1).
void Standardisation(const RowMatrix& x, std::vector<double>* mean, std::vector<double>* scale) {
  mean->assign(x.cols(), 0.0);
  scale->assign(x.cols(), 1.0);
  for (int64_t c = 0; c < x.cols(); ++c) {
    const double m = x.col(c).mean();
    const double var = (x.col(c).array() - m).square().mean();
    (*mean)[c] = m;
    (*scale)[c] = var > 1e-24 ? std::sqrt(var) : 1.0;
  }
}

RowMatrix Standardise(const RowMatrix& x, const std::vector<double>& mean,
                      const std::vector<double>& scale) {
  RowMatrix out(x.rows(), x.cols());
  for (int64_t c = 0; c < x.cols(); ++c) out.col(c) = (x.col(c).array() - mean[c]) / scale[c];
  return out;
}

RowMatrix Rows(const RowMatrix& m, const std::vector<int64_t>& rows) {
  RowMatrix out(static_cast<int64_t>(rows.size()), m.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(static_cast<int64_t>(i)) = m.row(rows[i]);
  return out;
}

// Splits row indices into (fit, validation): a seeded choice of whole groups (rows when
// there are fewer than two groups); both parts non-empty.
void ValidationSplit(int64_t n, const std::vector<int64_t>& groups, double fraction,
                     uint64_t seed, std::vector<int64_t>* fit, std::vector<int64_t>* validation) {
  std::vector<int64_t> keys(n);
  if (!groups.empty()) {
    keys = groups;
  } else {
    std::iota(keys.begin(), keys.end(), 0);
  }
  std::vector<int64_t> distinct = keys;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() < 2) {  // one group: split its rows
    keys.resize(n);
    std::iota(keys.begin(), keys.end(), 0);
    distinct = keys;
  }
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + 101);
  for (size_t i = distinct.size(); i > 1; --i) std::swap(distinct[i - 1], distinct[rng() % i]);
  const size_t held = std::clamp<size_t>(
      static_cast<size_t>(std::llround(fraction * static_cast<double>(distinct.size()))), 1,
      distinct.size() - 1);
  std::vector<int64_t> held_keys(distinct.begin(), distinct.begin() + held);
  std::sort(held_keys.begin(), held_keys.end());
  fit->clear();
  validation->clear();
  for (int64_t r = 0; r < n; ++r) {
    const bool is_held = std::binary_search(held_keys.begin(), held_keys.end(), keys[r]);
    (is_held ? validation : fit)->push_back(r);
  }
}

struct RidgeSolution {
  RowMatrix weights;
  Eigen::RowVectorXd bias;
};

// Ridge on already standardised features.
RidgeSolution SolveRidge(const RowMatrix& x, const RowMatrix& y, double lambda) {
  const Eigen::RowVectorXd x_mean = x.colwise().mean(), y_mean = y.colwise().mean();
  const RowMatrix xc = x.rowwise() - x_mean, yc = y.rowwise() - y_mean;
  const double n = static_cast<double>(x.rows());
  Eigen::MatrixXd gram = xc.transpose() * xc;
  gram.diagonal().array() += n * lambda + 1e-12 * n;
  RidgeSolution s;
  s.weights = gram.ldlt().solve(Eigen::MatrixXd(xc.transpose() * yc));
  s.bias = y_mean - x_mean * s.weights;
  return s;
}

double PooledR2(const RowMatrix& prediction, const RowMatrix& truth) {
  double sse = 0, sst = 0;
  for (int64_t c = 0; c < truth.cols(); ++c) {
    const double m = truth.col(c).mean();
    sse += (prediction.col(c) - truth.col(c)).squaredNorm();
    sst += (truth.col(c).array() - m).square().sum();
  }
  if (sst <= 0) return std::numeric_limits<double>::quiet_NaN();
  return 1.0 - sse / sst;
}

struct LogisticSolution {
  Eigen::VectorXd weights;
  double bias = 0;
};

double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// Mean log-loss + lambda |w|² (bias unpenalised).
double LogisticObjective(const RowMatrix& x, const Eigen::VectorXd& y, const Eigen::VectorXd& w,
                         double b, double lambda) {
  const Eigen::VectorXd logits = (x * w).array() + b;
  double loss = 0;
  for (int64_t i = 0; i < x.rows(); ++i) {
    const double z = logits[i];
    // log(1 + exp(z)) - y z, computed stably.
    loss += std::max(z, 0.0) + std::log1p(std::exp(-std::abs(z))) - y[i] * z;
  }
  return loss / static_cast<double>(x.rows()) + lambda * w.squaredNorm();
}

// Damped Newton's method on standardised features.
LogisticSolution SolveLogistic(const RowMatrix& x, const Eigen::VectorXd& y, double lambda,
                               int iterations) {
  const int64_t n = x.rows(), d = x.cols();
  RowMatrix xa(n, d + 1);
  xa.leftCols(d) = x;
  xa.col(d).setOnes();
  Eigen::VectorXd theta = Eigen::VectorXd::Zero(d + 1);
  Eigen::VectorXd penalty = Eigen::VectorXd::Constant(d + 1, 2.0 * lambda + 1e-10);
  penalty[d] = 1e-10;
  double objective = LogisticObjective(x, y, theta.head(d), theta[d], lambda);
  for (int it = 0; it < iterations; ++it) {
    const Eigen::VectorXd p = (xa * theta).unaryExpr([](double v) { return Sigmoid(v); });
    Eigen::VectorXd gradient = xa.transpose() * (p - y) / static_cast<double>(n);
    gradient.head(d) += 2.0 * lambda * theta.head(d);
    const Eigen::VectorXd w = (p.array() * (1.0 - p.array())).matrix();
    Eigen::MatrixXd hessian = xa.transpose() * w.asDiagonal() * xa / static_cast<double>(n);
    hessian.diagonal() += penalty;
    const Eigen::VectorXd step = hessian.ldlt().solve(gradient);
    double t = 1.0, next = objective;
    Eigen::VectorXd candidate = theta;
    for (int halving = 0; halving < 30; ++halving, t *= 0.5) {
      candidate = theta - t * step;
      next = LogisticObjective(x, y, candidate.head(d), candidate[d], lambda);
      if (next <= objective) break;
    }
    if (!(next <= objective)) break;
    const double improvement = objective - next;
    theta = candidate;
    objective = next;
    if (improvement < 1e-12) break;
  }
  return {theta.head(d), theta[d]};
}

double MeanLogLoss(const RowMatrix& x, const Eigen::VectorXd& y, const LogisticSolution& s) {
  return LogisticObjective(x, y, s.weights, s.bias, 0.0);
}

double LogisticAccuracy(const RowMatrix& x, const Eigen::VectorXd& y, const LogisticSolution& s) {
  const Eigen::VectorXd logits = (x * s.weights).array() + s.bias;
  int64_t right = 0;
  for (int64_t i = 0; i < x.rows(); ++i) right += ((logits[i] > 0) == (y[i] > 0.5));
  return static_cast<double>(right) / static_cast<double>(x.rows());
}

void CheckLambdas(const RegressionSettings& s) {
  if (s.lambdas.empty()) throw sim::BadInput("regression: no penalty (lambda) to try");
  for (double l : s.lambdas) {
    if (!(l >= 0)) throw sim::BadInput("regression: lambda " + std::to_string(l) + " < 0");
  }
}

}  // namespace

Matrix Matrix::Zeros(int64_t rows, int64_t cols) {
  return Matrix{rows, cols, std::vector<double>(rows * cols, 0.0)};
}

Matrix RidgeModel::Predict(const Matrix& x) const {
  if (x.cols != static_cast<int64_t>(mean.size())) {
    throw sim::BadInput("ridge: features have " + std::to_string(x.cols) + " columns, expected " +
                        std::to_string(mean.size()));
  }
  const RowMatrix xs = Standardise(View(x), mean, scale);
  const RowMatrix y = (xs * View(weights)).rowwise() +
                      Eigen::Map<const Eigen::RowVectorXd>(bias.data(), bias.size());
  Matrix out = Matrix::Zeros(x.rows, weights.cols);
  Eigen::Map<RowMatrix>(out.values.data(), out.rows, out.cols) = y;
  return out;
}

std::vector<double> LogisticModel::Probability(const Matrix& x) const {
  if (x.cols != static_cast<int64_t>(mean.size())) {
    throw sim::BadInput("logistic: features have " + std::to_string(x.cols) +
                        " columns, expected " + std::to_string(mean.size()));
  }
  const RowMatrix xs = Standardise(View(x), mean, scale);
  const Eigen::VectorXd logits =
      (xs * Eigen::Map<const Eigen::VectorXd>(weights.data(), weights.size())).array() + bias;
  std::vector<double> p(x.rows);
  for (int64_t i = 0; i < x.rows; ++i) p[i] = Sigmoid(logits[i]);
  return p;
}

std::vector<int> LogisticModel::Classify(const Matrix& x) const {
  std::vector<int> out;
  for (double p : Probability(x)) out.push_back(p > 0.5 ? 1 : 0);
  return out;
}

RidgeModel FitRidge(const Matrix& x, const Matrix& y, const RegressionSettings& settings,
                    const std::vector<int64_t>& groups) {
  CheckShapes(x, y.rows, groups, "ridge");
  CheckLambdas(settings);
  if (y.cols < 1 || static_cast<int64_t>(y.values.size()) != y.rows * y.cols) {
    throw sim::BadInput("ridge: targets are empty or mis-shaped");
  }
  RidgeModel model;
  Standardisation(View(x), &model.mean, &model.scale);
  const RowMatrix xs = Standardise(View(x), model.mean, model.scale);
  const RowMatrix ys = View(y);
  model.lambda = settings.lambdas.front();
  model.validation_r2 = std::numeric_limits<double>::quiet_NaN();
  if (settings.lambdas.size() > 1 && x.rows >= 4) {
    std::vector<int64_t> fit, validation;
    ValidationSplit(x.rows, groups, settings.validation_fraction, settings.seed, &fit,
                    &validation);
    const RowMatrix xf = Rows(xs, fit), yf = Rows(ys, fit);
    const RowMatrix xv = Rows(xs, validation), yv = Rows(ys, validation);
    double best = -std::numeric_limits<double>::infinity();
    for (double lambda : settings.lambdas) {
      const RidgeSolution s = SolveRidge(xf, yf, lambda);
      const RowMatrix prediction = (xv * s.weights).rowwise() + s.bias;
      double r2 = PooledR2(prediction, yv);
      if (std::isnan(r2)) r2 = -(prediction - yv).squaredNorm();  // constant validation targets
      if (r2 > best) {
        best = r2;
        model.lambda = lambda;
        model.validation_r2 = r2;
      }
    }
  }
  const RidgeSolution s = SolveRidge(xs, ys, model.lambda);
  model.weights = Matrix::Zeros(x.cols, y.cols);
  Eigen::Map<RowMatrix>(model.weights.values.data(), x.cols, y.cols) = s.weights;
  model.bias.assign(s.bias.data(), s.bias.data() + s.bias.size());
  return model;
}

LogisticModel FitLogistic(const Matrix& x, const std::vector<int>& labels,
                          const RegressionSettings& settings, const std::vector<int64_t>& groups) {
  CheckShapes(x, static_cast<int64_t>(labels.size()), groups, "logistic");
  CheckLambdas(settings);
  Eigen::VectorXd y(x.rows);
  int64_t positives = 0;
  for (int64_t i = 0; i < x.rows; ++i) {
    if (labels[i] != 0 && labels[i] != 1) throw sim::BadInput("logistic: labels must be 0 or 1");
    y[i] = labels[i];
    positives += labels[i];
  }
  if (positives == 0 || positives == x.rows) {
    throw sim::BadInput("logistic: the training labels are all " +
                        std::to_string(positives == 0 ? 0 : 1) +
                        " (a classifier needs both classes)");
  }
  LogisticModel model;
  Standardisation(View(x), &model.mean, &model.scale);
  const RowMatrix xs = Standardise(View(x), model.mean, model.scale);
  model.lambda = settings.lambdas.front();
  model.validation_accuracy = std::numeric_limits<double>::quiet_NaN();
  if (settings.lambdas.size() > 1 && x.rows >= 4) {
    std::vector<int64_t> fit, validation;
    ValidationSplit(x.rows, groups, settings.validation_fraction, settings.seed, &fit,
                    &validation);
    const RowMatrix xf = Rows(xs, fit), xv = Rows(xs, validation);
    Eigen::VectorXd yf(fit.size()), yv(validation.size());
    for (size_t i = 0; i < fit.size(); ++i) yf[i] = y[fit[i]];
    for (size_t i = 0; i < validation.size(); ++i) yv[i] = y[validation[i]];
    if (yf.sum() > 0 && yf.sum() < static_cast<double>(yf.size())) {  // both classes to fit
      double best = std::numeric_limits<double>::infinity();
      for (double lambda : settings.lambdas) {
        const LogisticSolution s =
            SolveLogistic(xf, yf, lambda, settings.logistic_iterations);
        const double loss = MeanLogLoss(xv, yv, s);
        if (loss < best) {
          best = loss;
          model.lambda = lambda;
          model.validation_accuracy = LogisticAccuracy(xv, yv, s);
        }
      }
    }
  }
  const LogisticSolution s = SolveLogistic(xs, y, model.lambda, settings.logistic_iterations);
  model.weights.assign(s.weights.data(), s.weights.data() + s.weights.size());
  model.bias = s.bias;
  return model;
}

double RSquared(const Matrix& prediction, const Matrix& truth) {
  if (prediction.rows != truth.rows || prediction.cols != truth.cols) {
    throw sim::BadInput("R²: prediction and truth differ in shape");
  }
  if (truth.rows == 0) return std::numeric_limits<double>::quiet_NaN();
  return PooledR2(View(prediction), View(truth));
}

double Accuracy(const std::vector<int>& predicted, const std::vector<int>& truth) {
  if (predicted.size() != truth.size()) throw sim::BadInput("accuracy: sizes differ");
  if (truth.empty()) return std::numeric_limits<double>::quiet_NaN();
  int64_t right = 0;
  for (size_t i = 0; i < truth.size(); ++i) right += predicted[i] == truth[i];
  return static_cast<double>(right) / static_cast<double>(truth.size());
}

}  // namespace darkmatter::eval

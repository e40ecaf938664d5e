#include "eval/futures.h"

#include <cmath>

#include <torch/torch.h>

#include "eval/model_source.h"
#include "eval/ridge.h"
#include "sim/error.h"
#include "sim/settings.h"
#include "worldmodel/device.h"

namespace darkmatter::eval {
namespace {

nlohmann::json Number(double v) { return std::isfinite(v) ? nlohmann::json(v) : nullptr; }

Matrix ToMatrix(const torch::Tensor& t) {
  const auto d = t.to(torch::kCPU, torch::kFloat64).contiguous();
  Matrix m{d.size(0), d.size(1), {}};
  m.values.assign(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  return m;
}

}  // namespace

nlohmann::json RunFutures(const FuturesSettings& s) {
  if (s.models.empty()) throw sim::BadInput("--model is required");
  if (s.samples < 1 || s.samples > sim::kMaxSamples) {
    throw sim::BadInput("--samples " + std::to_string(s.samples) + ": must be in [1, " +
                        std::to_string(sim::kMaxSamples) + "]");
  }
  const DataFile data = LoadDataFile(s.data, "--data");
  const bool own_train = !s.train.empty();
  const DataFile train = own_train ? LoadDataFile(s.train, "--train") : DataFile{};
  std::vector<const sim::Episode*> fit, scored;
  std::vector<int> fit_labels, scored_labels;
  auto add = [&](const DataFile& file, const sim::Episode& e, bool to_fit) {
    const double label = EpisodeScalar(e, s.label, file);
    if (label != 0.0 && label != 1.0) {
      throw sim::BadInput("'" + file.path + "': label '" + s.label + "' is " +
                          std::to_string(label) + ", not 0 or 1");
    }
    (to_fit ? fit : scored).push_back(&e);
    (to_fit ? fit_labels : scored_labels).push_back(static_cast<int>(label));
  };
  if (own_train) {
    for (const sim::Episode& e : train.episodes) add(train, e, true);
    for (const sim::Episode& e : data.episodes) add(data, e, false);
  } else {
    for (size_t i = 0; i < data.episodes.size(); ++i) add(data, data.episodes[i], i % 2 == 0);
  }
  if (scored.empty()) throw sim::BadInput("--data '" + data.path + "': no episode to score");
  const torch::Device device = worldmodel::ResolveDevice(s.device);
  std::vector<ModelSource> models;
  for (const std::string& spec : s.models) {
    models.push_back(ResolveModel(spec, data, s.input, s.seed, device));
    if (own_train) CheckModelReadsData(models.back(), train);
  }
  MakeNamesUnique(&models);

  double simulated = 0;
  for (int label : scored_labels) simulated += label;
  simulated /= static_cast<double>(scored_labels.size());
  nlohmann::json out = {{"protocol", "futures"},
                        {"data", data.Describe()},
                        {"content_hash", data.content_hash},
                        {"split", data.split},
                        {"label", s.label},
                        {"samples", s.samples},
                        {"probe_fitted_on", own_train ? "--train" : "even episodes of --data"},
                        {"n_scored", static_cast<int64_t>(scored.size())},
                        {"simulated_frequency", {{"0", 1.0 - simulated}, {"1", simulated}}}};
  if (own_train) out["train"] = train.Describe();
  RegressionSettings regression;
  regression.seed = s.seed;
  regression.lambdas = {1e-3, 1e-2, 1e-1, 1.0, 10.0};
  nlohmann::json results = nlohmann::json::array();
  for (ModelSource& model : models) {
    torch::NoGradGuard no_grad;
    torch::manual_seed(s.seed);
    const int64_t c = model.Options().context;
    const bool stochastic = model.model == "stochastic";
    // The probe: target-encoder features of true final frames.
    std::vector<torch::Tensor> finals;
    for (const sim::Episode* e : fit) {
      const auto input = ModelInput(model, *e);
      finals.push_back(model.net->EncodeTarget(input.observations).squeeze(0)[-1]);
    }
    const LogisticModel probe = FitLogistic(ToMatrix(torch::stack(finals)), fit_labels, regression);
    double best_error = 0, mean_error = 0, deterministic_error = 0, right = 0, deterministic_right = 0,
           both = 0, sample_hits = 0, any_hit = 0;
    std::vector<int> true_final_predictions;
    int64_t used = 0, total_samples = 0;
    for (size_t i = 0; i < scored.size(); ++i) {
      const auto input = ModelInput(model, *scored[i]);
      const int64_t l = input.observations.size(1);
      if (l <= c) continue;
      const auto target = model.net->EncodeTarget(input.observations).squeeze(0);  // (L x D)
      const auto context = model.net->Encode(input.observations).narrow(1, 0, c);    // (1 x C x D)
      const auto actions = input.actions.narrow(1, c - 1, l - c);                     // (1 x M x A)
      const auto final_target = target[-1];
      true_final_predictions.push_back(probe.Classify(ToMatrix(final_target.unsqueeze(0)))[0]);
      const auto deterministic = model.net->Rollout(context, actions).select(1, -1);  // (1 x D)
      torch::Tensor noise;
      if (stochastic) noise = torch::randn({s.samples, model.Options().noise_dim}, context.options());
      const auto sampled = model.net->Rollout(context.repeat({s.samples, 1, 1}),
                                              actions.repeat({s.samples, 1, 1}), noise)
                               .select(1, -1);  // (K x D)
      const auto errors = (sampled - final_target).abs().mean(1);  // (K)
      best_error += errors.min().item<double>();
      mean_error += errors.mean().item<double>();
      deterministic_error += (deterministic[0] - final_target).abs().mean().item<double>();
      const auto outcomes = probe.Classify(ToMatrix(sampled));
      int rights = 0;
      for (int o : outcomes) rights += o;
      right += rights;
      total_samples += s.samples;
      both += rights > 0 && rights < s.samples;
      for (int o : outcomes) sample_hits += o == scored_labels[i];
      any_hit += (scored_labels[i] == 1 ? rights > 0 : rights < s.samples);
      deterministic_right += probe.Classify(ToMatrix(deterministic))[0];
      ++used;
    }
    if (used == 0) throw sim::BadInput("--data '" + data.path + "': episodes too short for the model's context");
    const double n = static_cast<double>(used);
    const double predicted = right / static_cast<double>(total_samples);
    int64_t probe_right = 0;
    for (size_t i = 0; i < true_final_predictions.size(); ++i) {
      probe_right += true_final_predictions[i] == scored_labels[i];
    }
    nlohmann::json result = model.Describe();
    result["stochastic"] = stochastic;
    result["best_of_k_error"] = best_error / n;
    result["mean_sample_error"] = mean_error / n;
    result["deterministic_error"] = deterministic_error / n;
    result["predicted_frequency"] = {{"0", 1.0 - predicted}, {"1", predicted}};
    result["deterministic_frequency"] = {{"0", 1.0 - deterministic_right / n},
                                         {"1", deterministic_right / n}};
    result["total_variation"] = std::abs(predicted - simulated);
    result["total_variation_nominal"] = std::abs(predicted - 0.5);
    result["episodes_with_both_outcomes"] = both / n;
    result["sample_outcome_accuracy"] = sample_hits / static_cast<double>(total_samples);
    result["best_of_k_outcome_hit"] = any_hit / n;
    result["probe_accuracy_true_final"] =
        Number(static_cast<double>(probe_right) / static_cast<double>(true_final_predictions.size()));
    result["probe_lambda"] = probe.lambda;
    results.push_back(result);
  }
  out["model"] = results[0]["spec"];
  for (const char* key : {"best_of_k_error", "deterministic_error", "predicted_frequency",
                          "total_variation"}) {
    out[key] = results[0][key];
  }
  out["models"] = results;
  return out;
}

}  // namespace darkmatter::eval

// darkmatter eval voe|ocp|probe|futures --model CKPT|untrained:NAME ... [--json]
// The representation protocols P1-P3 (docs in eval/voe.h, eval/ocp.h, eval/probe.h) and the
// multiple-futures check (eval/futures.h); several --model flags are compared side by side.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "apps/seed_option.h"
#include "apps/commands.h"
#include "eval/futures.h"
#include "eval/ocp.h"
#include "eval/probe.h"
#include "eval/voe.h"
#include "sim/error.h"
#include "sim/settings.h"

namespace darkmatter::apps {
namespace {

// Splits "a,b,c" (empty entries dropped).
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  for (char ch : text + ",") {
    if (ch != ',') {
      item += ch;
    } else if (!item.empty()) {
      items.push_back(item);
      item.clear();
    }
  }
  return items;
}

// Parses "0,1,4" into integers; BadInput naming the flag and the value.
std::vector<int> IntList(const std::string& flag, const std::string& text) {
  std::vector<int> values;
  for (const std::string& item : SplitList(text)) {
    size_t used = 0;
    int value = 0;
    try {
      value = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || item.empty()) {
      throw sim::BadInput(flag + " " + text + ": '" + item + "' is not an integer");
    }
    values.push_back(value);
  }
  return values;
}

std::string Fixed(const nlohmann::json& v, int digits = 3) {
  if (!v.is_number()) return "n/a";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v.get<double>());
  return buffer;
}

std::string Ci(const nlohmann::json& pair) {
  if (!pair.is_array() || pair.size() != 2) return "";
  return " [" + Fixed(pair[0]) + ", " + Fixed(pair[1]) + "]";
}

void Print(const nlohmann::json& result, bool json) {
  if (json) std::printf("%s\n", result.dump(2).c_str());
}

// Options shared by every protocol.
struct Common {
  std::vector<std::string> models;
  std::string data;
  std::string input;
  std::string device = "cpu";
  uint64_t seed = 0;
  bool json = false;

  // Fills the fields every protocol's settings share.
  template <typename Settings>
  void CopyTo(Settings* s) const {
    s->models = models;
    s->data = data;
    s->input = input;
    s->device = device;
    s->seed = seed;
  }
};

void AddCommon(CLI::App* cmd, Common* c) {
  cmd->add_option("--model", c->models,
                  "Run directory, checkpoint.pt, untrained:NAME (jepa, generative, ...) or "
                  "untrained:RUN_DIR; repeat to compare")
      ->required();
  cmd->add_option("--input", c->input, "Untrained models: state | pixels (default: pixels when "
                                       "the file has frames)");
  cmd->add_option("--device", c->device, "auto | cpu | cuda[:N]")->capture_default_str();
  cmd->add_option("--seed", c->seed, "Seed of untrained networks, noise and resampling")
      ->check(SeedValidator())->capture_default_str();
  cmd->add_flag("--json", c->json, "Print the results as JSON");
}

void AddVoe(CLI::App* eval) {
  auto* cmd = eval->add_subcommand("voe", "P1 violation of expectation on matched twin sets");
  auto c = std::make_shared<Common>();
  auto s = std::make_shared<eval::VoeSettings>();
  AddCommon(cmd, c.get());
  cmd->add_option("--data", c->data, "Twin sets file (rollout --twins)")->required();
  cmd->add_flag("--no-nulls", [s](int64_t) { s->nulls = false; },
                "Leave out the motion-energy nulls and the automatic untrained network");
  cmd->add_option("--untrained-inits", s->untrained_inits,
                  "Initialisations an untrained null averages (each listed with its own score)")
      ->capture_default_str();
  cmd->add_option("--bootstrap", s->bootstrap, "Bootstrap replicates")
      ->check(CLI::Range(1, sim::kMaxSamples))->capture_default_str();
  cmd->add_option("--curves", s->curves, "Write every clip's per-frame surprise to this JSON file");
  cmd->callback([c, s] {
    c->CopyTo(s.get());
    const auto r = eval::RunVoe(*s);
    if (c->json) return Print(r, true);
    std::printf("voe on %s (hash %s, split %s): %s\n", c->data.c_str(),
                r["content_hash"].get<std::string>().c_str(),
                r["split"].get<std::string>().c_str(), r["window"].get<std::string>().c_str());
    std::printf("%lld matched sets (%lld skipped: not made, or beyond the scored frames)\n",
                static_cast<long long>(r["n_sets"].get<int64_t>()),
                static_cast<long long>(r["n_skipped_sets"].get<int64_t>()));
    for (const auto& m : r["models"]) {
      std::printf("%-26s sets %s%s  pairwise %s%s  auroc %s%s%s\n",
                  m["name"].get<std::string>().c_str(), Fixed(m["set_accuracy"]).c_str(),
                  Ci(m["set_accuracy_ci"]).c_str(), Fixed(m["pairwise_accuracy"]).c_str(),
                  Ci(m["pairwise_accuracy_ci"]).c_str(), Fixed(m["auroc"]).c_str(),
                  Ci(m["auroc_ci"]).c_str(), m.contains("null") ? "  (null)" : "");
      for (const auto& [principle, entry] : m["per_principle_set"].items()) {
        std::printf("  %-24s sets %s%s (n %lld)", principle.c_str(), Fixed(entry["accuracy"]).c_str(),
                    Ci(entry["ci"]).c_str(), static_cast<long long>(entry["n"].get<int64_t>()));
        for (const auto& [direction, d] : m["per_direction"].items()) {
          if (direction.rfind(principle + "/", 0) != 0) continue;
          std::printf("  %s %s", direction.substr(principle.size() + 1).c_str(),
                      Fixed(d["accuracy"]).c_str());
        }
        std::printf("\n");
      }
    }
  });
}

void AddOcp(CLI::App* eval) {
  auto* cmd = eval->add_subcommand("ocp", "P2 outcome readout (red object touches the zone)");
  auto c = std::make_shared<Common>();
  auto s = std::make_shared<eval::OcpSettings>();
  AddCommon(cmd, c.get());
  cmd->add_option("--train", s->train, "Readout file the logistic regression is fitted on")
      ->required();
  cmd->add_option("--data", c->data, "Test file")->required();
  cmd->add_option("--ood", s->ood, "Out-of-distribution file");
  cmd->add_option("--frames", s->frames, "Frames seen (K)")->capture_default_str();
  cmd->add_option("--label", s->label, "Binary episode label")->capture_default_str();
  cmd->add_option("--bootstrap", s->bootstrap, "Bootstrap replicates")
      ->check(CLI::Range(1, sim::kMaxSamples))->capture_default_str();
  cmd->callback([c, s] {
    c->CopyTo(s.get());
    const auto r = eval::RunOcp(*s);
    if (c->json) return Print(r, true);
    std::printf("ocp: %s from the first %d frames; readout %s, test %s\n", s->label.c_str(),
                s->frames, s->train.c_str(), c->data.c_str());
    for (const auto& m : r["models"]) {
      std::printf("%-24s train %s  test %s%s (majority %s)", m["name"].get<std::string>().c_str(),
                  Fixed(m["train"]["accuracy"]).c_str(), Fixed(m["test"]["accuracy"]).c_str(),
                  Ci(m["test"]["ci"]).c_str(), Fixed(m["test"]["majority_baseline"]).c_str());
      if (m.contains("ood")) {
        std::printf("  ood %s%s", Fixed(m["ood"]["accuracy"]).c_str(), Ci(m["ood"]["ci"]).c_str());
      }
      std::printf("\n");
    }
  });
}

void AddProbe(CLI::App* eval) {
  auto* cmd = eval->add_subcommand("probe", "P3 ridge probes and label efficiency");
  auto c = std::make_shared<Common>();
  auto s = std::make_shared<eval::ProbeSettings>();
  auto fields = std::make_shared<std::string>("positions,velocities");
  auto horizons = std::make_shared<std::string>("0,1,4");
  auto labels = std::make_shared<std::string>("10,100,1000,10000");
  AddCommon(cmd, c.get());
  cmd->add_option("--train", s->train, "File the probes learn from")->required();
  cmd->add_option("--data", c->data, "Held-out file (R²)")->required();
  cmd->add_option("--fields", *fields, "Truth fields")->capture_default_str();
  cmd->add_option("--horizons", *horizons, "k: 0 probes z_t, k > 0 the prediction of t+k")
      ->capture_default_str();
  cmd->add_option("--labels", *labels, "Label budgets (frames); empty: no curve")
      ->capture_default_str();
  cmd->add_option("--label-field", s->label_field, "Field of the label-efficiency curve "
                                                   "(default: the first of --fields)");
  cmd->add_option("--supervised-steps", s->supervised_steps,
                  "Steps of each supervised baseline (0: none)")
      ->capture_default_str();
  cmd->callback([c, s, fields, horizons, labels] {
    c->CopyTo(s.get());
    s->fields = SplitList(*fields);
    s->horizons = IntList("--horizons", *horizons);
    s->labels = IntList("--labels", *labels);
    const auto r = eval::RunProbe(*s);
    if (c->json) return Print(r, true);
    std::printf("probe: R² on %s (probes fitted on %s)\n", c->data.c_str(), s->train.c_str());
    for (const auto& [name, per_field] : r["r2"].items()) {
      for (const auto& [field, per_horizon] : per_field.items()) {
        std::printf("%-24s %-12s", name.c_str(), field.c_str());
        for (const auto& [k, value] : per_horizon.items()) {
          std::printf("  k=%s %s", k.c_str(), Fixed(value).c_str());
        }
        std::printf("\n");
      }
    }
    for (const auto& [field, per_horizon] : r["copy_last_frame"].items()) {
      std::printf("%-24s %-12s", "copy last frame", field.c_str());
      for (const auto& [k, value] : per_horizon.items()) {
        std::printf("  k=%s %s", k.c_str(), Fixed(value).c_str());
      }
      std::printf("\n");
    }
    if (!r["label_efficiency"].empty()) {
      std::printf("label efficiency (%s, R² against labelled frames):\n",
                  r["label_efficiency_field"].get<std::string>().c_str());
      for (const auto& [name, curve] : r["label_efficiency"].items()) {
        std::printf("%-24s", name.c_str());
        for (const auto& [n, value] : curve.items()) {
          std::printf("  %s: %s", n.c_str(), Fixed(value).c_str());
        }
        std::printf("\n");
      }
    }
  });
}

void AddFutures(CLI::App* eval) {
  auto* cmd = eval->add_subcommand("futures", "Multiple futures on physics/pegs (left/right)");
  auto c = std::make_shared<Common>();
  auto s = std::make_shared<eval::FuturesSettings>();
  AddCommon(cmd, c.get());
  cmd->add_option("--data", c->data, "Pegs file")->required();
  cmd->add_option("--train", s->train, "File the outcome probe is fitted on (default: the even "
                                       "episodes of --data; the odd ones are scored)");
  cmd->add_option("--samples", s->samples, "Sampled futures per episode (K)")
      ->check(CLI::Range(1, sim::kMaxSamples))->capture_default_str();
  cmd->add_option("--label", s->label, "Binary episode label")->capture_default_str();
  cmd->callback([c, s] {
    c->CopyTo(s.get());
    const auto r = eval::RunFutures(*s);
    if (c->json) return Print(r, true);
    std::printf("futures on %s: %lld episodes scored, simulator P(1) = %s\n", c->data.c_str(),
                static_cast<long long>(r["n_scored"].get<int64_t>()),
                Fixed(r["simulated_frequency"]["1"]).c_str());
    for (const auto& m : r["models"]) {
      std::printf("%-24s best-of-%d %s  mean %s  deterministic %s  P(1) %s  TV %s  both %s\n",
                  m["name"].get<std::string>().c_str(), s->samples,
                  Fixed(m["best_of_k_error"]).c_str(), Fixed(m["mean_sample_error"]).c_str(),
                  Fixed(m["deterministic_error"]).c_str(),
                  Fixed(m["predicted_frequency"]["1"]).c_str(), Fixed(m["total_variation"]).c_str(),
                  Fixed(m["episodes_with_both_outcomes"]).c_str());
    }
  });
}

}  // namespace

void AddEvalCommand(CLI::App& app) {
  auto* eval = app.add_subcommand("eval", "Evaluate world models: voe | ocp | probe | futures");
  eval->require_subcommand(1);
  AddVoe(eval);
  AddOcp(eval);
  AddProbe(eval);
  AddFutures(eval);
  AddEvalPlanCommand(*eval);  // apps/cmd_eval_plan.cc
}

}  // namespace darkmatter::apps

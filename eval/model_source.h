// Models and data files as the evaluation protocols see them: `--model CKPT` (a run directory
// or its checkpoint.pt), `--model untrained:NAME` (a freshly initialised, seeded network of
// model NAME shaped for the data) or `--model untrained:CKPT` (the same architecture as a
// checkpoint, freshly initialised); episode files with their hash and split; frozen features.
// Internal to eval/ (uses torch); the protocols' own headers are torch-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include "sim/episode.h"
#include "worldmodel/clips.h"
#include "worldmodel/world_model.h"

namespace darkmatter::eval {

// An episode file read completely.
struct DataFile {
  std::string path;                   // as given
  std::string task;                   // the file's task
  std::string content_hash;           // 16 hex digits naming its clips
  std::string split;                  // train | readout | test | ood ("" when not recorded)
  std::vector<sim::Episode> episodes;

  // True when every episode has rendered frames.
  bool HasFrames() const;
  // {"path", "task", "content_hash", "split", "episodes"}.
  nlohmann::json Describe() const;
};

// Reads `path`; throws BadInput naming `flag` (e.g. "--data") and the file when it does not
// exist, is not a valid episode file or holds no episodes.
DataFile LoadDataFile(const std::string& path, const std::string& flag);

// A model ready for evaluation (eval mode, on its device).
struct ModelSource {
  std::string spec;        // as given to --model
  std::string name;        // short label: the run directory's name or "untrained:jepa"
  std::string model;       // jepa | generative | supervised | stochastic
  bool untrained = false;  // freshly initialised (the null)
  int64_t step = 0;        // optimiser steps it was trained for
  std::string content_hash;          // of its training data ("" when untrained)
  std::vector<std::string> labels;   // supervised: its label fields
  std::shared_ptr<worldmodel::WorldModelImpl> net;
  torch::Device device = torch::kCPU;

  const worldmodel::ModelOptions& Options() const { return net->options(); }
  // {"spec", "name", "model", "input", "untrained", "step", "content_hash"}.
  nlohmann::json Describe() const;
};

// Resolves a --model spec against `data` (which shapes untrained networks: `input` state |
// pixels, "" = pixels when the file has frames, else state; state normalisation from the
// file). Untrained networks are initialised from torch::manual_seed(seed). Checks that the
// model reads the file (CheckModelReadsData). Throws BadInput naming the spec.
ModelSource ResolveModel(const std::string& spec, const DataFile& data, const std::string& input,
                         uint64_t seed, torch::Device device);

// Throws BadInput naming the model and the file when the model cannot read the file's
// episodes: a pixel model on a file without frames or with frames of another size, a state
// model whose observation size differs, or another action size.
void CheckModelReadsData(const ModelSource& model, const DataFile& data);

// The model's input of a whole episode (1 x T+1 x ...) and its actions (1 x T x A).
worldmodel::ClipBatch ModelInput(const ModelSource& model, const sim::Episode& episode);

// Online embeddings of every frame of an episode: (T+1 x D) float32 on the CPU, no gradient.
torch::Tensor EncodeEpisode(ModelSource& model, const sim::Episode& episode);

// Unique labels for a list of models (names repeated get "#2", "#3", ...).
void MakeNamesUnique(std::vector<ModelSource>* models);

// An episode label (Episode::scalars); throws BadInput naming the file and the label.
double EpisodeScalar(const sim::Episode& episode, const std::string& key, const DataFile& file);

}  // namespace darkmatter::eval

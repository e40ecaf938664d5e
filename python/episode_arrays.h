// Episodes as Python sees them: a dict of numpy arrays (copies) and back, checked.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include "sim/episode.h"

namespace darkmatter::python {

namespace py = pybind11;

// {"task", "seed", "observations" ((T+1) x obs_dim), "actions" (T x act_dim), "rewards",
// "terminations", "truncations" (bool), "states", "rng_states", "elapsed_steps",
// "info_keys", "infos", "frames" ((T+1) x H x W x 3 uint8, absent without frames),
// "truth" {name: (T+1) x shape}, "scalars", "strings"}.
py::dict EpisodeDict(const sim::Episode& episode);

// The inverse of EpisodeDict. Required: task, observations, actions, rewards; the rest
// defaults to empty/zero (states, rng_states and elapsed_steps then zero-filled with
// state_dim 0). Throws BadInput naming the key and the shapes on any mismatch.
sim::Episode EpisodeFromDict(const py::dict& dict);

// The frames of an episode as a read-only (T+1) x H x W x 3 uint8 view that keeps no
// owner: valid only while `episode` lives (used for calls into Python callables).
py::array FramesArray(const sim::Episode& episode);

}  // namespace darkmatter::python

// darkmatter.episodes: episode files and recording from Python.
#pragma once

#include <pybind11/pybind11.h>

namespace darkmatter::python {

// Registers EpisodeReader, EpisodeWriter and record_episode on `m`.
void BindEpisodes(pybind11::module_& m);

}  // namespace darkmatter::python

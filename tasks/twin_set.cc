#include "tasks/twin_set.h"

#include <algorithm>
#include <stdexcept>

#include "sim/error.h"

namespace darkmatter::tasks {
namespace {

// Copies rows [from, to) of a row-major buffer with `width` values per row onto `out`.
template <typename T>
void AppendRows(const std::vector<T>& rows, int64_t width, int64_t from, int64_t to,
                std::vector<T>* out) {
  if (width <= 0 || to <= from) return;
  out->insert(out->end(), rows.begin() + from * width, rows.begin() + to * width);
}

// Clears every per-frame and per-step buffer of `e`, keeping its dimensions and labels.
void ClearBuffers(sim::Episode* e) {
  e->observations.clear();
  e->actions.clear();
  e->rewards.clear();
  e->terminations.clear();
  e->truncations.clear();
  e->states.clear();
  e->rng_states.clear();
  e->elapsed_steps.clear();
  e->infos.clear();
  e->frames.clear();
  e->truth.clear();
}

// Per-frame and per-step row widths of an episode.
struct Widths {
  int64_t obs, act, state, info, pixels, truth;
  explicit Widths(const sim::Episode& e)
      : obs(e.obs_dim),
        act(e.act_dim),
        state(e.state_dim),
        info(static_cast<int64_t>(e.info_keys.size())),
        pixels(e.frame_height * e.frame_width * 3),
        truth(e.TruthDim()) {}
};

// Appends frames [from, to) of `src` (rows of T + 1) and the steps into them (step t leads
// from frame t to frame t + 1; frame 0 comes from the reset).
void AppendFrames(const sim::Episode& src, int64_t from, int64_t to, sim::Episode* out) {
  const Widths w(src);
  AppendRows(src.observations, w.obs, from, to, &out->observations);
  AppendRows(src.states, w.state, from, to, &out->states);
  AppendRows(src.rng_states, 4, from, to, &out->rng_states);
  AppendRows(src.elapsed_steps, 1, from, to, &out->elapsed_steps);
  if (w.pixels > 0 && !src.frames.empty()) AppendRows(src.frames, w.pixels, from, to, &out->frames);
  AppendRows(src.truth, w.truth, from, to, &out->truth);
  const int64_t step_from = std::max<int64_t>(from - 1, 0), step_to = to - 1;
  AppendRows(src.actions, w.act, step_from, step_to, &out->actions);
  AppendRows(src.rewards, 1, step_from, step_to, &out->rewards);
  AppendRows(src.terminations, 1, step_from, step_to, &out->terminations);
  AppendRows(src.truncations, 1, step_from, step_to, &out->truncations);
  AppendRows(src.infos, w.info, step_from, step_to, &out->infos);
}

// `a` up to frame s, then `b` from frame s on; episode labels (outcomes) of `b`, which
// supplies the end.
sim::Episode Splice(const sim::Episode& a, const sim::Episode& b, int64_t s) {
  sim::Episode out = b;
  ClearBuffers(&out);
  AppendFrames(a, 0, s, &out);
  AppendFrames(b, s, b.Length() + 1, &out);
  return out;
}

// `base` with the swapped objects taken from `other` at every frame t >= v.
sim::Episode Swap(TwinSetSource& source, const sim::Episode& base, const sim::Episode& other,
                  int64_t v) {
  const Widths w(base);
  const int64_t frames = std::min(base.Length(), other.Length()) + 1;
  sim::Episode out = base;
  ClearBuffers(&out);
  AppendFrames(base, 0, v, &out);
  sim::EnvState state;
  TwinSetSource::Frame frame;
  for (int64_t t = v; t < frames; ++t) {
    state.physics.assign(base.states.begin() + t * w.state, base.states.begin() + (t + 1) * w.state);
    std::copy_n(base.rng_states.begin() + 4 * t, 4, state.rng.begin());
    state.elapsed_steps = base.elapsed_steps[t];
    state.needs_reset = false;
    source.ObserveSwapped(
        state, std::span<const double>(other.states).subspan(t * w.state, w.state), &frame);
    out.states.insert(out.states.end(), frame.state.begin(), frame.state.end());
    out.observations.insert(out.observations.end(), frame.observation.begin(),
                            frame.observation.end());
    out.rng_states.insert(out.rng_states.end(), state.rng.begin(), state.rng.end());
    out.elapsed_steps.push_back(state.elapsed_steps);
    if (!base.frames.empty()) out.frames.insert(out.frames.end(), frame.pixels.begin(), frame.pixels.end());
    out.truth.insert(out.truth.end(), frame.truth.begin(), frame.truth.end());
  }
  const int64_t step_from = std::max<int64_t>(v - 1, 0), step_to = frames - 1;
  AppendRows(base.actions, w.act, step_from, step_to, &out.actions);
  AppendRows(base.rewards, 1, step_from, step_to, &out.rewards);
  AppendRows(base.terminations, 1, step_from, step_to, &out.terminations);
  AppendRows(base.truncations, 1, step_from, step_to, &out.truncations);
  AppendRows(base.infos, w.info, step_from, step_to, &out.infos);
  return out;
}

// Writes the set labels of one member.
void Label(sim::Episode* e, int64_t set_id, int member, int64_t v, const std::string& principle,
           const std::string& direction) {
  e->scalars["set_id"] = static_cast<double>(set_id);
  e->scalars["twin_id"] = static_cast<double>(set_id);
  e->scalars["member"] = member;
  e->scalars["partner"] = (member + 2) % kTwinSetSize;
  e->scalars["possible"] = member < 2 ? 1.0 : 0.0;
  e->scalars["violation_frame"] = static_cast<double>(v);
  e->strings["principle"] = principle;
  e->strings["direction"] = direction;
}

}  // namespace

std::vector<uint8_t> TwinSetSource::UnseenDifference(const sim::Episode&,
                                                     const sim::Episode&) const {
  throw std::logic_error("this task's twin sets are not spliced");
}

int64_t TwinSetSource::SwapFrame(const sim::Episode&, const sim::Episode&) const {
  throw std::logic_error("this task's twin sets are not swapped");
}

void TwinSetSource::ObserveSwapped(const sim::EnvState&, std::span<const double>, Frame*) {
  throw std::logic_error("this task's twin sets are not swapped");
}

int64_t ChooseSpliceFrame(std::span<const uint8_t> unseen) {
  // Longest run [first, last] of unseen frames; the splice s needs s - 1 and s in it.
  int64_t best_first = -1, best_length = 0;
  for (int64_t t = 0; t < static_cast<int64_t>(unseen.size());) {
    if (!unseen[t]) {
      ++t;
      continue;
    }
    int64_t end = t;
    while (end < static_cast<int64_t>(unseen.size()) && unseen[end]) ++end;
    if (end - t > best_length) {
      best_first = t;
      best_length = end - t;
    }
    t = end;
  }
  if (best_length < 2) return -1;
  // s in [first + 1, first + length - 1]: its middle.
  return best_first + 1 + (best_length - 2) / 2;
}

std::vector<sim::Episode> ComposeTwinSet(sim::Env& env, sim::Episode a, sim::Episode b,
                                         int64_t set_id) {
  auto* source = dynamic_cast<TwinSetSource*>(&env);
  if (!source) throw sim::BadInput(env.Name() + " makes no twin sets");
  const auto principle = a.strings.count("principle") ? a.strings.at("principle") : "none";
  if (principle == "none") {
    throw sim::BadInput(env.Name() + ": a twin set needs env.violation set to a principle");
  }
  const TwinRule rule = source->Rule();
  int64_t v = -1;
  sim::Episode ab, ba;
  if (rule.kind == TwinRule::Kind::kSplice) {
    const std::vector<uint8_t> unseen = source->UnseenDifference(a, b);
    v = ChooseSpliceFrame(unseen);
    if (v >= 0) {
      ab = Splice(a, b, v);
      ba = Splice(b, a, v);
    }
  } else {
    v = source->SwapFrame(a, b);
    if (v >= 0) {
      ab = Swap(*source, a, b, v);
      ba = Swap(*source, b, a, v);
    }
  }
  if (v < 0) {  // no impossible member can be made from this seed: the protocol skips it
    ab = a;
    ba = b;
  }
  std::vector<sim::Episode> set = {std::move(a), std::move(b), std::move(ab), std::move(ba)};
  Label(&set[0], set_id, 0, v, principle, "none");
  Label(&set[1], set_id, 1, v, principle, "none");
  Label(&set[2], set_id, 2, v, principle, rule.directions[0]);
  Label(&set[3], set_id, 3, v, principle, rule.directions[1]);
  return set;
}

}  // namespace darkmatter::tasks

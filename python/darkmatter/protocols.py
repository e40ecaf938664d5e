"""The evaluation protocols with your own model: Python callables scored by the same C++
code as `darkmatter eval`, returning the same JSON (with the same bootstrap intervals).

    result = darkmatter.protocols.voe(my_surprise, "twins.h5", name="my-model")
    print(result["set_accuracy"], result["set_accuracy_ci"])

The C++ protocol runs with the GIL released and takes it back only to call your callable.
"""

import inspect
import json
import os
import tempfile

from . import _core
from . import _tensors


def _write_json_atomically(path, value):
    """Writes JSON to a temporary file next to `path`, then renames it into place."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(value, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def voe(surprise_fn, twins_file, *, name="python", context=1, input=None, models=(),
        bootstrap=1000, confidence=0.95, seed=0, nulls=True, curves=None,
        untrained_inits=8, device="cpu", tensors="numpy", describe=None, out=None):
    """P1 violation of expectation on a matched twin sets file (rollout --twins).

    surprise_fn(frames, actions) gets one clip: frames (T+1, H, W, 3) uint8 (or the state
    observations (T+1, obs_dim) with input="state"; default: frames when the file has
    them) and actions (T, act_dim), as numpy (tensors="torch": torch tensors), and returns
    the per-frame surprise (T+1,). Frames before `context` are never scored. `models` are
    C++ model specs (as --model) scored beside it. Returns the JSON of
    `darkmatter eval voe --json` as a dict; with `out`, also writes it (atomically, only on
    success). A callable that raises propagates its exception; a wrong shape is a
    ValueError naming the episode and the shapes."""
    if not callable(surprise_fn):
        raise TypeError(f"surprise_fn: expected a callable, got {type(surprise_fn).__name__}")
    if input not in (None, "pixels", "state"):
        raise ValueError(f"input={input!r}: expected 'pixels', 'state' or None")
    fn = _tensors.wrap(surprise_fn, tensors)
    describe_json = json.dumps(describe or {"model": "python"})
    result = json.loads(_core.voe(
        [(str(name), int(context), fn, input or "", describe_json)], os.fspath(twins_file),
        [str(m) for m in models], "" if input is None else input, int(bootstrap),
        float(confidence), int(seed), bool(nulls), "" if curves is None else os.fspath(curves),
        int(untrained_inits), str(device)))
    if out is not None:
        _write_json_atomically(out, result)
    return result


def world_model(spec, data, input="", seed=0, device="cpu"):
    """A C++ world model (a run directory, checkpoint.pt or untrained:NAME), shaped for and
    checked against the episode file `data`: .surprise(frames, actions) -> (T+1,),
    .encode(frames, actions) -> (T+1, D) float32, .context (first predicted frame)."""
    return _core.WorldModel(str(spec), os.fspath(data), input, int(seed), device)


def probe(features_fn, train_file, test_file, *, fields=("positions", "velocities"),
          name="python", horizons=(0,), labels=(10, 100, 1000, 10000), label_field="",
          supervised_steps=0, models=(), input=None, seed=0, device="cpu", tensors="numpy",
          describe=None, out=None):
    """P3 ridge probes from frozen features to privileged truth fields, R² on the held-out
    file, and the label-efficiency curve, as `darkmatter eval probe`.

    features_fn(frames, actions) gets one clip (as in voe) and returns its features
    (T+1, D), one row per frame; it is probed at horizon 0 (C++ models in `models` also at
    the other horizons). supervised_steps > 0 adds the supervised baseline (it copies the
    first C++ model's architecture, so it needs one). Returns the JSON as a dict."""
    if not callable(features_fn):
        raise TypeError(f"features_fn: expected a callable, got {type(features_fn).__name__}")
    if input not in (None, "pixels", "state"):
        raise ValueError(f"input={input!r}: expected 'pixels', 'state' or None")
    if isinstance(fields, str):
        fields = [fields]
    fn = _tensors.wrap(features_fn, tensors)
    result = json.loads(_core.probe(
        [(str(name), fn, input or "", json.dumps(describe or {"model": "python"}))],
        os.fspath(train_file), os.fspath(test_file), [str(m) for m in models],
        [str(f) for f in fields], [int(k) for k in horizons], [int(n) for n in labels],
        str(label_field), int(supervised_steps), "" if input is None else input, int(seed),
        str(device)))
    if out is not None:
        _write_json_atomically(out, result)
    return result


def ocp(features_fn, train_file, test_file, *, ood_file=None, frames=8,
        label="red_touches_zone", name="python", models=(), input=None, bootstrap=1000,
        confidence=0.95, seed=0, device="cpu", tensors="numpy", describe=None, out=None):
    """P2 outcome readout (Physion's OCP), as `darkmatter eval ocp`: a logistic regression
    of the episode label from the mean and the last of the per-frame features of the first
    `frames` frames; accuracy with a bootstrap interval on the test (and ood) file.

    features_fn(frames, actions) gets only the first `frames` frames of each clip (and the
    actions between them) and returns (frames, D) features."""
    if not callable(features_fn):
        raise TypeError(f"features_fn: expected a callable, got {type(features_fn).__name__}")
    if input not in (None, "pixels", "state"):
        raise ValueError(f"input={input!r}: expected 'pixels', 'state' or None")
    fn = _tensors.wrap(features_fn, tensors)
    result = json.loads(_core.ocp(
        [(str(name), fn, input or "", json.dumps(describe or {"model": "python"}))],
        os.fspath(train_file), os.fspath(test_file),
        "" if ood_file is None else os.fspath(ood_file), [str(m) for m in models],
        int(frames), str(label), "" if input is None else input, int(bootstrap),
        float(confidence), int(seed), str(device)))
    if out is not None:
        _write_json_atomically(out, result)
    return result


# The results.json section each protocol's JSON carries (docs/results-format.md).
_SECTIONS = {"voe": "voe", "ocp": "ocp", "probe": "probes"}


def add_to_results(result, results_file):
    """Merges a protocol result (from voe, ocp or probe, Python or `darkmatter eval --json`)
    into a comparison results.json, beside the models already there, so that
    `darkmatter report results_file` shows them together. The merged file is validated as
    the report validates it and written atomically; on any error the file is unchanged."""
    protocol = result.get("protocol")
    if protocol not in _SECTIONS:
        raise ValueError(f"add_to_results: protocol {protocol!r} has no results.json section "
                         f"(expected one of {sorted(_SECTIONS)})")
    section = _SECTIONS[protocol]
    with open(results_file) as f:
        results = json.load(f)
    merged = results.setdefault(section, {})
    if section == "probes":
        for key in ("r2", "label_efficiency"):
            merged.setdefault(key, {}).update(result[section].get(key, {}))
        if "label_efficiency_field" in result[section]:
            merged.setdefault("label_efficiency_field", result[section]["label_efficiency_field"])
    else:
        merged.update(result[section])
    text = json.dumps(results, indent=2)
    _core.validate_results(text, os.fspath(results_file))
    _write_json_atomically(results_file, results)
    return results


def _takes_three(fn):
    """True when fn accepts a third positional argument (cost_fn's `state`)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # a builtin without a signature: give it everything
        return True
    positional = [p for p in parameters
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in parameters)


def plan(policy, task, *, episodes=50, seed=0, name=None, out=None, cost_fn=None,
         dynamics_fn=None, planner_settings=None, tensors="numpy", **settings):
    """P4 goal-conditioned control on the test split's seeds, as `darkmatter eval plan`:
    success rate, mean return, collisions (driving), final goal distance (manipulation),
    seconds and model calls per action.

    `policy` is a callable `policy(observation) -> action`, "random", "expert", or a
    planner, "cem" or "mppi", which samples and refits action sequences in C++ and scores
    them with
      - `cost_fn(observation, actions[, state]) -> costs`: the observation env.step would
        return now, the candidates (N, H, act_dim) and, if it takes a third argument, the
        live env's get_state() dict; returns (N,) costs, lower is better;
      - `dynamics_fn(observations, actions) -> (next_observations, rewards[, terminated])`:
        a one-step model over (N, obs_dim) state observations and (N, act_dim) actions,
        rolled over the horizon in C++; a candidate's cost is minus its summed rewards;
      - neither: the true simulator (the oracle of `darkmatter eval plan --policy cem`).
    `planner_settings` are the plan.* keys without the prefix ({"samples": 128, ...}, see
    `darkmatter eval plan --policy cem --show-config`); other settings are env.* keys
    (max_episode_steps=..., ...). tensors="torch" hands the functions torch tensors."""
    from .envs import make, _settings_dict
    if not (callable(policy) or isinstance(policy, str)):
        raise TypeError(f"policy: expected a callable, 'random', 'expert', 'cem' or 'mppi', "
                        f"got {type(policy).__name__}")
    for label, fn in (("cost_fn", cost_fn), ("dynamics_fn", dynamics_fn)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{label}: expected a callable, got {type(fn).__name__}")
    if cost_fn is not None:
        three = cost_fn if _takes_three(cost_fn) else (lambda obs, actions, state, f=cost_fn:
                                                       f(obs, actions))
        cost_fn = _tensors.wrap(three, tensors)
    if dynamics_fn is not None:
        dynamics_fn = _tensors.wrap(dynamics_fn, tensors)
    overrides = [f"plan.{key}={text}"
                 for key, text in _settings_dict(dict(planner_settings or {})).items()]
    env = make(task, **settings)
    label = name or (policy if isinstance(policy, str) else "python")
    if cost_fn is not None or dynamics_fn is not None:
        label = name or f"{policy}:python"
    result = json.loads(_core.plan(env._core, policy, str(label), int(episodes), int(seed),
                                   cost_fn, dynamics_fn, overrides))
    if out is not None:
        _write_json_atomically(out, result)
    return result

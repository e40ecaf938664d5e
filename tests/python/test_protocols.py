"""darkmatter.protocols with Python callables: a voe run through a callable that wraps the
C++ jepa (through the bindings) reproduces `darkmatter eval voe` on the same file exactly;
callables that raise or return the wrong thing are Python exceptions, and nothing is written
on failure. Run by ctest (python:protocols), which sets DARKMATTER_BIN."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import numpy as np

import darkmatter
from darkmatter import protocols

BIN = os.environ.get("DARKMATTER_BIN")
SCORE_KEYS = ["set_accuracy", "set_accuracy_ci", "per_principle_set", "pairwise_accuracy",
              "pairwise_accuracy_ci", "per_principle", "per_direction", "auroc", "auroc_ci",
              "n_sets", "n_pairs"]


def cli(*args):
    run = subprocess.run([BIN, *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise AssertionError(f"darkmatter {' '.join(args)} failed:\n{run.stdout}{run.stderr}")
    return run.stdout


@unittest.skipUnless(BIN, "DARKMATTER_BIN (the CLI) not set; run through ctest")
class VoeFromPython(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="dm-py-voe-")
        cls.twins = os.path.join(cls.dir, "twins.h5")
        cls.run_dir = os.path.join(cls.dir, "jepa")
        cli("rollout", "--task", "physics/collide", "--twins", "--episodes", "2", "--split",
            "test", "--out", cls.twins)
        cli("train", "--model", "jepa", "--data", cls.twins, "--out", cls.run_dir, "--device", "cpu",
            "train.steps=10", "train.batch_size=16", "model.hidden=16", "model.latent_dim=8",
            "train.seed=3")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_callable_wrapping_the_cpp_jepa_reproduces_eval_voe(self):
        cpp = json.loads(cli("eval", "voe", "--model", self.run_dir, "--data", self.twins,
                             "--bootstrap", "200", "--untrained-inits", "2", "--json"))
        model = protocols.world_model(self.run_dir, self.twins)
        self.assertEqual(model.model, "jepa")
        calls = []

        def surprise(observations, actions):
            calls.append(observations.shape)
            return model.surprise(observations, actions)

        py = protocols.voe(surprise, self.twins, name="jepa-via-python", context=model.context,
                           bootstrap=200, nulls=True)
        self.assertEqual(len(calls), cpp["data"]["episodes"])
        for key in SCORE_KEYS:
            self.assertEqual(py[key], cpp[key], key)
        self.assertEqual(py["content_hash"], cpp["content_hash"])
        self.assertIn("jepa-via-python", py["voe"])
        nulls = {m["name"] for m in py["models"] if m.get("null") == "motion-energy"}
        self.assertEqual(nulls, {m["name"] for m in cpp["models"]
                                 if m.get("null") == "motion-energy"})

    def test_torch_tensors_and_cpp_models_side_by_side(self):
        try:
            import torch
        except ImportError:
            self.skipTest("python3-torch not importable")
        seen = []

        def surprise(observations, actions):
            seen.append(type(observations))
            motion = torch.zeros(observations.shape[0], dtype=torch.float64)
            motion[1:] = (observations[1:] - observations[:-1]).abs().mean(dim=1)
            return motion

        result = protocols.voe(surprise, self.twins, name="mine", tensors="torch",
                               models=[self.run_dir], bootstrap=50, untrained_inits=1)
        self.assertTrue(all(t is torch.Tensor for t in seen))
        self.assertEqual(set(result["voe"]) >= {"mine", "jepa"}, True)
        self.assertEqual(result["model"], self.run_dir)  # the C++ model leads, as in eval voe
        # a state motion-energy callable scores exactly like the built-in null
        mine = next(m for m in result["models"] if m["name"] == "mine")
        null = next(m for m in result["models"] if m["name"] == "motion-energy:state")
        self.assertEqual(mine["set_accuracy"], null["set_accuracy"])
        self.assertEqual(mine["pairwise_accuracy"], null["pairwise_accuracy"])

    def test_bad_callables_are_python_exceptions_and_write_nothing(self):
        out = os.path.join(self.dir, "result.json")

        def raises(observations, actions):
            raise ZeroDivisionError("boom")

        with self.assertRaisesRegex(ZeroDivisionError, "boom"):
            protocols.voe(raises, self.twins, out=out)
        with self.assertRaisesRegex(ValueError, r"expected shape \(\d+,\), got \(3,\)"):
            protocols.voe(lambda o, a: np.zeros(3), self.twins, out=out)
        with self.assertRaisesRegex(TypeError, "dtype"):
            protocols.voe(lambda o, a: np.array(["x"] * (len(o))), self.twins, out=out)
        with self.assertRaisesRegex(ValueError, "not finite"):
            protocols.voe(lambda o, a: np.full(len(o), np.nan), self.twins, out=out)
        with self.assertRaises(TypeError):
            protocols.voe("not callable", self.twins)
        with self.assertRaisesRegex(ValueError, "no_such_file.h5"):
            protocols.voe(lambda o, a: np.zeros(len(o)), os.path.join(self.dir, "no_such_file.h5"))
        with self.assertRaisesRegex(ValueError, "frames"):
            protocols.voe(lambda o, a: np.zeros(len(o)), self.twins, input="pixels")
        self.assertFalse(os.path.exists(out))
        self.assertEqual(sorted(f for f in os.listdir(self.dir) if f.startswith(".tmp")), [])
        protocols.voe(lambda o, a: np.zeros(len(o)), self.twins, bootstrap=10, out=out)
        with open(out) as f:
            self.assertEqual(json.load(f)["protocol"], "voe")

    def test_probe_reads_the_callables_features(self):
        def truth_features(observations, actions):
            return observations  # the state holds the positions: a linear probe recovers them

        rng = np.random.default_rng(0)

        def noise_features(observations, actions):
            return rng.normal(size=(len(observations), 8))

        good = protocols.probe(truth_features, self.twins, self.twins, fields=["positions"],
                               name="state", labels=[20, 200])
        bad = protocols.probe(noise_features, self.twins, self.twins, fields=["positions"],
                              name="noise", labels=[])
        self.assertGreater(good["r2"]["state"]["positions"]["0"], 0.95)
        self.assertLess(bad["r2"]["noise"]["positions"]["0"], 0.5)
        self.assertEqual(set(good["label_efficiency"]["state"]), {"20", "200"})
        with self.assertRaisesRegex(ValueError, "2-D"):
            protocols.probe(lambda o, a: np.zeros(len(o)), self.twins, self.twins,
                            fields=["positions"], labels=[])
        with self.assertRaisesRegex(ValueError, "no_such_field"):
            protocols.probe(truth_features, self.twins, self.twins, fields=["no_such_field"])

    def test_ocp_callable_sees_only_the_first_frames(self):
        plain = os.path.join(self.dir, "plain.h5")
        if not os.path.exists(plain):
            cli("rollout", "--task", "physics/collide", "--episodes", "16", "--out", plain)
        seen = []

        def features(observations, actions):
            seen.append((observations.shape[0], actions.shape[0]))
            return observations

        result = protocols.ocp(features, plain, plain, frames=5, name="state", bootstrap=50)
        self.assertEqual(set(seen), {(5, 4)})
        self.assertEqual(result["protocol"], "ocp")
        self.assertIn("state", result["ocp"])
        self.assertGreaterEqual(result["accuracy"], 0.0)
        with self.assertRaisesRegex(ValueError, r"expected shape \(5, 2\), got \(3, 2\)"):
            protocols.ocp(lambda o, a: np.zeros((3, 2)), plain, plain, frames=5)

    def test_results_sit_beside_the_suite_models(self):
        fixture = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval",
                               "fixtures", "results.json")
        results = os.path.join(self.dir, "results.json")
        shutil.copy(fixture, results)
        with open(fixture) as f:
            before = json.load(f)
        result = protocols.voe(lambda o, a: np.zeros(len(o)), self.twins, name="zeros",
                               bootstrap=10, nulls=False)
        merged = protocols.add_to_results(result, results)
        self.assertIn("zeros", merged["voe"])
        self.assertTrue(set(before.get("voe", {})) <= set(merged["voe"]))
        with open(results) as f:
            self.assertEqual(json.load(f), merged)
        with open(results) as f:
            text = f.read()
        with self.assertRaisesRegex(ValueError, "protocol"):
            protocols.add_to_results({"protocol": "nope"}, results)
        bad = dict(result, voe={"broken": {"principles": "not an object"}})
        with self.assertRaisesRegex(ValueError, "voe.broken"):
            protocols.add_to_results(bad, results)
        with open(results) as f:
            self.assertEqual(f.read(), text)  # unchanged after the failures

    def test_plan_matches_eval_plan(self):
        cpp = json.loads(cli("eval", "plan", "--task", "manipulation/reach", "--policy", "expert",
                             "--episodes", "2", "--max-steps", "30", "--json"))
        py = protocols.plan("expert", "manipulation/reach", episodes=2, max_episode_steps=30)
        for key in ("success_rate", "mean_return", "steps", "seed_base", "per_episode",
                    "mean_final_goal_distance"):
            self.assertEqual(py[key], cpp[key], key)
        seen = []

        def still(obs):
            seen.append(obs.shape)
            return np.zeros(6)

        mine = protocols.plan(still, "manipulation/reach", episodes=1, max_episode_steps=5)
        self.assertEqual(mine["steps"], 5)
        self.assertEqual(len(seen), 5)
        with self.assertRaisesRegex(ValueError, r"expected shape \(6,\), got \(2,\)"):
            protocols.plan(lambda obs: np.zeros(2), "manipulation/reach", episodes=1)

    def test_world_model_bad_shapes(self):
        model = protocols.world_model(self.run_dir, self.twins)
        episode = darkmatter.episodes.open(self.twins)[0]
        obs, actions = episode["observations"], episode["actions"]
        self.assertEqual(model.surprise(obs, actions).shape, (len(obs),))
        with self.assertRaisesRegex(ValueError, r"observations .*: expected shape"):
            model.surprise(obs[:, :-1], actions)
        with self.assertRaisesRegex(ValueError, "for 46 actions|for %d actions" % (len(actions) - 1)):
            model.surprise(obs, actions[:-1])
        with self.assertRaisesRegex(ValueError, "actions: expected"):
            model.surprise(obs, actions[:, :0] if actions.shape[1] else np.zeros((len(actions), 3)))


if __name__ == "__main__":
    unittest.main()

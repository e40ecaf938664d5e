"""darkmatter.protocols.plan with our planners over Python dynamics: a cost_fn that wraps the
true simulator (set_state + step through the bindings) reproduces `darkmatter eval plan
--policy cem` exactly, a one-step dynamics_fn rolled out in C++ scores candidates exactly as
the same model rolled out inside a cost_fn, and bad functions or settings are Python
exceptions. Run by ctest (python:planning), which sets DARKMATTER_BIN."""

import json
import os
import subprocess
import unittest

import numpy as np

import darkmatter
from darkmatter import protocols

BIN = os.environ.get("DARKMATTER_BIN")
TASK = "manipulation/reach"
STEPS = 8
PLAN = {"samples": 16, "elites": 4, "iterations": 2, "horizon": 5}
COMPARED = ("success_rate", "successes", "mean_return", "steps", "seed_base", "per_episode",
            "mean_final_goal_distance", "settings")


def cli(*args):
    run = subprocess.run([BIN, *args], capture_output=True, text=True)
    if run.returncode != 0:
        raise AssertionError(f"darkmatter {' '.join(args)} failed:\n{run.stdout}{run.stderr}")
    return run.stdout


def oracle_cost_fn(task, **settings):
    """cost_fn(observation, actions, state): each candidate played on a twin env from the
    live state; cost = -(sum of rewards) until the episode ends (OracleDynamics' rule)."""
    twin = darkmatter.make(task, **settings)
    calls = []

    def cost(observation, actions, state):
        calls.append(observation.shape)
        costs = np.zeros(len(actions))
        for i, sequence in enumerate(actions):
            twin.set_state(state)
            for action in sequence:
                _, reward, terminated, truncated, _ = twin.step(action)
                costs[i] -= reward
                if terminated or truncated:
                    break
        return costs

    return cost, calls


def toy_step(observations, actions):
    """A made-up linear model: the first act_dim values move by 0.1 x action; reward is
    minus the squared norm of those values."""
    nxt = observations.copy()
    k = actions.shape[1]
    nxt[:, :k] += 0.1 * actions
    return nxt, -np.sum(nxt[:, :k] ** 2, axis=1)


def toy_cost(observation, actions):
    """toy_step rolled over each sequence in numpy, accumulated as the C++ rollout does."""
    n, horizon, _ = actions.shape
    obs = np.repeat(observation[None, :], n, axis=0)
    cost = np.zeros(n)
    for t in range(horizon):
        obs, reward = toy_step(obs, actions[:, t, :])
        cost = cost - reward
    return cost


@unittest.skipUnless(BIN, "DARKMATTER_BIN (the CLI) not set; run through ctest")
class PlanWithPythonDynamics(unittest.TestCase):
    def test_oracle_cost_fn_matches_eval_plan_cem(self):
        args = ["eval", "plan", "--task", TASK, "--policy", "cem", "--episodes", "2",
                "--max-steps", str(STEPS), "--json"] + [f"plan.{k}={v}" for k, v in PLAN.items()]
        cpp = json.loads(cli(*args))
        cost, calls = oracle_cost_fn(TASK, max_episode_steps=STEPS)
        py = protocols.plan("cem", TASK, episodes=2, max_episode_steps=STEPS, cost_fn=cost,
                            planner_settings=PLAN)
        for key in COMPARED:
            self.assertEqual(py[key], cpp[key], key)
        # One cost_fn call per CEM iteration per action, each with the live observation.
        self.assertEqual(len(calls), py["steps"] * PLAN["iterations"])
        self.assertEqual(calls[0], (darkmatter.make(TASK).observation_space.shape[0],))
        self.assertEqual(py["model_calls_per_action"], PLAN["iterations"])
        self.assertEqual(py["policy"], "cem:python")
        # The built-in oracle from Python is the same run as the CLI's.
        oracle = protocols.plan("cem", TASK, episodes=2, max_episode_steps=STEPS,
                                planner_settings=PLAN)
        for key in COMPARED:
            self.assertEqual(oracle[key], cpp[key], key)

    def test_dynamics_fn_scores_as_the_same_model_in_a_cost_fn(self):
        full = {}
        for planner in ("cem", "mppi"):
            settings = {"samples": 12, "iterations": 2, "horizon": 4}
            stepped = protocols.plan(planner, TASK, episodes=1, max_episode_steps=6,
                                     dynamics_fn=toy_step, planner_settings=settings)
            rolled = protocols.plan(planner, TASK, episodes=1, max_episode_steps=6,
                                    cost_fn=toy_cost, planner_settings=settings)
            self.assertEqual(stepped["per_episode"], rolled["per_episode"], planner)
            self.assertEqual(stepped["model_calls_per_action"], 2)
            full[planner] = stepped["per_episode"]
        # A terminated flag stops a candidate's cost: rows that end after their first step
        # score that step's reward only, exactly as a cost_fn that stops there.
        def ended_after_first(observations, actions):
            nxt, reward = toy_step(observations, actions)
            return nxt, reward, np.ones(len(observations), dtype=bool)

        def first_step_cost(observation, actions):
            return toy_cost(observation, actions[:, :1, :])

        settings = {"samples": 12, "iterations": 2, "horizon": 4}
        ended = protocols.plan("cem", TASK, episodes=1, max_episode_steps=6,
                               dynamics_fn=ended_after_first, planner_settings=settings)
        first = protocols.plan("cem", TASK, episodes=1, max_episode_steps=6,
                               cost_fn=first_step_cost, planner_settings=settings)
        self.assertEqual(ended["per_episode"], first["per_episode"])
        self.assertNotEqual(ended["per_episode"], full["cem"])

    def test_torch_tensors_reach_the_functions(self):
        try:
            import torch
        except ImportError:
            self.skipTest("python3-torch is not importable")
        kinds = set()

        def torch_step(observations, actions):
            kinds.add((type(observations).__name__, type(actions).__name__))
            nxt, reward = toy_step(observations.numpy(), actions.numpy())
            return torch.from_numpy(nxt), torch.from_numpy(reward)

        protocols.plan("cem", TASK, episodes=1, max_episode_steps=2, dynamics_fn=torch_step,
                       planner_settings={"samples": 8}, tensors="torch")
        self.assertEqual(kinds, {("Tensor", "Tensor")})

    def test_bad_functions_and_settings_are_python_exceptions(self):
        short = dict(episodes=1, max_episode_steps=2, planner_settings={"samples": 8})
        with self.assertRaisesRegex(ValueError, r"cost_fn result: expected shape \(8,\), got \(3,\)"):
            protocols.plan("cem", TASK, cost_fn=lambda o, a: np.zeros(3), **short)
        with self.assertRaisesRegex(ValueError, "cost of candidate 0 is NaN"):
            protocols.plan("cem", TASK, cost_fn=lambda o, a: np.full(len(a), np.nan), **short)
        with self.assertRaises(ZeroDivisionError):
            protocols.plan("cem", TASK, cost_fn=lambda o, a: 1 / 0, **short)
        with self.assertRaisesRegex(ValueError, "expected \\(next_observations, rewards\\)"):
            protocols.plan("mppi", TASK, dynamics_fn=lambda o, a: o, **short)
        with self.assertRaisesRegex(ValueError, r"step 0: rewards: expected shape \(8,\)"):
            protocols.plan("cem", TASK, dynamics_fn=lambda o, a: (o, np.zeros(2)), **short)
        with self.assertRaisesRegex(TypeError, "terminated: expected a bool array"):
            protocols.plan("cem", TASK, dynamics_fn=lambda o, a: (o, np.zeros(8), ["x"] * 8),
                           **short)
        with self.assertRaisesRegex(ValueError, "give policy 'cem' or 'mppi', not 'random'"):
            protocols.plan("random", TASK, cost_fn=toy_cost, episodes=1)
        with self.assertRaisesRegex(ValueError, "not both"):
            protocols.plan("cem", TASK, cost_fn=toy_cost, dynamics_fn=toy_step, **short)
        with self.assertRaisesRegex(ValueError, "plan.bogus"):
            protocols.plan("cem", TASK, cost_fn=toy_cost, episodes=1,
                           planner_settings={"bogus": 1})
        with self.assertRaisesRegex(ValueError, "plan.samples"):
            protocols.plan("cem", TASK, cost_fn=toy_cost, episodes=1,
                           planner_settings={"samples": 0})
        with self.assertRaisesRegex(ValueError, "need policy 'cem' or 'mppi'"):
            protocols.plan("expert", TASK, episodes=1, planner_settings={"samples": 8})
        with self.assertRaisesRegex(ValueError, "env.observation=pixels has no state vector"):
            protocols.plan("cem", TASK, dynamics_fn=toy_step, observation="pixels", **short)
        with self.assertRaisesRegex(TypeError, "cost_fn: expected a callable"):
            protocols.plan("cem", TASK, cost_fn=3, episodes=1)

    def test_cost_fn_sees_frames_when_the_env_observes_pixels(self):
        shapes = []

        def cost(observation, actions):
            shapes.append(observation.shape)
            return np.zeros(len(actions))

        protocols.plan("cem", TASK, cost_fn=cost, episodes=1, max_episode_steps=1,
                       observation="pixels", frame_width=32, frame_height=24,
                       planner_settings={"samples": 4, "elites": 2, "iterations": 1})
        self.assertEqual(shapes, [(24, 32, 3)])


if __name__ == "__main__":
    unittest.main()

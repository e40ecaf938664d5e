"""darkmatter.make and darkmatter.EnvPool from Python: Gymnasium semantics, seeding, state,
pool autoreset, zero-copy views, the same trajectories as the C++ pool, and bad input as
Python exceptions. Run by ctest (python:envs) with PYTHONPATH=build/python."""

import os
import subprocess
import unittest

import numpy as np

import darkmatter

PENDULUM = "control/inverted_pendulum"
HUMANOID = "/usr/share/mujoco/model/humanoid/humanoid.xml"


def test_actions(t, n, a):
    """The deterministic actions of tests/python/pool_trajectory_hash.cc for step t."""
    i = np.arange(n)[:, None]
    j = np.arange(a)[None, :]
    return ((7 * t + 13 * i + 5 * j) % 21 - 10) / 25.0


def pool_hash(task, n, threads, seed, steps):
    """The trajectory hash of the Python pool, over the same bytes as the C++ tool."""
    pool = darkmatter.EnvPool(task, num_envs=n, threads=threads, seed=seed)
    hasher = darkmatter._core.Hasher()
    obs, _ = pool.reset()
    hasher.add(np.ascontiguousarray(obs))
    a = pool.single_action_space.shape[0]
    for t in range(steps):
        obs, reward, terminated, truncated, _ = pool.step(test_actions(t, n, a))
        for x in (obs, reward, terminated, truncated):
            hasher.add(np.ascontiguousarray(x))
    return f"{hasher.value:016x}"


class EnvSemantics(unittest.TestCase):
    def test_spaces_and_reset(self):
        env = darkmatter.make(PENDULUM)
        obs, info = env.reset(seed=1)
        self.assertEqual(obs.shape, env.observation_space.shape)
        self.assertEqual(obs.dtype, np.float64)
        self.assertEqual(env.action_space.shape, (1,))
        self.assertTrue(env.action_space.contains(env.action_space.sample()))
        self.assertIn("diverged", info)

    def test_seeding(self):
        env = darkmatter.make(PENDULUM)
        a, _ = env.reset(seed=7)
        b, _ = env.reset(seed=7)
        c, _ = env.reset(seed=8)
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))  # reset noise follows the seed

    def test_truncated_is_not_terminated(self):
        env = darkmatter.make(PENDULUM, max_episode_steps=5)
        env.reset(seed=0)
        flags = [env.step(np.zeros(1))[2:4] for _ in range(5)]
        self.assertEqual(flags[-1], (False, True))
        self.assertTrue(all(f == (False, False) for f in flags[:-1]))
        with self.assertRaises(RuntimeError):  # the episode ended: reset first
            env.step(np.zeros(1))
        env.reset()
        env.step(np.zeros(1))

    def test_terminated_when_the_pole_falls(self):
        env = darkmatter.make(PENDULUM)
        env.reset(seed=0)
        for t in range(200):
            _, reward, terminated, truncated, _ = env.step(np.array([3.0]))
            if terminated or truncated:
                break
        self.assertTrue(terminated)
        self.assertFalse(truncated)
        self.assertLess(t, 199)

    def test_state_round_trip_gives_the_same_future(self):
        env = darkmatter.make(PENDULUM)
        env.reset(seed=3)
        env.step(np.array([0.3]))
        state = env.get_state()
        first = [env.step(np.array([0.1 * k]))[0] for k in range(5)]
        env.set_state(state)
        second = [env.step(np.array([0.1 * k]))[0] for k in range(5)]
        np.testing.assert_array_equal(np.array(first), np.array(second))

    def test_render_and_pixels(self):
        env = darkmatter.make("physics/collide", observation="pixels", frame_width=32,
                              frame_height=24)
        obs, _ = env.reset(seed=0)
        self.assertEqual(obs.shape, (24, 32, 3))
        self.assertEqual(obs.dtype, np.uint8)
        frame = env.render()
        self.assertEqual(frame.shape, (24, 32, 3))
        self.assertGreater(frame.std(), 1.0)  # a scene, not a blank frame
        self.assertEqual(env.render(width=16, height=8).shape, (8, 16, 3))
        both = darkmatter.make("physics/collide", observation="state+pixels", frame_width=16,
                               frame_height=16)
        obs, _ = both.reset(seed=0)
        self.assertEqual(set(obs), {"state", "pixels"})

    def test_truth_and_tasks(self):
        env = darkmatter.make("physics/collide")
        env.reset(seed=0)
        truth = env.truth()
        self.assertTrue(truth)
        self.assertTrue(all(np.all(np.isfinite(v)) for v in truth.values()))
        names = {t["name"]: t for t in darkmatter.tasks()}
        self.assertIn(PENDULUM, names)
        self.assertEqual(names[PENDULUM]["action"]["shape"], (1,))

    @unittest.skipUnless(os.path.exists(HUMANOID), "libmujoco-samples not installed")
    def test_mjcf_model(self):
        env = darkmatter.make(mjcf=HUMANOID)
        obs, _ = env.reset(seed=0)
        obs, *_ = env.step(env.action_space.sample())
        self.assertEqual(obs.shape, env.observation_space.shape)


class PoolSemantics(unittest.TestCase):
    def test_next_step_autoreset_matches_single_envs(self):
        n, seed = 3, 11
        pool = darkmatter.EnvPool(PENDULUM, num_envs=n, threads=2, seed=seed,
                                  max_episode_steps=3)
        pool.reset()
        for t in range(3):
            obs, reward, terminated, truncated, _ = pool.step(np.full((n, 1), 0.2))
        self.assertTrue(truncated.all())
        obs, reward, terminated, truncated, _ = pool.step(np.full((n, 1), 0.2))
        self.assertFalse(terminated.any() or truncated.any())
        np.testing.assert_array_equal(reward, 0.0)
        for i in range(n):  # the autoreset continues env i's own random stream
            env = darkmatter.make(PENDULUM, max_episode_steps=3)
            env.reset(seed=seed + i)
            for t in range(3):
                env.step(np.array([0.2]))
            single, _ = env.reset()
            np.testing.assert_array_equal(obs[i], single)

    def test_same_trajectory_hash_as_the_cpp_pool(self):
        tool = os.environ.get("DARKMATTER_POOL_HASH")
        if not tool:
            self.skipTest("DARKMATTER_POOL_HASH (the C++ tool) not set; run through ctest")
        for task in (PENDULUM, "manipulation/push"):
            cpp = subprocess.run([tool, task, "4", "2", "5", "60"], check=True,
                                 capture_output=True, text=True).stdout.strip()
            for threads in (1, 3):
                self.assertEqual(pool_hash(task, 4, threads, 5, 60), cpp, task)

    def test_zero_copy_views(self):
        pool = darkmatter.EnvPool(PENDULUM, num_envs=4, threads=1)
        obs0, _ = pool.reset()
        obs1, reward1, *_ = pool.step(np.zeros((4, 1)))
        obs2, reward2, *_ = pool.step(np.zeros((4, 1)))
        address = lambda a: a.__array_interface__["data"][0]
        self.assertEqual(address(obs1), address(obs2))  # the same C++ buffer every step
        self.assertEqual(address(reward1), address(reward2))
        self.assertFalse(obs1.flags.writeable)
        self.assertFalse(obs1.flags.owndata)
        snapshot = obs2.copy()
        pool.step(np.ones((4, 1)))
        self.assertFalse(np.array_equal(obs2, snapshot))  # overwritten in place

    def test_views_keep_the_pool_alive(self):
        import gc
        pool = darkmatter.EnvPool(PENDULUM, num_envs=3, threads=2)
        pool.reset()
        obs, reward, terminated, truncated, info = pool.step(np.zeros((3, 1)))
        expected = obs.copy()
        del pool
        gc.collect()
        np.testing.assert_array_equal(obs, expected)  # the view still owns the C++ buffer
        self.assertEqual(info["env_id"].tolist(), [0, 1, 2])

    def test_send_recv(self):
        pool = darkmatter.EnvPool(PENDULUM, num_envs=4, threads=2, seed=0)
        pool.reset()
        pool.send(np.zeros((2, 1)), env_ids=[1, 3])
        obs, reward, terminated, truncated, info = pool.recv()
        self.assertEqual(sorted(info["env_id"].tolist()), [1, 3])
        self.assertEqual(obs.shape, (2, 4))
        with self.assertRaisesRegex(ValueError, "in flight"):
            pool.recv()

    def test_pixels_pool(self):
        pool = darkmatter.EnvPool("physics/collide", num_envs=2, observation="pixels",
                                  frame_width=16, frame_height=16)
        obs, _ = pool.reset()
        self.assertEqual(obs.shape, (2, 16, 16, 3))
        self.assertEqual(obs.dtype, np.uint8)


class BadInput(unittest.TestCase):
    def test_bad_actions(self):
        env = darkmatter.make(PENDULUM)
        env.reset(seed=0)
        with self.assertRaisesRegex(ValueError, r"expected shape \(1,\), got \(2,\)"):
            env.step(np.zeros(2))
        with self.assertRaisesRegex(TypeError, "dtype"):
            env.step(np.array(["a"]))
        with self.assertRaisesRegex(TypeError, "dtype"):
            env.step(np.array([1j]))
        with self.assertRaises(TypeError):
            env.step(object())
        with self.assertRaisesRegex(ValueError, "finite|NaN|nan"):
            env.step(np.array([np.nan]))
        env.step(np.zeros(1, dtype=np.float32))  # float32 is converted; the env still works

    def test_bad_pool_actions(self):
        pool = darkmatter.EnvPool(PENDULUM, num_envs=2)
        pool.reset()
        with self.assertRaisesRegex(ValueError, r"expected shape \(2, 1\), got \(1,\)"):
            pool.step(np.zeros(1))
        with self.assertRaisesRegex(ValueError, "env 1"):
            pool.step(np.array([[0.0], [np.inf]]))
        with self.assertRaisesRegex(ValueError, "out of range"):
            pool.send(np.zeros((1, 1)), env_ids=[5])
        pool.step(np.zeros((2, 1)))  # a rejected call queued nothing

    def test_bad_task_and_settings(self):
        with self.assertRaisesRegex(ValueError, "no/such_task"):
            darkmatter.make("no/such_task")
        with self.assertRaisesRegex(ValueError, "env.no_such_key"):
            darkmatter.make(PENDULUM, no_such_key=1)
        with self.assertRaisesRegex(ValueError, "env.frame_skip"):
            darkmatter.make(PENDULUM, frame_skip="many")
        with self.assertRaisesRegex(ValueError, "observation"):
            darkmatter.make(PENDULUM, observation="smell")
        with self.assertRaises(TypeError):
            darkmatter.make(PENDULUM, frame_skip=[1])
        with self.assertRaisesRegex(ValueError, "num_envs"):
            darkmatter.EnvPool(PENDULUM, num_envs=0)
        with self.assertRaises(ValueError):
            darkmatter.make(mjcf="/nonexistent/model.xml")

    def test_bad_state(self):
        env = darkmatter.make(PENDULUM)
        env.reset(seed=0)
        state = env.get_state()
        state["physics"] = state["physics"][:-1]
        with self.assertRaisesRegex(ValueError, "physics"):
            env.set_state(state)
        with self.assertRaisesRegex(ValueError, "rng"):
            env.set_state({"physics": state["physics"]})


if __name__ == "__main__":
    unittest.main()

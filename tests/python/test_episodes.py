"""darkmatter.episodes: episode files into numpy (the same as h5py reads), episodes recorded
from a Python policy with the rollout recorder and written with the atomic writer, and bad
files or episodes as Python exceptions that leave nothing behind."""

import os
import shutil
import tempfile
import unittest

import numpy as np

import darkmatter
from darkmatter import episodes

PENDULUM = "control/inverted_pendulum"


class Episodes(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dm-py-episodes-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_record_read_and_replay(self):
        out = os.path.join(self.dir, "clips.h5")
        n = episodes.record("physics/collide", lambda obs: np.zeros(0), episodes=2, out=out,
                            seed=4, render=(16, 12), max_episode_steps=20)
        self.assertEqual(n, 2)
        with episodes.open(out) as f:
            self.assertEqual(len(f), 2)
            self.assertEqual(f.task, "physics/collide")
            self.assertEqual(len(f.content_hash), 16)
            clips = list(f)
        for k, e in enumerate(clips):
            self.assertEqual(e["seed"], 4 + k)
            steps = len(e["rewards"])
            self.assertEqual(e["frames"].shape, (steps + 1, 12, 16, 3))
            self.assertEqual(e["observations"].shape[0], steps + 1)
            self.assertTrue(e["truth"])
        # replaying the recorded actions from the recorded seed gives the recorded observations
        env = darkmatter.make("physics/collide", max_episode_steps=20)
        obs, _ = env.reset(seed=clips[0]["seed"])
        replay = [obs] + [env.step(a)[0] for a in clips[0]["actions"]]
        np.testing.assert_array_equal(np.array(replay), clips[0]["observations"])

    def test_python_policy_and_h5py_agree(self):
        import h5py
        out = os.path.join(self.dir, "pendulum.h5")
        seen = []

        def policy(obs):
            seen.append(obs.shape)
            return np.array([0.5 * np.tanh(obs[1])])

        episodes.record(PENDULUM, policy, episodes=1, out=out, max_episode_steps=15)
        self.assertEqual(seen, [(4,)] * 15)
        e = episodes.open(out)[0]
        with h5py.File(out, "r") as f:
            g = f["episode_0"]
            np.testing.assert_array_equal(g["observations"][()], e["observations"])
            np.testing.assert_array_equal(g["actions"][()], e["actions"])

    def test_write_round_trip(self):
        src = os.path.join(self.dir, "src.h5")
        episodes.record(PENDULUM, "random", episodes=2, out=src, max_episode_steps=10)
        copy = os.path.join(self.dir, "copy.h5")
        original = episodes.open(src)
        with episodes.Writer(copy, original.task) as w:
            for e in original:
                w.append(e)
        self.assertEqual(episodes.open(copy).content_hash, original.content_hash)

    def test_bad_input_writes_nothing(self):
        out = os.path.join(self.dir, "bad.h5")

        def raises(obs):
            raise KeyError("no action")

        with self.assertRaises(KeyError):
            episodes.record(PENDULUM, raises, episodes=1, out=out)
        with self.assertRaisesRegex(ValueError, r"expected shape \(1,\), got \(2,\)"):
            episodes.record(PENDULUM, lambda obs: np.zeros(2), episodes=1, out=out)
        with self.assertRaisesRegex(ValueError, "expert"):
            episodes.record("physics/collide", "expert", episodes=1, out=out)
        good = episodes.open(os.path.join(self.dir, "bad.h5")) if os.path.exists(out) else None
        self.assertIsNone(good)
        src = os.path.join(self.dir, "src.h5")
        episodes.record(PENDULUM, "random", episodes=1, out=src, max_episode_steps=5)
        e = episodes.open(src)[0]
        e["actions"] = e["actions"][:-1]
        with self.assertRaisesRegex(ValueError, "actions"):
            with episodes.Writer(out, PENDULUM) as w:
                w.append(e)
        self.assertFalse(os.path.exists(out))
        self.assertEqual([f for f in os.listdir(self.dir) if f not in ("src.h5",)], [])
        with open(out, "wb") as f:
            f.write(b"not hdf5")
        with self.assertRaisesRegex(ValueError, "bad.h5"):
            episodes.open(out)


if __name__ == "__main__":
    unittest.main()

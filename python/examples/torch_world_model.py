#!/usr/bin/python3
"""Bring your own world model: a small PyTorch next-frame predictor trained on darkmatter
clips, scored by P1 (voe) on matched twin sets next to a C++ model, and probed (P3) for
object positions. docs/python.md walks through it.

    PYTHONPATH=build/python python/examples/torch_world_model.py --out runs/py-wm \
        [--cpp-model RUN_DIR] [--steps 300]
"""

import argparse
import json
import os
import subprocess

import numpy as np
import torch
from torch import nn

import darkmatter
from darkmatter import episodes, protocols


class NextFrame(nn.Module):
    """Encodes the last two frames, predicts the next frame's features and pixels."""

    def __init__(self, size, latent=32):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(6, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
            nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, latent))
        self.decoder = nn.Sequential(nn.Linear(latent, 3 * size * size), nn.Sigmoid())
        self.size = size

    def features(self, frames):
        """(T+1, H, W, 3) uint8 -> (T+1, latent): each frame with the one before it."""
        x = frames.permute(0, 3, 1, 2).float() / 255.0
        previous = torch.cat([x[:1], x[:-1]])
        return self.encoder(torch.cat([previous, x], dim=1))

    def predict(self, frames):
        """Predicted frame t+1 from frames t-1, t: (T, 3, H, W)."""
        z = self.features(frames)[:-1]
        return self.decoder(z).view(-1, 3, self.size, self.size)


def train(model, clips, steps, seed):
    torch.manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    for step in range(steps):
        frames = torch.from_numpy(clips[rng.integers(len(clips))])
        target = frames[1:].permute(0, 3, 1, 2).float() / 255.0
        loss = (model.predict(frames) - target).abs().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step:4d}  L1 {loss.item():.4f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="runs/py-wm")
    parser.add_argument("--task", default="physics/collide")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--episodes", type=int, default=40)
    parser.add_argument("--sets", type=int, default=8)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--cpp-model", default=None, help="a C++ run directory to score beside")
    parser.add_argument("--darkmatter", default="build/darkmatter")
    o = parser.parse_args()
    os.makedirs(o.out, exist_ok=True)
    clips_file = os.path.join(o.out, "clips.h5")
    twins_file = os.path.join(o.out, "twins.h5")
    test_file = os.path.join(o.out, "test.h5")
    size = f"{o.size}x{o.size}"
    # 1. Clips to learn from and matched twin sets to score on (the CLI's recorder).
    for args, path in ((["--episodes", str(o.episodes)], clips_file),
                       (["--episodes", "10", "--split", "test"], test_file),
                       (["--twins", "--episodes", str(o.sets), "--split", "test"], twins_file)):
        if not os.path.exists(path):
            subprocess.run([o.darkmatter, "rollout", "--task", o.task, "--render", size, *args,
                            "--out", path], check=True, stdout=subprocess.DEVNULL)
    clips = [e["frames"] for e in episodes.open(clips_file)]
    # 2. Train the PyTorch model on the clips (seeded: initialisation and batches).
    torch.manual_seed(0)
    model = NextFrame(o.size)
    train(model, clips, o.steps, seed=0)
    model.eval()

    # 3. P1: surprise = per-frame prediction error; frame 0 and 1 have no prediction.
    @torch.no_grad()
    def surprise(frames, actions):
        error = torch.zeros(frames.shape[0], dtype=torch.float64)
        target = frames[1:].permute(0, 3, 1, 2).float() / 255.0
        error[1:] = (model.predict(frames) - target).abs().mean(dim=(1, 2, 3)).double()
        return error

    models = [o.cpp_model] if o.cpp_model else []
    voe = protocols.voe(surprise, twins_file, name="torch-next-frame", context=2,
                        tensors="torch", models=models,
                        out=os.path.join(o.out, "voe.json"))
    for entry in voe["models"]:
        print(f"voe {entry['name']:24s} set accuracy {entry['set_accuracy']:.3f} "
              f"[{entry['set_accuracy_ci'][0]:.2f}, {entry['set_accuracy_ci'][1]:.2f}]")

    # 4. P3: ridge probe from the model's features to object positions (held-out R²).
    if hasattr(protocols, "probe"):
        @torch.no_grad()
        def features(frames, actions):
            return model.features(frames).double()

        probe = protocols.probe(features, clips_file, test_file, fields=["positions"],
                                name="torch-next-frame", tensors="torch", models=models,
                                out=os.path.join(o.out, "probe.json"))
        print("probe R² (positions):", json.dumps(probe["r2"]))


if __name__ == "__main__":
    main()

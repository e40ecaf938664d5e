#!/usr/bin/python3
"""A PPO loop over darkmatter.EnvPool in PyTorch: a sketch to start from (Gaussian policy,
GAE, clipped objective), not the tuned C++ PPO of `darkmatter train --model ppo`.

    PYTHONPATH=build/python python/examples/ppo_envpool.py --task control/inverted_pendulum \
        --envs 16 --iterations 30
"""

import argparse

import numpy as np
import torch
from torch import nn

import darkmatter


class ActorCritic(nn.Module):
    def __init__(self, obs_dim, act_dim, hidden=64):
        super().__init__()
        self.pi = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, act_dim))
        self.v = nn.Sequential(nn.Linear(obs_dim, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.log_std = nn.Parameter(torch.full((act_dim,), -0.5))

    def dist(self, obs):
        return torch.distributions.Normal(self.pi(obs), self.log_std.exp())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", default="control/inverted_pendulum")
    p.add_argument("--envs", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--horizon", type=int, default=64)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument("--seed", type=int, default=0)
    o = p.parse_args()
    torch.manual_seed(o.seed)
    pool = darkmatter.EnvPool(o.task, num_envs=o.envs, threads=o.threads, seed=o.seed)
    n, obs_dim = o.envs, pool.single_observation_space.shape[0]
    act_dim = pool.single_action_space.shape[0]
    low = torch.as_tensor(np.maximum(pool.single_action_space.low, -10.0))
    high = torch.as_tensor(np.minimum(pool.single_action_space.high, 10.0))
    net = ActorCritic(obs_dim, act_dim).double()
    optimiser = torch.optim.Adam(net.parameters(), lr=3e-4)
    obs, _ = pool.reset()
    obs = torch.tensor(obs)                 # copy: the pool's view is overwritten next step
    first = torch.ones(n, dtype=torch.bool)  # rows whose step is an autoreset (no transition)
    returns, episode_return = [], np.zeros(n)
    for it in range(o.iterations):
        buf = {k: [] for k in ("obs", "act", "logp", "rew", "done", "val", "valid")}
        for t in range(o.horizon):
            with torch.no_grad():
                d = net.dist(obs)
                act = d.sample()
                value = net.v(obs).squeeze(-1)
            next_obs, reward, terminated, truncated, _ = pool.step(
                torch.clamp(act, low, high).numpy())
            valid = ~first  # an autoreset step carries no transition of the policy's action
            for k, v in (("obs", obs), ("act", act), ("logp", d.log_prob(act).sum(-1)),
                         ("rew", torch.tensor(reward)), ("val", value), ("valid", valid),
                         ("done", torch.tensor(terminated | truncated))):
                buf[k].append(v)
            episode_return += np.where(valid.numpy(), reward, 0.0)
            for i in np.flatnonzero(terminated | truncated):
                returns.append(episode_return[i])
                episode_return[i] = 0.0
            first = torch.tensor(terminated | truncated)
            obs = torch.tensor(next_obs)
        with torch.no_grad():
            next_value = net.v(obs).squeeze(-1)
        # GAE (gamma 0.99, lambda 0.95), cut at episode ends.
        adv, last = [], torch.zeros(n, dtype=torch.float64)
        for t in reversed(range(o.horizon)):
            nv = next_value if t == o.horizon - 1 else buf["val"][t + 1]
            nonterminal = (~buf["done"][t]).double()
            delta = buf["rew"][t] + 0.99 * nv * nonterminal - buf["val"][t]
            last = delta + 0.99 * 0.95 * nonterminal * last
            adv.insert(0, last)
        adv = torch.stack(adv)
        ret = adv + torch.stack(buf["val"])
        mask = torch.stack(buf["valid"])
        b = {k: torch.stack(v)[mask] for k, v in buf.items() if k not in ("valid",)}
        a, r = adv[mask], ret[mask]
        a = (a - a.mean()) / (a.std() + 1e-8)
        for epoch in range(4):
            d = net.dist(b["obs"])
            ratio = (d.log_prob(b["act"]).sum(-1) - b["logp"]).exp()
            policy_loss = -torch.min(ratio * a, ratio.clamp(0.8, 1.2) * a).mean()
            value_loss = (net.v(b["obs"]).squeeze(-1) - r).pow(2).mean()
            optimiser.zero_grad()
            (policy_loss + 0.5 * value_loss).backward()
            optimiser.step()
        recent = np.mean(returns[-20:]) if returns else float("nan")
        print(f"iteration {it:3d}  episodes {len(returns):5d}  mean return (last 20) {recent:8.2f}")


if __name__ == "__main__":
    main()

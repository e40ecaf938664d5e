#!/usr/bin/python3
"""Reference for `darkmatter bench train`: the `jepa` world model in Debian's python3-torch
(state MLP, global pixel CNN, or the spatial pixel model: feature map + conv predictor).

The same architecture, loss (with the same metrics read back every step), Adam optimiser
and EMA target update as worldmodel/{encoders,latent_model,jepa,world_model,trainer}.cc,
written the way a PyTorch user would. `darkmatter bench train` starts this script, which

  1. builds the model from the options on its command line and prints one JSON line:
     {"parameters": N, "trainable": T, "shapes": {name: shape}, "initial": {metric: value}}
     after loading the C++ model's initial weights and the batch from --data (so the
     initial loss can be compared with the C++ one); a mismatch of names or shapes is
     reported as {"error": ...} instead;
  2. then answers commands on stdin, one per line:
     "run W S" -> W warm-up steps (not timed), then S timed steps
                  -> {"steps_per_s": x, "seconds": wall, "cpu_seconds": process CPU time}
     "quit"    -> exits.

Run by hand: /usr/bin/python3 scripts/bench_train_reference.py --help
"""

import argparse
import json
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F


def mlp(n_in, hidden, n_out):
    """in -> hidden -> hidden -> out with GELU between (encoders.cc Mlp)."""
    return nn.Sequential(nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, hidden),
                         nn.GELU(), nn.Linear(hidden, n_out))


def conv_encoder(frame_size, c, hidden, n_out):
    """Four stride-2 4x4 convolutions, then an MLP head (encoders.cc ConvEncoder)."""
    s = frame_size // 16
    return nn.Sequential(
        nn.Conv2d(3, c, 4, stride=2, padding=1), nn.GELU(),
        nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), nn.GELU(),
        nn.Conv2d(2 * c, 4 * c, 4, stride=2, padding=1), nn.GELU(),
        nn.Conv2d(4 * c, 4 * c, 4, stride=2, padding=1), nn.GELU(),
        nn.Flatten(), nn.Linear(4 * c * s * s, hidden), nn.GELU(), nn.Linear(hidden, n_out))


class AddCoords(nn.Module):
    """Appends x, y coordinate channels in [-1, 1] (encoders.cc AddCoords)."""

    def forward(self, maps):
        n, _, h, w = maps.shape
        ys = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(n, 1, h, w)
        xs = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(n, 1, h, w)
        return torch.cat([maps, xs, ys], 1)


def spatial_encoder(frame_size, c, map_size, map_channels):
    """Coordinates, stride-2 4x4 convolutions down to map x map, a 3x3 and a 1x1 convolution;
    the map flattened channel-major (encoders.cc SpatialConvEncoder)."""
    layers, width_in, size, layer = [AddCoords()], 5, frame_size, 0
    while size > map_size:
        width = c if layer == 0 else 2 * c
        layers += [nn.Conv2d(width_in, width, 4, stride=2, padding=1), nn.GELU()]
        width_in, size, layer = width, size // 2, layer + 1
    layers += [nn.Conv2d(width_in, width_in, 3, padding=1), nn.GELU(),
               nn.Conv2d(width_in, map_channels, 1), nn.Flatten()]
    return nn.Sequential(*layers)


class SpatialPredictor(nn.Module):
    """Three 3x3 convolutions over the stacked context maps plus coordinates, FiLM from the
    action after the first, a 1x1 convolution to the map's change (encoders.cc)."""

    def __init__(self, context, map_channels, map_size, cond_dim, hidden):
        super().__init__()
        self.context, self.map_channels, self.map_size = context, map_channels, map_size
        self.cond_dim = cond_dim
        self.coords = AddCoords()
        self.add_module("in", nn.Conv2d(context * map_channels + 2, hidden, 3, padding=1))
        self.mid = nn.Conv2d(hidden, hidden, 3, padding=1)
        self.mid2 = nn.Conv2d(hidden, hidden, 3, padding=1)
        self.out = nn.Conv2d(hidden, map_channels, 1)
        if cond_dim > 0:
            self.film = nn.Linear(cond_dim, 2 * hidden)

    def forward(self, x):
        n, d = x.shape[0], self.map_channels * self.map_size ** 2
        maps = x[:, :self.context * d].reshape(n, self.context * self.map_channels,
                                               self.map_size, self.map_size)
        h = F.gelu(getattr(self, "in")(self.coords(maps)))
        if self.cond_dim > 0:
            film = self.film(x[:, self.context * d:self.context * d + self.cond_dim])
            k = h.shape[1]
            h = h * (1 + film[:, :k].view(n, k, 1, 1)) + film[:, k:].view(n, k, 1, 1)
        h = F.gelu(self.mid(h))
        h = F.gelu(self.mid2(h))
        return self.out(h).reshape(n, d)


def spatial_vicreg(maps):
    """VICReg per location of maps (N x C x P) (latent_model.cc SpatialVicRegTerms)."""
    x = maps.permute(2, 0, 1)
    n, c = x.shape[1], x.shape[2]
    centred = x - x.mean(1, keepdim=True)
    spread = torch.sqrt(centred.pow(2).mean(1) + 1e-4)
    variance = torch.relu(1.0 - spread).mean()
    cov = torch.bmm(centred.transpose(1, 2), centred) / max(n - 1, 1)
    off_diagonal = cov - torch.diag_embed(torch.diagonal(cov, 0, 1, 2))
    covariance = off_diagonal.pow(2).sum((1, 2)).mean() / c
    return variance, covariance, spread


def vicreg(z):
    """Variance hinge, covariance and per-dimension std of embeddings (N x D)."""
    n, d = z.shape
    centred = z - z.mean(0)
    spread = torch.sqrt(centred.pow(2).mean(0) + 1e-4)
    variance = torch.relu(1.0 - spread).mean()
    cov = centred.t().mm(centred) / max(n - 1, 1)
    off_diagonal = cov - torch.diag(torch.diag(cov))
    covariance = off_diagonal.pow(2).sum() / d
    return variance, covariance, spread


class Jepa(nn.Module):
    """worldmodel::JepaImpl: online encoder, residual predictor, EMA target encoder."""

    def __init__(self, o):
        super().__init__()
        self.o = o
        self.spatial = o.input == "spatial"
        if self.spatial:
            o.latent_dim = o.map * o.map * o.map_channels
            make = lambda: spatial_encoder(o.frame_size, o.channels, o.map, o.map_channels)
            self.predictor = nn.Sequential(
                SpatialPredictor(o.context, o.map_channels, o.map, o.act_dim, o.hidden))
        else:
            make = (lambda: conv_encoder(o.frame_size, o.channels, o.hidden, o.latent_dim)) \
                if o.input == "pixels" else (lambda: mlp(o.obs_dim, o.hidden, o.latent_dim))
            self.predictor = mlp(o.context * o.latent_dim + o.act_dim, o.hidden, o.latent_dim)
        self.encoder = make()
        norm_dim = 0 if o.input in ("pixels", "spatial") else o.obs_dim
        self.register_buffer("obs_mean", torch.zeros(norm_dim))
        self.register_buffer("obs_std", torch.ones(norm_dim))
        self.mask_token = nn.Parameter(torch.zeros(o.latent_dim), requires_grad=False)
        self.target_encoder = make()
        with torch.no_grad():
            for t, p in zip(self.target_encoder.parameters(), self.encoder.parameters()):
                t.copy_(p)
                t.requires_grad_(False)

    def apply_net(self, net, obs):
        b, l = obs.shape[:2]
        if self.o.input in ("pixels", "spatial"):
            return net(obs.reshape(b * l, *obs.shape[2:]) - 0.5).view(b, l, -1)
        return net((obs - self.obs_mean) / self.obs_std)

    def predict(self, context, action):
        b = context.shape[0]
        return context[:, -1] + self.predictor(torch.cat([context.reshape(b, -1), action], 1))

    def rollout(self, context, actions):
        predicted = []
        for m in range(actions.shape[1]):
            nxt = self.predict(context, actions[:, m])
            predicted.append(nxt)
            context = torch.cat([context[:, 1:], nxt.unsqueeze(1)], 1)
        return torch.stack(predicted, 1)

    def loss(self, obs, actions):
        """Total loss and the metrics the C++ trainer reads back every step."""
        o = self.o
        c, m, d = o.context, o.horizon, o.latent_dim
        z = self.apply_net(self.encoder, obs)
        with torch.no_grad():
            target_all = self.apply_net(self.target_encoder, obs)
        target = target_all[:, c:c + m]
        context = z[:, :c]  # mask_ratio 0: no masking
        prediction = F.smooth_l1_loss(self.rollout(context, actions[:, c - 1:c - 1 + m]), target)
        copy = target_all[:, c - 1].unsqueeze(1).expand_as(target)
        copy_baseline = F.smooth_l1_loss(copy, target).item()
        if self.spatial:
            variance, covariance, spread = spatial_vicreg(
                z.reshape(-1, o.map_channels, o.map * o.map))
        else:
            variance, covariance, spread = vicreg(z.reshape(-1, d))
        total = prediction + o.variance_weight * variance + o.covariance_weight * covariance
        metrics = {"prediction": prediction.item(), "copy_baseline": copy_baseline,
                   "variance": variance.item(), "covariance": covariance.item(),
                   "embedding_std": spread.mean().item(),
                   "embedding_std_min": spread.min().item(), "total": total.item()}
        return total, metrics

    @torch.no_grad()
    def after_optimizer_step(self):
        for t, p in zip(self.target_encoder.parameters(), self.encoder.parameters()):
            t.mul_(self.o.ema).add_(p, alpha=1.0 - self.o.ema)


def read_floats(path, shape):
    with open(path, "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.float32).reshape(shape).clone()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--input", choices=["state", "pixels", "spatial"], required=True)
    p.add_argument("--data", required=True, help="folder with manifest.json, *.bin")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--obs-dim", type=int, default=0)
    p.add_argument("--act-dim", type=int, required=True)
    p.add_argument("--frame-size", type=int, default=64)
    p.add_argument("--latent-dim", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--channels", type=int, required=True)
    p.add_argument("--context", type=int, required=True)
    p.add_argument("--horizon", type=int, required=True)
    p.add_argument("--ema", type=float, required=True)
    p.add_argument("--variance-weight", type=float, required=True)
    p.add_argument("--covariance-weight", type=float, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--map", type=int, default=8, help="spatial: feature-map side")
    p.add_argument("--map-channels", type=int, default=16, help="spatial: channels per location")
    o = p.parse_args()
    torch.set_num_threads(o.threads)

    model = Jepa(o)
    params = dict(model.named_parameters())
    hello = {"parameters": sum(t.numel() for t in params.values()),
             "trainable": sum(t.numel() for t in params.values() if t.requires_grad),
             "shapes": {name: list(t.shape) for name, t in params.items()},
             "threads": torch.get_num_threads(), "torch": torch.__version__}

    with open(os.path.join(o.data, "manifest.json")) as f:
        manifest = json.load(f)
    expected = {e["name"]: e["shape"] for e in manifest["tensors"]}
    mine = dict(hello["shapes"])
    mine.update({name: list(t.shape) for name, t in model.named_buffers()})
    if mine != expected:
        hello["error"] = "python model tensors %s differ from the C++ model's %s" % (
            sorted(mine.items()), sorted(expected.items()))
        print(json.dumps(hello), flush=True)
        return 1
    values = read_floats(os.path.join(o.data, "tensors.bin"), (manifest["numel"],))
    state = {}
    offset = 0
    for e in manifest["tensors"]:
        n = 1
        for s in e["shape"]:
            n *= s
        state[e["name"]] = values[offset:offset + n].reshape(e["shape"])
        offset += n
    model.load_state_dict(state, strict=True)
    obs = read_floats(os.path.join(o.data, "observations.bin"), manifest["observations"])
    actions = read_floats(os.path.join(o.data, "actions.bin"), manifest["actions"])

    model.train()
    optimizer = torch.optim.Adam([t for t in model.parameters() if t.requires_grad], lr=o.lr)
    _, hello["initial"] = model.loss(obs, actions)
    print(json.dumps(hello), flush=True)

    def step():
        total, _ = model.loss(obs, actions)
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        model.after_optimizer_step()

    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        warmup, steps = int(words[1]), int(words[2])
        for _ in range(warmup):
            step()
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        seconds = time.perf_counter() - start
        cpu_seconds = time.process_time() - cpu_start
        print(json.dumps({"steps_per_s": steps / seconds, "seconds": seconds,
                          "cpu_seconds": cpu_seconds}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""FedAlt and FedSim in Flower's simulation engine: a real peer, measured beside altsim.

Install with `pip install "altsim[peers]"` (flwr with its Ray simulation backend).

What runs
---------
The same `coupled_quadratic` instance on both sides. On Flower's side it is written as Flower's
users write a personalized algorithm with the Message API (flwr >= 1.20):

- a `ClientApp` whose `train` handler runs the client's local steps on its own (u, v_i), keeping
  v_i in the node's `context.state` between rounds, and whose `evaluate` handler returns the
  client's gradients and loss at the current (u, v_i);
- a `ServerApp` with a `FedAvg` strategy that averages the returned u (equal weights, as in the
  paper's algorithms), and a federated evaluation after every round.

The local steps are written out per client, from the paper's pseudo-code (the same as
docs/theory.md section 2), not taken from altsim's batched rounds: the comparison checks altsim's
batched engine against an independent per-client implementation inside a real framework.

Same clients, same noise
------------------------
Flower's strategy samples nodes with its own random generator. To compare trajectories exactly,
the strategy here overrides `configure_train` to send the round's messages to the clients that
altsim's counter-based stream samples at (seed, t), and each client draws its gradient noise from
the same stream at (seed, t, client, step, block). With those two shared, the trajectories agree
to rounding: float64 throughout, and the server's average sums in another order (measured by
`compare_trajectories`: 1.5e-15 relative at most over n = 10, m = 3, 4 rounds, both algorithms, in
`altsim bench --peers`; tests assert 1e-12).

flwr 1.42 marks `run_simulation` deprecated in favour of the `flwr run` command, which runs an app
from its own project folder; `run_simulation` is the in-process entry to the same simulation
engine (Ray backend), which a comparison inside one Python process needs.

Timing
------
`time_rounds` times training rounds alone on both sides (no evaluation), at the same n, m and
local steps; `bench_against_altsim` reports altsim's speedup at n = 100 and n = 1000, m = n/10.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from altsim.rates import FedAlt, FedSim, simulate
from altsim.rates.noise import NoiseStream, stochastic_grad_u, stochastic_grad_v
from altsim.rates.timing import Rounds
from altsim.synthetic import make_problem
from altsim.theory import require

PROBLEM = dict(d_u=10, d_v=10, chi=0.5, delta=1.0, sigma_u=0.1, sigma_v=0.1)
"""The coupled_quadratic parameters of the comparison (n is set per run)."""


def require_flower():
    """Import flwr, or raise ImportError naming the extra to install."""
    try:
        import flwr  # noqa: F401
        from flwr.simulation import run_simulation  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f'the Flower peer needs flwr with its simulation engine: pip install "altsim[peers]" ({e})'
        ) from None


@dataclass(frozen=True)
class PeerSpec:
    """One run, as both sides see it."""

    algorithm: str
    """'fedalt' or 'fedsim'."""
    n: int
    """Clients (Flower: supernodes)."""
    m: int
    """Clients per round."""
    rounds: int
    """Training rounds."""
    seed: int = 0
    """Run seed: altsim's sampling and noise stream, shared by both sides."""
    gamma_u: float = 0.1
    """Step size on u."""
    gamma_v: float = 0.1
    """Step size on v."""
    tau: int = 2
    """Local steps (FedAlt: per block; FedSim: joint)."""
    evaluate: bool = True
    """Measure (||grad_u F||^2, mean ||grad_v F_i||^2, F) after every round (off when timing rounds alone)."""
    problem: dict = field(default_factory=lambda: dict(PROBLEM))
    """coupled_quadratic parameters besides n."""

    def __post_init__(self) -> None:

        if self.algorithm not in ("fedalt", "fedsim"):
            raise ValueError(
                f"algorithm={self.algorithm!r}: the Flower peer implements 'fedalt' and 'fedsim'"
            )
        require("n", self.n, low=1, integer=True)
        require("m", self.m, low=1, high=self.n, integer=True)
        require("rounds", self.rounds, low=1, integer=True)
        require("tau", self.tau, low=1, integer=True)


_PROBLEMS: dict = {}


def _problem(spec: PeerSpec):
    """The instance, built once per process (a Ray worker builds it on its first message)."""

    key = (spec.n, tuple(sorted(spec.problem.items())))
    if key not in _PROBLEMS:
        _PROBLEMS[key] = make_problem(
            "coupled_quadratic", dict(spec.problem, n=spec.n), seed=0, dtype="float64"
        )
    return _PROBLEMS[key]


def _noise(spec: PeerSpec):

    return NoiseStream(torch.tensor([spec.seed]), torch.device("cpu"), torch.float64)


# -- the client's work, per client, from the paper's pseudo-code --------------------------------------
def client_local_steps(
    spec: PeerSpec, i: int, t: int, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One client's local steps in round t from (u^t, v_i): FedAlt (v first, then u at the new v) or FedSim."""

    p, noise = _problem(spec), _noise(spec)
    c = torch.tensor([[i]])
    uu = torch.as_tensor(u, dtype=torch.float64).view(1, 1, -1)
    vv = torch.as_tensor(v, dtype=torch.float64).view(1, 1, -1)
    if spec.algorithm == "fedalt":
        for k in range(spec.tau):
            vv = vv - spec.gamma_v * stochastic_grad_v(p, noise, t, k, uu, vv, c)
        for k in range(spec.tau):
            uu = uu - spec.gamma_u * stochastic_grad_u(p, noise, t, k, uu, vv, c)
    else:
        for k in range(spec.tau):
            g = stochastic_grad_u(p, noise, t, k, uu, vv, c)
            h = stochastic_grad_v(p, noise, t, k, uu, vv, c)
            uu, vv = uu - spec.gamma_u * g, vv - spec.gamma_v * h
    return uu.reshape(-1).numpy(), vv.reshape(-1).numpy()


def client_measure(
    spec: PeerSpec, i: int, u: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """(grad_u F_i, ||grad_v F_i||^2, F_i) at (u, v_i): what the server needs for Delta_t."""
    p = _problem(spec)
    c = torch.tensor([[i]])
    uu = torch.as_tensor(u, dtype=torch.float64).view(1, 1, -1)
    vv = torch.as_tensor(v, dtype=torch.float64).view(1, 1, -1)
    return (
        p.grad_u(uu, vv, c).reshape(-1).numpy(),
        float(p.grad_v(uu, vv, c).pow(2).sum()),
        float(p.loss(uu, vv, c).reshape(-1)[0]),
    )


# -- the Flower apps -------------------------------------------------------------------------------------
def build_apps(spec: PeerSpec, record: dict):
    """(ServerApp, ClientApp) for `spec`; the server writes u^t and the measurements into `record`."""
    from flwr.app import ArrayRecord, Context, Message, MetricRecord, RecordDict
    from flwr.clientapp import ClientApp
    from flwr.serverapp import Grid, ServerApp
    from flwr.serverapp.strategy import FedAvg

    client_app = ClientApp()

    def arrays(**named) -> ArrayRecord:  # Flower's ArrayRecord takes a torch state_dict
        return ArrayRecord({k: torch.as_tensor(np.ascontiguousarray(v)) for k, v in named.items()})

    def _my_v(context: Context, i: int) -> np.ndarray:
        if "v" not in context.state:  # first visit: the initial v_i^0
            context.state["v"] = arrays(v=_problem(spec).initial_point()[1][i].numpy())
        return context.state["v"]["v"].numpy()

    @client_app.train()
    def train(msg: Message, context: Context) -> Message:
        i = int(context.node_config["partition-id"])
        t = int(msg.content["config"]["t"])
        u = msg.content["arrays"]["u"].numpy()
        u_new, v_new = client_local_steps(spec, i, t, u, _my_v(context, i))
        context.state["v"] = arrays(v=v_new)
        content = RecordDict(
            {"arrays": arrays(u=u_new), "metrics": MetricRecord({"num-examples": 1})}
        )
        return Message(content=content, reply_to=msg)

    @client_app.evaluate()
    def evaluate(msg: Message, context: Context) -> Message:
        i = int(context.node_config["partition-id"])
        gu, gv2, F = client_measure(spec, i, msg.content["arrays"]["u"].numpy(), _my_v(context, i))
        content = RecordDict(
            {
                "arrays": arrays(grad_u=gu),
                "metrics": MetricRecord(
                    {"grad_v_sq": gv2, "loss": F, "client": i, "num-examples": 1}
                ),
            }
        )
        return Message(content=content, reply_to=msg)

    class SharedSampling(FedAvg):
        """FedAvg whose training round goes to the clients altsim's stream samples at (seed, t)."""

        def __init__(self, node_of_client: dict, **kw):
            super().__init__(**kw)
            self.node_of_client = node_of_client

        def configure_train(self, server_round, arrays, config, grid):
            t = server_round - 1
            clients = _noise(spec).sample_clients(t, spec.n, spec.m)[0].tolist()
            config["t"] = t
            record = RecordDict({self.arrayrecord_key: arrays, self.configrecord_key: config})
            return self._construct_messages(
                record, [self.node_of_client[c] for c in clients], "train"
            )

        def aggregate_train(self, server_round, replies):
            arrays, metrics = super().aggregate_train(server_round, replies)
            record["u"].append(arrays["u"].numpy().copy())
            return arrays, metrics

        def aggregate_evaluate(self, server_round, replies):
            if not spec.evaluate:
                return None
            replies = [r for r in replies if r.has_content()]
            if len(replies) != spec.n:
                raise RuntimeError(
                    f"round {server_round}: {len(replies)} of {spec.n} clients answered the evaluation"
                )
            gu = np.mean([r.content["arrays"]["grad_u"].numpy() for r in replies], axis=0)
            record["grad_u_sq"].append(float(np.sum(gu**2)))
            record["grad_v_sq_mean"].append(
                float(np.mean([r.content["metrics"]["grad_v_sq"] for r in replies]))
            )
            record["loss"].append(float(np.mean([r.content["metrics"]["loss"] for r in replies])))
            return None

    server_app = ServerApp()

    @server_app.main()
    def main(grid: Grid, context: Context) -> None:
        # which node holds which client (partition): ask every node once
        deadline = time.monotonic() + 300
        while len(nodes := list(grid.get_node_ids())) < spec.n:  # supernodes register as they start
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"only {len(nodes)} of {spec.n} Flower nodes came up within 300 s"
                )
            time.sleep(0.05)
        asks = [
            Message(
                content=RecordDict({"arrays": arrays(u=np.zeros(1))}),
                dst_node_id=nd,
                message_type="query",
            )
            for nd in nodes
        ]
        node_of_client = {}
        for reply in grid.send_and_receive(asks):
            if reply.has_error():
                raise RuntimeError(
                    f"node {reply.metadata.src_node_id} failed the client query: {reply.error.reason}"
                )
            node_of_client[int(reply.content["metrics"]["client"])] = reply.metadata.src_node_id
        strategy = SharedSampling(
            node_of_client,
            fraction_train=spec.m / spec.n,
            fraction_evaluate=1.0 if spec.evaluate else 0.0,
        )
        record["start"] = time.perf_counter()
        strategy.start(
            grid=grid,
            initial_arrays=arrays(u=_problem(spec).initial_point()[0].numpy()),
            num_rounds=spec.rounds,
        )
        record["end"] = time.perf_counter()

    @client_app.query()
    def query(msg: Message, context: Context) -> Message:
        return Message(
            content=RecordDict(
                {"metrics": MetricRecord({"client": int(context.node_config["partition-id"])})}
            ),
            reply_to=msg,
        )

    return server_app, client_app


def run_flower(spec: PeerSpec, backend_config: dict | None = None) -> dict:
    """Run `spec` in Flower's simulation engine; returns u^t per round, the measurements and the
    seconds of the training rounds (`seconds`, the strategy's loop: startup and the node query excluded)."""
    require_flower()
    import logging

    from flwr.simulation import run_simulation

    record: dict[str, Any] = {"u": [], "grad_u_sq": [], "grad_v_sq_mean": [], "loss": []}
    server_app, client_app = build_apps(spec, record)
    logging.getLogger("flwr").setLevel(logging.WARNING)
    run_simulation(
        server_app=server_app,
        client_app=client_app,
        num_supernodes=spec.n,
        backend_name="ray",
        backend_config=backend_config or {"client_resources": {"num_cpus": 1, "num_gpus": 0.0}},
    )
    if "end" not in record:
        raise RuntimeError(f"the Flower run of {spec.algorithm} stopped before its last round")
    record["seconds"] = record["end"] - record["start"]
    return record


# -- altsim's side, and the comparisons -----------------------------------------------------------------
def altsim_algorithm(spec: PeerSpec):
    """altsim's own FedAlt or FedSim with the spec's step sizes and local steps (tau on both blocks), to run
    beside Flower's."""

    if spec.algorithm == "fedalt":
        return FedAlt(gamma_u=spec.gamma_u, gamma_v=spec.gamma_v, tau_u=spec.tau, tau_v=spec.tau)
    return FedSim(gamma_u=spec.gamma_u, gamma_v=spec.gamma_v, tau=spec.tau)


def compare_trajectories(spec: PeerSpec, flower_record: dict | None = None) -> dict:
    """Flower's measured trajectory against altsim's on the same clients and noise.

    Flower measures after each round t = 1..T, altsim before each round, so altsim runs T + 1 rounds
    and its rounds 1..T are compared. Returns the largest relative differences and both trajectories."""

    rec = flower_record or run_flower(spec)
    tr = simulate(
        _problem(spec),
        altsim_algorithm(spec),
        rounds=spec.rounds + 1,
        m=spec.m,
        seeds=[spec.seed],
        compile="off",
    )
    ours = {
        "grad_u_sq": tr.grad_u_sq[0, 1:],
        "grad_v_sq_mean": tr.grad_v_sq_mean[0, 1:],
        "loss": tr.objective_gap[0, 1:] + _problem(spec).certified_constants().F_lower,
    }
    diffs = {
        k: float(np.max(np.abs(np.asarray(rec[k]) - v) / np.maximum(np.abs(v), 1e-300)))
        for k, v in ours.items()
    }
    return {
        "max_relative_difference": max(diffs.values()),
        "per_quantity": diffs,
        "altsim": {k: v.tolist() for k, v in ours.items()},
        "flower": {k: list(rec[k]) for k in ours},
    }


def time_rounds(spec: PeerSpec) -> dict:
    """Seconds per training round, Flower (its strategy's loop) and altsim (the engine's rounds, eager), same spec."""
    import dataclasses

    spec = dataclasses.replace(spec, evaluate=False)
    # altsim first: Ray's workers from a previous simulation may still be winding down afterwards
    rounds = Rounds(_problem(spec), altsim_algorithm(spec), spec.m, [spec.seed])
    rounds(1)  # warm-up
    repeats = max(20, spec.rounds)
    t0 = time.perf_counter()
    rounds(repeats)
    ours = (time.perf_counter() - t0) / repeats
    flower = run_flower(spec)["seconds"] / spec.rounds
    return {
        "flower_seconds_per_round": flower,
        "altsim_seconds_per_round": ours,
        "speedup": flower / ours,
    }


def bench_against_altsim(quick: bool = False, say: Callable[[str], None] = print) -> dict:
    """The keys `altsim bench --peers` adds: Flower's rounds against altsim's at n = 100 and 1000, m = n/10,
    FedAlt with two local steps per block, and the trajectory check."""
    require_flower()
    out: dict = {}
    check = compare_trajectories(PeerSpec("fedalt", n=10, m=3, rounds=4))
    check_sim = compare_trajectories(PeerSpec("fedsim", n=10, m=3, rounds=4))
    out["flower_trajectory_max_relative_difference"] = max(
        check["max_relative_difference"], check_sim["max_relative_difference"]
    )
    say(
        f"Flower vs altsim trajectories (n=10, m=3, 4 rounds, FedAlt and FedSim): max relative difference "
        f"{out['flower_trajectory_max_relative_difference']:.2g}"
    )
    for n in (100,) if quick else (100, 1000):
        rounds = 3 if quick else (10 if n <= 100 else 5)
        timing = time_rounds(PeerSpec("fedalt", n=n, m=max(1, n // 10), rounds=rounds))
        out[f"flower_speedup_n{n}"] = timing["speedup"]
        out[f"flower_timing_n{n}"] = timing
        say(
            f"n={n}: Flower {timing['flower_seconds_per_round'] * 1e3:.1f} ms/round, altsim "
            f"{timing['altsim_seconds_per_round'] * 1e3:.2f} ms/round: {timing['speedup']:.0f}x"
        )
    out["flower_version"] = __import__("flwr").__version__
    return out

"""A real multi-objective architecture search: accuracy vs MACs on scikit-learn's digits.

Optuna (NSGA-II) proposes candidates of specs/search/digits_space.net; netdsl checks each
one statically first. Invalid and infeasible candidates (over the spec's `require macs <=
400K`) and duplicates (the same network as an earlier trial, by canonical hash) are never
trained; every other candidate is built with PyTorch and trained for a few epochs. The
Pareto front (test accuracy up, MACs down) is printed, with how many trainings the static
checks saved.

    python examples/search_digits.py                  # 40 trials, 4 epochs each
    python examples/search_digits.py --small          # what CI runs: 8 trials, 1 epoch
    python examples/search_digits.py --storage sqlite:///digits.db   # resumable

Needs PyTorch, scikit-learn and Optuna (`pip install optuna`).
"""

from __future__ import annotations

import argparse
import time

import optuna
import torch
import torch.nn.functional as F

import netdsl
from netdsl.report import units
from netdsl.search import optuna as nso

SPACE = "specs/search/digits_space.net"


def digits(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """The 1,797 digits as [N, 1, 8, 8] floats in [0, 1], split 75/25 (stratified)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = torch.tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(data.target)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.25, random_state=seed,
                                              stratify=y)
    return x_tr, y_tr, x_te, y_te


def trainer(epochs: int, seed: int):
    """train(candidate) -> (test accuracy, MACs): a few epochs of Adam, batch 64."""
    x_tr, y_tr, x_te, y_te = digits(seed)
    count = {"trainings": 0}

    def train(candidate) -> tuple[float, float]:
        count["trainings"] += 1
        torch.manual_seed(seed)
        model = candidate.build()
        optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
        for _ in range(epochs):
            model.train()
            order = torch.randperm(len(x_tr))
            for start in range(0, len(order), 64):
                batch = order[start:start + 64]
                optimizer.zero_grad()
                F.cross_entropy(model(x_tr[batch]), y_tr[batch]).backward()
                optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_te).argmax(1) == y_te).float().mean().item()
        return accuracy, float(candidate.totals["macs"])

    return train, count


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--storage", help="an Optuna storage URL (default: in memory)")
    parser.add_argument("--small", action="store_true", help="8 trials of 1 epoch (CI)")
    args = parser.parse_args(argv)
    if args.small:
        args.trials, args.epochs = 8, 1
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(1)

    space = netdsl.load(SPACE).space()
    print(f"space: {len(space.decisions)} decisions, {space.size():,} candidates, "
          f"constraints: {', '.join(c.text for c in space.constraints) or 'from the spec'}")
    study = nso.create_study(space, directions=["maximize", "minimize"],
                             storage=args.storage or optuna.storages.InMemoryStorage(),
                             study_name="digits", sampler="nsga2", seed=args.seed)
    train, count = trainer(args.epochs, args.seed)
    start = time.perf_counter()
    summary = nso.optimize(study, space, train, n_trials=args.trials)
    elapsed = time.perf_counter() - start
    saved = summary.invalid + summary.infeasible + summary.duplicate
    print(f"{summary.trials} trials in {elapsed:.1f} s: {count['trainings']} trained, "
          f"{saved} trainings saved by the static checks ({summary.invalid} invalid, "
          f"{summary.infeasible} infeasible, {summary.duplicate} duplicate)")
    print("Pareto front (test accuracy, MACs):")
    for t in sorted(summary.pareto, key=lambda t: t.values[1]):  # cheapest first
        decisions = ", ".join(f"{k}={v}" for k, v in nso.info(t)["decisions"].items())
        print(f"  accuracy {t.values[0]:.3f}  MACs {units.count(int(t.values[1])):>9}  "
              f"{decisions}")
    return {"trials": summary.trials, "trained": count["trainings"], "saved": saved,
            "pareto": len(summary.pareto), "unique": summary.unique}


if __name__ == "__main__":
    main()

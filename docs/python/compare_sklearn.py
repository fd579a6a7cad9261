"""The `nn` command line with default settings against scikit-learn's MLP defaults.

For each data set: a fixed, stratified (for classes) 75/25 split (random_state=0) written
to CSV; then, for seeds 0-4, `nn train --data train.csv --label target --seed s` and
`nn eval`, beside scikit-learn's `MLPClassifier()` / `MLPRegressor()` (default settings,
`random_state=s`) on standardised inputs (and, for regression, a standardised target).
Prints one table: the mean test accuracy (R² for regression) of each and the difference.

    python3 docs/python/compare_sklearn.py --nn target/release/nn [--out DIR] [--json FILE]

Needs scikit-learn (and statsmodels for the `fair` table).
"""

import argparse
import json
import os
import subprocess
import sys
import warnings

import numpy as np
from sklearn import datasets
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEEDS = range(5)


def tables():
    """(name, task, features, feature names, labels) of every data set."""
    for name, loader in [
        ("iris", datasets.load_iris),
        ("wine", datasets.load_wine),
        ("breast_cancer", datasets.load_breast_cancer),
        ("digits", datasets.load_digits),
    ]:
        d = loader()
        names = [f.replace(" ", "_").replace("(", "").replace(")", "") for f in d.feature_names]
        labels = np.array(d.target_names)[d.target] if name != "digits" else d.target
        yield name, "classification", d.data, names, labels
    d = datasets.load_diabetes()
    yield "diabetes", "regression", d.data, list(d.feature_names), d.target
    try:
        import statsmodels.api as sm

        f = sm.datasets.fair.load_pandas().data
        labels = np.where(f["affairs"] > 0, "yes", "no")
        x = f.drop(columns=["affairs"])
        yield "fair", "classification", x.to_numpy(), list(x.columns), labels
    except ImportError:
        print("statsmodels missing: skipping `fair`", file=sys.stderr)


def write_csv(path, x, names, y):
    with open(path, "w") as f:
        f.write(",".join(names + ["target"]) + "\n")
        for row, label in zip(x, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")


def nn_score(nn, task, train, test, seed, out):
    model = os.path.join(out, f"model-{seed}.safetensors")
    run = [nn, "train", "--data", train, "--label", "target", "--seed", str(seed),
           "--out", model, "--quiet"]
    subprocess.run(run, check=True, capture_output=True)
    ev = subprocess.run([nn, "eval", "--model", model, "--data", test, "--label", "target",
                         "--json"], check=True, capture_output=True, text=True)
    report = json.loads(ev.stdout)
    return report["accuracy"] if task == "classification" else report["r2"]


def sklearn_score(task, x_train, y_train, x_test, y_test, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if task == "classification":
            m = make_pipeline(StandardScaler(), MLPClassifier(random_state=seed))
            m.fit(x_train, y_train)
            return accuracy_score(y_test, m.predict(x_test))
        m = TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), MLPRegressor(random_state=seed)),
            transformer=StandardScaler())
        m.fit(x_train, y_train)
        return r2_score(y_test, m.predict(x_test))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nn", required=True)
    p.add_argument("--out", default="target/compare-sklearn")
    p.add_argument("--json")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    print("| data set | rows | metric | nn (mean of seeds 0-4) | scikit-learn | nn − sklearn |")
    print("|---|---|---|---|---|---|")
    for name, task, x, names, y in tables():
        strat = y if task == "classification" else None
        xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.25, random_state=0,
                                              stratify=strat)
        train, test = (os.path.join(a.out, f"{name}-{s}.csv") for s in ("train", "test"))
        write_csv(train, xtr, names, ytr)
        write_csv(test, xte, names, yte)
        ours = [nn_score(a.nn, task, train, test, s, a.out) for s in SEEDS]
        theirs = [sklearn_score(task, xtr, ytr, xte, yte, s) for s in SEEDS]
        metric = "accuracy" if task == "classification" else "R²"
        row = dict(name=name, rows=len(y), metric=metric, nn=ours, sklearn=theirs)
        rows.append(row)
        print(f"| {name} | {len(y)} | {metric} | {np.mean(ours):.4f} ({min(ours):.3f}–{max(ours):.3f}) "
              f"| {np.mean(theirs):.4f} ({min(theirs):.3f}–{max(theirs):.3f}) "
              f"| {np.mean(ours) - np.mean(theirs):+.4f} |", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Centring the embedding by the training frames' mean (SimpleShot's CL2N), measured offline on `embed` output.

An experiment, not part of the program: it re-scores one checkpoint's embedding with each pooled stage's unit
vectors moved by the mean unit vector of that stage over the training frames, then re-normalised, so that the
comparison with the embedding as `embed` writes it is paired (same weights, same frames). The three metrics follow
`eval`'s definitions (src/Evaluation/Metrics/TemporalMetrics.cs) at 5 frames/s, pos-window 0.5 s, neg-gap 2 s;
uncentred, they agree with `eval`'s report.json to 0.001 (tau uses every frame as a reference, not 64 a video).

    scripts/videossl embed --checkpoint RUN --source EVAL_CLIPS --out eval.npy --fps 5
    scripts/videossl embed --checkpoint RUN --source TRAINING_CLIPS --out train.npy --fps 5
    /usr/bin/python3 docs/experiments/centring.py eval.npy train.npy 128,256,512 1,1,1 1c,1c,1c

DIMS are the parts of the embedding (the pooled stages' channels in order: 128,256,512 for resnet18 stages 2-4;
twice over with --keep-imagenet, the kept ImageNet copy's parts second). Each SPEC gives a weight a part (0 drops
it), with `c` to centre that part (`c0.5`: move by half the mean). Needs python3-numpy (Debian's).
"""
import csv
import sys

import numpy as np


def unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def kendall_tau_b(x, y):
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    upper = np.triu_indices(len(x), 1)
    dx, dy = dx[upper], dy[upper]
    denominator = np.sqrt((dx != 0).sum() * (dy != 0).sum())
    return (dx * dy).sum() / denominator if denominator else np.nan


def metrics(embedding, video, seconds, pos_window=0.5, neg_gap=2.0):
    similarity = unit(embedding) @ unit(embedding).T
    precisions = []
    for query in range(len(embedding)):
        # Leave out the query and its own video's frames within neg-gap of it, as eval does.
        candidates = np.where(~((video == video[query]) & (np.abs(seconds - seconds[query]) < neg_gap - 1e-6)))[0]
        ranked = candidates[np.argsort(-similarity[query, candidates])]
        relevant = (video[ranked] == video[query]).astype(float)
        precision = np.cumsum(relevant) / np.arange(1, len(relevant) + 1)
        precisions.append((precision * relevant).sum() / relevant.sum())
    aucs, taus = [], []
    for name in sorted(set(video)):
        frames = np.where(video == name)[0]
        gap = np.abs(seconds[frames][:, None] - seconds[frames][None, :])
        within = similarity[np.ix_(frames, frames)]
        upper = np.triu_indices(len(frames), 1)
        near = within[upper][(gap[upper] > 0) & (gap[upper] <= pos_window + 1e-6)]
        far = within[upper][gap[upper] >= neg_gap - 1e-6]
        aucs.append((near[:, None] > far[None, :]).mean() + 0.5 * (near[:, None] == far[None, :]).mean())
        others = [np.arange(len(frames)) != reference for reference in range(len(frames))]
        taus.append(np.nanmean([kendall_tau_b(gap[r][keep], -within[r][keep]) for r, keep in enumerate(others)]))
    return np.mean(aucs), np.mean(taus), np.mean(precisions)


def main():
    evaluated, training, dims, specs = sys.argv[1], sys.argv[2], [int(d) for d in sys.argv[3].split(",")], sys.argv[4:]
    rows = list(csv.reader(open(evaluated[:-4] + ".csv")))[1:]
    video = np.array([row[0] for row in rows])
    seconds = np.array([float(row[2]) for row in rows])
    bounds = np.cumsum([0] + dims)
    split = lambda x: [unit(x[:, bounds[i]:bounds[i + 1]]) for i in range(len(dims))]
    parts, means = split(np.load(evaluated)), [part.mean(0) for part in split(np.load(training))]
    for spec in specs:
        chosen = []
        for part, mean, token in zip(parts, means, spec.split(",")):
            weight, _, shift = token.partition("c")
            if float(weight) == 0:
                continue
            amount = (float(shift) if shift else 1.0) if "c" in token else 0.0
            chosen.append(float(weight) * unit(part - amount * mean))
        auc, tau, mean_ap = metrics(np.concatenate(chosen, axis=1), video, seconds)
        print(f"{spec}: AUC {auc:.3f}, tau {tau:.3f}, mAP {mean_ap:.3f}", flush=True)


if __name__ == "__main__":
    main()

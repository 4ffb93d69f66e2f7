#!/usr/bin/env python3
"""How well do cheap predictors rank configurations, against an exhaustive sweep (issue 17).

Usage: /usr/bin/python3 scripts/predictor_spearman.py RUN_DIR [EXHAUSTIVE_LOG]

Reads a layer-level run folder of `hawx run` (scores_layer.csv) and the exhaustive search log
(default RUN_DIR/search/exhaustive_drop0.25.jsonl; every configuration with its validation
accuracy), and prints Spearman's rho (ties share their mean rank, as the tool's own) between
each predictor and the measured accuracy, over all configurations and over those within
3 points of the baseline:
  - sum of the layer hawx scores (the paper's model-level aggregate);
  - the configuration's power (the cost alone: dearer configurations are more accurate);
  - the single-layer drops added up (d_l(b): the accuracy lost with block b in layer l only,
    read from the sweep itself: an oracle that would cost layers x blocks evaluations), plain
    and floored at chance accuracy (a saturating additive model);
  - the hawx scores scaled per layer by one single-layer evaluation each (block T6 or T7).
"""
import csv
import json
import sys

import numpy as np


def parse(cfg, blocks, layers):
    a = [None] * layers
    for part in cfg.split():
        rng, b = part.split(':')
        for seg in rng.split(','):
            lo, hi = (map(int, seg.split('-')) if '-' in seg else (int(seg), int(seg)))
            for layer in range(lo, hi + 1):
                a[layer - 1] = blocks.index(b)
    return a


def ranks(v):
    order = np.argsort(v, kind='mergesort')
    r = np.empty(len(v))
    sv = v[order]
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and sv[j + 1] == sv[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2
        i = j + 1
    return r


def rho(x, y):
    return float(np.corrcoef(ranks(np.asarray(x, float)), ranks(np.asarray(y, float)))[0, 1])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    log = sys.argv[2] if len(sys.argv) > 2 else run + '/search/exhaustive_drop0.25.jsonl'
    lines = [json.loads(x) for x in open(log)]
    head = lines[0]
    blocks, base, layers = head['blocks'], head['baseline'], len(head['layers'])
    rows = [r for r in lines[1:] if 'configuration' in r]
    cfgs = np.array([parse(r['configuration'], blocks, layers) for r in rows])
    acc = np.array([r['accuracy'] for r in rows])
    power = np.array([r['power'] for r in rows])
    scores = np.zeros((layers, len(blocks)))
    for r in csv.DictReader(open(run + '/scores_layer.csv')):
        if r['block'] in blocks:
            scores[int(r['layer']) - 1, blocks.index(r['block'])] = float(r['sum'])
    index = {tuple(c): i for i, c in enumerate(cfgs)}
    exact = head.get('exact_block', 0)
    drops = np.zeros((layers, len(blocks)))
    for layer in range(layers):
        for b in range(len(blocks)):
            c = [exact] * layers
            c[layer] = b
            drops[layer, b] = base - acc[index[tuple(c)]]
    pick = (np.arange(layers), cfgs)
    hawx = scores[pick].sum(1)
    additive = drops[pick].sum(1)
    near = acc >= base - 3
    print(f'{len(rows)} configurations, {int((acc < 20).sum())} below 20% accuracy, '
          f'{int(near.sum())} within 3 points of {base}')
    print('predictor (of the accuracy)                         all      within 3 points')

    def line(name, pred):
        print(f'{name:50s} {rho(pred, acc):+.3f}   {rho(pred[near], acc[near]):+.3f}')

    line('- sum of layer hawx scores', -hawx)
    line('power (the cost alone)', power)
    line('- sum of single-layer drops (oracle)', -additive)
    line('max(10, baseline - sum of single-layer drops)', np.maximum(10.0, base - additive))
    for ref in ('T6', 'T7'):
        if ref not in blocks:
            continue
        r = blocks.index(ref)
        alpha = np.array([drops[l, r] / scores[l, r] if scores[l, r] > 0 else 0.0 for l in range(layers)])
        line(f'- sum of hawx scores x alpha_l (one {ref} eval per layer)', -(alpha[:, None] * scores)[pick].sum(1))


if __name__ == '__main__':
    main()

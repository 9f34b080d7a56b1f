"""The measurements behind the choices of issue 9:

    compare(net, mnist, sets)   "not a digit" methods side by side, on the development sets
                                (benchmarks/detector.py --compare)
    fit_segmentation(args)      segment.WEIGHTS and SKIP, on numbers made of MNIST training
                                digits (benchmarks/numbers.py --fit-segmentation)
    choose_cut_step(args)       cuts.STEP, the same way (benchmarks/numbers.py --cut-steps)
    choose_reader_weights(args) the weights of the window reader's two features, on
                                numbers of training digits 50,000-59,999, which no piece
                                it trained on came from (benchmarks/numbers.py
                                --reader-weights)
    choose_context_weights(args)  the context reader's weight and share, the same way
                                (benchmarks/numbers.py --context-weights)
    choose_narrow(args)         segment.NARROW and its weight, the same way
                                (benchmarks/numbers.py --narrow-weights)
"""
import time

import numpy as np

from mnistnn import checkpoint, cuts, data, imaging, reading, reject, segment
from mnistnn.network import Network
from mnistnn.reading import piece_scorer
from mnistnn.train import TrainConfig, Trainer
from number_images import mnist_number, on_paper, pen_number

KEEP = reject.KEEP


# -- "not a digit": methods side by side -----------------------------------------------------

def operating_point(scores):
    """Rates at the threshold that rejects 1 - KEEP of held-out training digits (higher
    score = more digit-like)."""
    t = np.quantile(scores["val"], 1 - KEEP)
    return {k: float(np.mean(v < t)) for k, v in scores.items()}


def features(net, x):
    return net.forward(np.asarray(x, dtype=np.float32))[0][-2].astype(np.float64)


def gaussian_scores(net, fit_x, fit_y):
    """-min over classes of the Mahalanobis distance on the penultimate features (shared
    covariance, shrunk), fitted on the training digits."""
    f = features(net, fit_x)
    mu = np.stack([f[fit_y == c].mean(0) for c in range(10)])
    r = f - mu[fit_y]
    cov = r.T @ r / len(r)
    prec = np.linalg.inv(cov + 0.01 * np.trace(cov) / len(cov) * np.eye(len(cov)))

    def score(x):
        g = features(net, x)
        return -np.min([np.einsum("ij,jk,ik->i", g - m, prec, g - m) for m in mu], axis=0)
    return score


def logistic_scores(net, fit_x, non_x, steps=300):
    """A logistic regression on the penultimate features: training digits vs non-digits."""
    a, b = features(net, fit_x), features(net, non_x)
    z = np.r_[a, b]
    mean, sd = z.mean(0), z.std(0) + 1e-3
    z = (z - mean) / sd
    y = np.r_[np.ones(len(a)), np.zeros(len(b))]
    weight = np.r_[np.full(len(a), 0.5 / len(a)), np.full(len(b), 0.5 / len(b))]
    w, m, v = np.zeros(z.shape[1] + 1), 0, 0
    zb = np.c_[z, np.ones(len(z))]
    for t in range(1, steps + 1):                              # Adam on the weighted loss
        s = 1 / (1 + np.exp(-(zb @ w)))
        g = zb.T @ ((s - y) * weight) + 1e-3 * w
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g * g
        w -= 0.05 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return lambda x: np.c_[(features(net, x) - mean) / sd, np.ones(len(x))] @ w


def train_net(sizes, x, y, epochs, seed, **extra):
    config = TrainConfig(sizes=sizes, activation="relu", cost="log-likelihood", lr=0.05,
                         momentum=0.9, batch_size=64, epochs=epochs, seed=seed,
                         validation_size=0, l2=5e-4, dropout=0.2, schedule="cosine", **extra)
    net = Network(sizes, "relu", "log-likelihood", seed=seed)
    Trainer(net, config, (x, y)).run()
    return net


def compare(net, mnist, sets):
    """Print the methods' rates on the development sets at one operating point: the
    threshold that rejects 1 - KEEP of training digits 50,000-59,999."""
    from detector import TRAINING
    from nondigit_training import training_nondigits

    fit_x, fit_y = data.to_inputs(mnist.train_images[:50000]), mnist.train_labels[:50000]
    non_train = training_nondigits(TRAINING, seed=2)
    methods = {}
    p = {k: net.predict_proba(v) for k, v in sets.items()}
    methods["top softmax probability"] = {k: v.max(1) for k, v in p.items()}
    W, b = net.weights[-1], net.biases[-1]
    methods["energy (logsumexp of logits)"] = {
        k: np.log(np.exp(features(net, v) @ W.T + b).sum(1)) for k, v in sets.items()}
    score = gaussian_scores(net, fit_x, fit_y)
    methods["class Gaussians, Mahalanobis (features)"] = {k: score(v) for k, v in sets.items()}
    score = logistic_scores(net, fit_x, non_train)
    methods["logistic regression on features vs non-digits"] = {
        k: score(v) for k, v in sets.items()}
    detector = reject.for_network(net)
    sizes = "-".join(map(str, detector.net.sizes))
    methods[f"digit detector {sizes} (shipped)"] = {
        k: detector.log_odds(v) for k, v in sets.items()}
    started = time.perf_counter()
    eleven = train_net((784, 800, 11), np.r_[fit_x, non_train],
                       np.r_[fit_y, np.full(len(non_train), 10)], 20, 1)
    seconds = time.perf_counter() - started
    methods[f"11th class (784-800-11 trained with non-digits, {seconds:.0f} s)"] = {
        k: np.log(eleven.predict_proba(v)[:, :10].max(1) + 1e-12)
        - np.log(eleven.predict_proba(v)[:, 10] + 1e-12) for k, v in sets.items()}
    print("| method | non-digits rejected: dev family | train family | real digits "
          "rejected: validation | photos | pen |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, scores in methods.items():
        r = operating_point(scores)
        print(f"| {name} | {r['non']:.1%} | {r['fresh']:.1%} | {r['val']:.2%} | "
              f"{r['photo']:.2%} | {r['pen']:.2%} |")
    second = train_net((784, 100, 10), fit_x, fit_y, 10, 7)
    agree = {k: second.predict(v) == p[k].argmax(1) for k, v in sets.items()}
    r = {k: 1 - float(np.mean(v)) for k, v in agree.items()}
    print(f"| two networks disagree (784-800-10 and 784-100-10) | {r['non']:.1%} | "
          f"{r['fresh']:.1%} | {r['val']:.2%} | {r['photo']:.2%} | {r['pen']:.2%} |")


# -- segmentation weights ------------------------------------------------------------------------

def training_number(images, labels, rng, layout, style="white"):
    """A number of 4-6 MNIST *training* digits (pen strokes for the pen layouts) on paper,
    as the reading gets it: (ink (H, W) from imaging.load_ink, the digits as a string)."""
    pick = rng.choice(len(images), int(rng.integers(4, 7)), replace=False)
    if layout.startswith("pen"):
        ink, _ = pen_number(labels[pick], rng,
                            layout="touching" if layout == "pen-touching" else "separated")
    else:
        ink, _ = mnist_number(images[pick], rng, layout)
    found, _ = imaging.load_ink(on_paper(ink, rng, style))
    return found, "".join(map(str, labels[pick]))


def fit_segmentation(args, n=120):
    """Coordinate search of segment.WEIGHTS and SKIP maximising sequence accuracy on numbers
    made of MNIST training digits (every layout and paper), the network's scores cached."""
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    mnist = data.ensure(args.data_dir, allow_download=False)
    lines = cached_lines(net, mnist.train_images, mnist.train_labels,
                         np.random.default_rng(123), {kind: n for kind in KINDS})
    weights, skip = segment.WEIGHTS.copy(), segment.SKIP

    def accuracy(w, s):
        return np.mean([read(line, w, s) == truth for line, truth, _ in lines])
    best = accuracy(weights, skip)
    print(f"start: {best:.3f}")
    for _ in range(3):
        for k in range(1, len(weights) + 1):
            for value in np.r_[-np.geomspace(0.1, 30, 12), 0, np.geomspace(0.1, 30, 12)]:
                w, s = weights.copy(), skip
                if k == len(weights):
                    s = abs(value)
                else:
                    w[k] = value
                a = accuracy(w, s)
                if a > best:
                    best, weights, skip = a, w, s
            print(f"{segment.FEATURES[k] if k < len(weights) else 'skip'}: {best:.3f}")
    for layout in ("separated", "touching", "slanted", "pen", "pen-touching"):
        acc = np.mean([read(line, weights, skip) == t for line, t, (lay, _) in lines
                       if lay == layout])
        print(f"  {layout}: {acc:.3f}")
    print("WEIGHTS =", np.round(weights, 3).tolist(), "SKIP =", round(float(skip), 3))


# Every layout and paper of the numbers the segmentation is fitted and checked on.
KINDS = [("separated", "white"), ("separated", "ruled"), ("touching", "white"),
         ("slanted", "white"), ("pen", "white"), ("pen-touching", "white")]


def cached_lines(net, images, labels, rng, counts):
    """counts[(layout, style)] numbers of the digits images, labels for each kind, in
    KINDS' order, cut and scored once: [((line, features, segment.skip_shares),
    truth, (layout, style)), ...] for read()."""
    scorer, lines = piece_scorer(net), []
    for layout, style in KINDS:
        for _ in range(counts[layout, style]):
            found, truth = training_number(images, labels, rng, layout, style)
            line = segment.candidates(found, scorer)
            cached = (line, segment.group_features(*line),
                      segment.skip_shares(line.prims, line.height))
            lines.append((cached, truth, (layout, style)))
    return lines


def read(cached, weights, skip):
    line, f, tall = cached
    path = segment._best_path(len(line.prims), line.groups, f @ weights, skip * tall)
    return "".join(str(int(np.argmax(line.p[g]))) for g in path)


def choose_cut_step(args, n=200):
    """Touching numbers of MNIST training digits read with guides every STEP line heights,
    for each STEP in args.cut_steps: n numbers from each of two seeds, the same numbers
    for every STEP."""
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    mnist = data.ensure(args.data_dir, allow_download=False)
    images, labels, scorer = mnist.train_images, mnist.train_labels, piece_scorer(net)
    shipped = cuts.STEP
    try:
        for step in args.cut_steps:
            cuts.STEP, right, started = step, [], time.perf_counter()
            for seed in (555, 556):
                rng = np.random.default_rng(seed)
                for _ in range(n):
                    found, truth = training_number(images, labels, rng, "touching")
                    digits = segment.read_line(found, scorer)
                    read = "".join(str(int(np.argmax(d.probabilities))) for d in digits)
                    right.append(read == truth)
            print(f"STEP {step}: {np.mean(right[:n]):.1%} and {np.mean(right[n:]):.1%} of the "
                  f"touching numbers of seeds 555 and 556 ({time.perf_counter() - started:.0f} s)",
                  flush=True)
    finally:
        cuts.STEP = shipped


def choose_reader_weights(args, n=100):
    """The weights of "whole" and "reader" (segment.FEATURES, the window reader's) on a
    grid, the other weights as shipped: sequence accuracy on numbers made of MNIST
    training digits 50,000-59,999 (no line benchmarks/window_reader.py cut pieces from
    used them), n of each layout and paper (3n touching), seed 4242; the even-numbered
    ones choose, the odd-numbered ones check."""
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    mnist = data.ensure(args.data_dir, allow_download=False)
    counts = {kind: 3 * n if kind[0] == "touching" else n for kind in KINDS}
    lines = cached_lines(net, mnist.train_images[50000:], mnist.train_labels[50000:],
                         np.random.default_rng(4242), counts)
    whole, reader = segment.FEATURES.index("whole"), segment.FEATURES.index("reader")
    print("| whole | reader | choosing half | checking half | touching | separated | ruled |"
          "\n|---:|---:|---:|---:|---:|---:|---:|")
    for a in (0.0, 0.1, 0.15, 0.2, 0.25, 0.3):
        for b in (0.0, 0.25, 0.5, 0.75):
            w = segment.WEIGHTS.copy()
            w[[whole, reader]] = a, b
            right = [read(c, w, segment.SKIP) == t for c, t, _ in lines]
            print_row(a, b, right, lines)


def print_row(first, second, right, lines):
    """One row of a chooser's table: its two settings, then the share of numbers read
    right (right, in the order of lines) among the even-numbered ones (they choose),
    the odd-numbered ones (they check), and the touching, separated and ruled ones."""
    kind = {k: np.mean([r for r, (_, _, of) in zip(right, lines) if of == k])
            for k in KINDS[:3]}
    print(f"| {first} | {second} | {np.mean(right[0::2]):.1%} | {np.mean(right[1::2]):.1%} | "
          f"{kind['touching', 'white']:.1%} | {kind['separated', 'white']:.1%} | "
          f"{kind['separated', 'ruled']:.1%} |", flush=True)


def choose_narrow(args, n=100):
    """How narrow ink must be for cutting it to cost (segment.NARROW) and what ("narrow" in
    segment.FEATURES) on a grid, the other weights as shipped, on the numbers
    choose_reader_weights reads (training digits 50,000-59,999, seed 4242)."""
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    mnist = data.ensure(args.data_dir, allow_download=False)
    counts = {kind: 3 * n if kind[0] == "touching" else n for kind in KINDS}
    lines = cached_lines(net, mnist.train_images[50000:], mnist.train_labels[50000:],
                         np.random.default_rng(4242), counts)
    narrow, shipped = segment.FEATURES.index("narrow"), segment.NARROW
    print("| narrow | weight | choosing half | checking half | touching | separated | ruled |"
          "\n|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for segment_narrow in (1.2, 1.4, 1.6, 1.8, 2.0):
            segment.NARROW = segment_narrow
            f = [segment.group_features(*line) for (line, _, _), _, _ in lines]
            for weight in (0.0, 2.0, 4.0, 8.0, 16.0):
                w = segment.WEIGHTS.copy()
                w[narrow] = -weight
                right = [read((line, fl, tall), w, segment.SKIP) == t
                         for ((line, _, tall), t, _), fl in zip(lines, f)]
                print_row(segment.NARROW, weight, right, lines)
    finally:
        segment.NARROW = shipped


def choose_context_weights(args, n=100):
    """The context reader's weight (segment.FEATURES' "context") and its share of a cut
    piece's probabilities (reading.CONTEXT_SHARE) on a grid, the other weights as shipped,
    on the numbers choose_reader_weights reads: training digits 50,000-59,999, which no
    piece the context reader trained on came from."""
    net = checkpoint.load(checkpoint.locate(args.weights, args.weights_dir))
    mnist = data.ensure(args.data_dir, allow_download=False)
    counts = {kind: 3 * n if kind[0] == "touching" else n for kind in KINDS}
    shipped, reading.CONTEXT_SHARE = reading.CONTEXT_SHARE, 0.0   # lines' own probabilities
    try:
        lines = context_lines(net, mnist.train_images[50000:], mnist.train_labels[50000:],
                              np.random.default_rng(4242), counts)
    finally:
        reading.CONTEXT_SHARE = shipped
    context = segment.FEATURES.index("context")
    print("| weight | share | choosing half | checking half | touching | separated | ruled |"
          "\n|---:|---:|---:|---:|---:|---:|---:|")
    for weight in (0.0, 0.05, 0.075, 0.1, 0.15):
        for share in (0.0, 0.15, 0.3):
            w = segment.WEIGHTS.copy()
            w[context] = weight
            right = []
            for (line, tall, cut, digits), truth, _ in lines:
                p = line.p.copy()
                p[cut] = (1 - share) * p[cut] + share * digits
                f = segment.group_features(line.prims, line.groups, p, line.height,
                                           line.evidence)
                path = segment._best_path(len(line.prims), line.groups, f @ w,
                                          segment.SKIP * tall)
                right.append("".join(str(int(np.argmax(p[g]))) for g in path) == truth)
            print_row(weight, share, right, lines)


def context_lines(net, images, labels, rng, counts):
    """As cached_lines, each line with what the context reader said of its cut pieces:
    [((line, segment.skip_shares, cut (N,) bool, their ten digits' probabilities), truth,
    (layout, style)), ...]; line.p holds the other readers' probabilities alone."""
    scorer, seer, lines = piece_scorer(net), reading.context_reader(net), []

    def score(crops, cut, frames=None):
        seen[:] = [cut, frames]
        return scorer(crops, cut, frames)

    seen = []
    for layout, style in KINDS:
        for _ in range(counts[layout, style]):
            found, truth = training_number(images, labels, rng, layout, style)
            line = segment.candidates(found, score)
            cut, frames = seen
            c = (np.maximum(seer.predict_proba(frames[cut]), 1e-9) if frames is not None
                 else np.ones((0, 11)))                     # as reading.piece_scorer
            digits = reading.ten_digits(c)
            lines.append(((line, segment.skip_shares(line.prims, line.height), cut, digits),
                          truth, (layout, style)))
    return lines

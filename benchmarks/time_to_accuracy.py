"""Time to accuracy: wall time from the start of training to the end of the first epoch
whose MNIST test accuracy reaches the target, with the test set evaluated after every epoch.

    python benchmarks/time_to_accuracy.py --data-dir data                 # to 99.0%
    python benchmarks/time_to_accuracy.py --data-dir data --target 0.993 \\
        --stop-early no epochs=15 dropout=0.25                             # a whole run

Trains with the library's Trainer on all 60,000 training images (no validation split),
one line per epoch: test accuracy, the epoch's training pass, and the wall time so far,
which counts everything (network set-up, training, the trainer's own evaluation and the
test evaluation that ends each epoch). Settings after the options are TrainConfig fields
(name=value) over the defaults below; --spec sets the layers.
"""
import sys
from pathlib import Path

# This folder holds numbers.py, which would hide the standard library's numbers module
# (numpy imports it): leave the folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from mnistnn import data  # noqa: E402
from mnistnn.network import Network  # noqa: E402
from mnistnn.train import TrainConfig, Trainer  # noqa: E402

SPEC = "1x28x28,conv32k5,pool2,conv64k5,pool2,256,10"
SETTINGS = dict(activation="relu", cost="log-likelihood", lr=0.05, momentum=0.9,
                nesterov=True, batch_size=128, epochs=3, schedule="cosine", seed=0,
                validation_size=0)


def config_from(spec, settings):
    """TrainConfig for the layer spec from SETTINGS and name=value strings (values parsed
    as JSON if they can be)."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    chosen = dict(SETTINGS, sizes=spec)
    for item in settings:
        name, _, value = item.partition("=")
        if name not in fields or not value:
            sys.exit(f"not a TrainConfig setting: {item!r} (name=value, names: {sorted(fields)})")
        try:
            chosen[name] = json.loads(value)
        except ValueError:
            chosen[name] = value
    return TrainConfig(**chosen)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--spec", default=SPEC)
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--stop-early", choices=("yes", "no"), default="yes",
                        help="stop at the first epoch that reaches the target (default yes)")
    parser.add_argument("--json", action="store_true", help="one JSON object per epoch")
    parser.add_argument("settings", nargs="*", help="TrainConfig fields, name=value")
    args = parser.parse_args()
    config = config_from(args.spec, args.settings)
    mnist = data.ensure(args.data_dir, allow_download=False)
    x, labels = data.to_inputs(mnist.train_images), mnist.train_labels
    x_test, test_labels = data.to_inputs(mnist.test_images), mnist.test_labels
    print(f"{args.spec}: {json.dumps(config.to_dict())}; load average "
          f"{os.getloadavg()[0]:.2f}", file=sys.stderr)
    started = time.perf_counter()
    net = Network(args.spec, config.activation, config.cost, seed=config.seed)
    trainer = Trainer(net, config, (x, labels))
    reached = []

    def on_epoch(metrics):
        accuracy = net.accuracy(x_test, test_labels)
        wall = time.perf_counter() - started
        if accuracy >= args.target and not reached:
            reached.append((metrics["epoch"], wall))
        line = {"epoch": metrics["epoch"], "test_accuracy": accuracy,
                "train_seconds": metrics["seconds"], "wall_seconds": round(wall, 2),
                "load": round(os.getloadavg()[0], 2)}
        print(json.dumps(line) if args.json else
              f"epoch {line['epoch']:3d}  test {100 * accuracy:.2f}%  training pass "
              f"{metrics['seconds']:.1f} s  wall {wall:.1f} s  load {line['load']:.2f}",
              flush=True)
        if reached and args.stop_early == "yes":
            trainer.config.epochs = trainer.epoch           # the loop ends after this epoch

    trainer.run(on_epoch=on_epoch)
    if reached:
        print(f"{100 * args.target:.2f}% reached at the end of epoch {reached[0][0]}, "
              f"{reached[0][1]:.1f} s of wall time", file=sys.stderr)
    else:
        print(f"{100 * args.target:.2f}% not reached", file=sys.stderr)


if __name__ == "__main__":
    main()

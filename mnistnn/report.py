"""The test report: accuracy, per-class accuracy and the confusion matrix, as data and text.

The JSON keeps the keys it had when MNIST was the only data set ("per_digit", and
"digit" for a class's number) and adds "name", the class's name ("Sneaker"; "7" for
MNIST), "dataset" and "classes".
"""
import numpy as np


def confusion_matrix(labels, predicted, n=10):
    """counts[i, j] = how many examples of class i were predicted as j."""
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.intp), np.asarray(predicted, dtype=np.intp)), 1)
    return counts


def test_report(labels, predicted, n=10, dataset=None):
    """Everything `mnistnn test` shows, as a JSON-ready dict, from the true and the
    predicted classes (N,) of a data set's test images (a datasets.Dataset; MNIST's
    digits when None)."""
    classes = list(dataset.classes) if dataset else [str(d) for d in range(n)]
    confusion = confusion_matrix(labels, predicted, n)
    per_digit = []
    for digit, row in enumerate(confusion):
        count = int(row.sum())
        per_digit.append({"digit": digit, "name": classes[digit], "count": count,
                          "correct": int(row[digit]),
                          "accuracy": float(row[digit] / count) if count else None})
    correct = int(np.trace(confusion))
    return {"accuracy": correct / max(len(labels), 1), "correct": correct, "total": len(labels),
            "dataset": dataset.name if dataset else "mnist", "classes": classes,
            "per_digit": per_digit, "confusion": confusion.tolist()}


def format_report(report):
    """The report as a readable text table; a class is its number and, unless the names
    are the numbers (MNIST's digits), its name."""
    classes = report["classes"]
    named = classes != [str(i) for i in range(len(classes))]
    kind = "class" if named else "digit"
    labels = [f"{i} {name}" if named else str(i) for i, name in enumerate(classes)]
    width = max(5, *map(len, labels))
    align = "<" if named else ">"
    lines = [f"Test accuracy: {100 * report['accuracy']:.2f}% "
             f"({report['correct']} of {report['total']} {'images' if named else 'digits'})",
             "", f"{kind:<{width}}  accuracy  correct / count"]
    for d, label in zip(report["per_digit"], labels):
        acc = "    -" if d["accuracy"] is None else f"{100 * d['accuracy']:6.2f}%"
        lines.append(f"{label:{align}{width}}   {acc}  {d['correct']:>7} / {d['count']}")
    lines += ["", f"Confusion matrix (rows: true {kind}, columns: predicted {kind})",
              " " * (width + 1) + "".join(f"{j:>6}" for j in range(len(classes)))]
    for label, row in zip(labels, report["confusion"]):
        lines.append(f"{label:{align}{width + 1}}" + "".join(f"{c:>6}" for c in row))
    return "\n".join(lines)

"""The test report: accuracy, per-digit accuracy and the confusion matrix, as data and text."""
import numpy as np


def confusion_matrix(labels, predicted, n=10):
    """counts[i, j] = how many examples of digit i were predicted as j."""
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (np.asarray(labels, dtype=np.intp), np.asarray(predicted, dtype=np.intp)), 1)
    return counts


def test_report(labels, predicted, n=10):
    """Everything `mnistnn test` shows, as a JSON-ready dict, from the true and the
    predicted digits (N,)."""
    confusion = confusion_matrix(labels, predicted, n)
    per_digit = []
    for digit, row in enumerate(confusion):
        count = int(row.sum())
        per_digit.append({"digit": digit, "count": count, "correct": int(row[digit]),
                          "accuracy": float(row[digit] / count) if count else None})
    correct = int(np.trace(confusion))
    return {"accuracy": correct / max(len(labels), 1), "correct": correct, "total": len(labels),
            "per_digit": per_digit, "confusion": confusion.tolist()}


def format_report(report):
    """The report as a readable text table."""
    lines = [f"Test accuracy: {100 * report['accuracy']:.2f}% "
             f"({report['correct']} of {report['total']} digits)", "",
             "digit  accuracy  correct / count"]
    for d in report["per_digit"]:
        acc = "    -" if d["accuracy"] is None else f"{100 * d['accuracy']:6.2f}%"
        lines.append(f"{d['digit']:>5}   {acc}  {d['correct']:>7} / {d['count']}")
    lines += ["", "Confusion matrix (rows: true digit, columns: predicted digit)",
              "      " + "".join(f"{j:>6}" for j in range(len(report["confusion"])))]
    for i, row in enumerate(report["confusion"]):
        lines.append(f"{i:>6}" + "".join(f"{c:>6}" for c in row))
    return "\n".join(lines)

"""The sample endpoint's model: a small logistic regression in numpy, and its request/response formats.

The model is real (trained, not a stub) so an invocation costs real compute, yet small
enough to train in milliseconds: batch gradient descent on a synthetic dataset drawn
from a fixed seed, so every process gets the same weights. This module owns the
number of features, the accepted content types and every way a body can be rejected
(``ModelInputError``, one line each); the HTTP side lives in :mod:`loadrec.engine.sample.endpoint`.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

N_FEATURES = 8
CSV = "text/csv"
JSON = "application/json"
INPUT_CONTENT_TYPES = (CSV, JSON)
OUTPUT_CONTENT_TYPES = (JSON, CSV)
DEFAULT_ACCEPT = JSON

TRAINING_SEED = 7
TRAINING_ROWS = 512
TRAINING_STEPS = 300
LEARNING_RATE = 0.5


class ModelInputError(ValueError):
    """A request body the model cannot use; the message is one line a caller can act on."""


@dataclass(frozen=True)
class LogisticModel:
    weights: np.ndarray  # shape (N_FEATURES,)
    bias: float

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """P(y = 1) for each row of ``rows`` (shape (n, N_FEATURES)); shape (n,)."""
        return _sigmoid(rows @ self.weights + self.bias)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # exp(-log(1 + e^-z)) never overflows, unlike 1 / (1 + e^-z) for very negative z.
    result: np.ndarray = np.exp(-np.logaddexp(0.0, -z))
    return result


def train(seed: int = TRAINING_SEED, steps: int = TRAINING_STEPS) -> LogisticModel:
    """Fit a logistic regression to a synthetic dataset drawn from ``seed``; deterministic."""
    rng = np.random.default_rng(seed)
    true_weights = rng.normal(0.0, 1.5, N_FEATURES)
    true_bias = 0.25
    x = rng.normal(0.0, 1.0, (TRAINING_ROWS, N_FEATURES))
    y = (rng.random(TRAINING_ROWS) < _sigmoid(x @ true_weights + true_bias)).astype(np.float64)

    weights = np.zeros(N_FEATURES)
    bias = 0.0
    for _ in range(steps):
        error = _sigmoid(x @ weights + bias) - y  # gradient of the mean log loss w.r.t. the logits
        weights -= LEARNING_RATE * (x.T @ error) / TRAINING_ROWS
        bias -= LEARNING_RATE * float(error.mean())
    return LogisticModel(weights=weights, bias=bias)


@functools.cache
def model() -> LogisticModel:
    """The trained model, trained once per process on first use."""
    return train()


def predict(rows: np.ndarray) -> np.ndarray:
    """Probabilities for ``rows`` (shape (n, N_FEATURES), or one row of N_FEATURES values)."""
    array = np.asarray(rows, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != N_FEATURES:
        raise ModelInputError(f"expected rows of {N_FEATURES} features, got an array of shape {array.shape}")
    return model().predict(array)


def media_type(header: str | None) -> str:
    """``text/csv; charset=utf-8`` → ``text/csv``: the parameters do not change the format."""
    return (header or "").split(";", 1)[0].strip().lower()


def parse_body(body: bytes, content_type: str | None) -> np.ndarray:
    """The rows in a request body, shape (n, N_FEATURES); raises ModelInputError."""
    kind = media_type(content_type)
    if kind not in INPUT_CONTENT_TYPES:
        shown = f"'{content_type}'" if content_type else "none"
        raise ModelInputError(f"unsupported Content-Type {shown}; expected one of {', '.join(INPUT_CONTENT_TYPES)}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ModelInputError(f"body is not UTF-8 text ({error.reason} at byte {error.start})") from None
    if not text.strip():
        raise ModelInputError("empty body: expected at least one row of features")
    rows = _parse_csv(text) if kind == CSV else _parse_json(text)
    return np.array(rows, dtype=np.float64).reshape(len(rows), N_FEATURES)


def _parse_csv(text: str) -> list[list[float]]:
    # splitlines() drops the one trailing newline a CSV file usually ends with; any other blank line is an error.
    lines = text.splitlines()
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise ModelInputError(f"CSV line {number} is empty")
        cells = line.split(",")
        values = []
        for cell in cells:
            try:
                values.append(float(cell))
            except ValueError:
                hint = " (a header line is not accepted)" if number == 1 else ""
                raise ModelInputError(f"CSV line {number}: '{cell.strip()}' is not a number{hint}") from None
        rows.append(_check_row(values, f"CSV line {number}"))
    return rows


def _parse_json(text: str) -> list[list[float]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelInputError(
            f"body is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    if isinstance(value, dict):
        if "instances" not in value:
            raise ModelInputError('JSON object has no "instances" key; expected {"instances": [[...], ...]}')
        value = value["instances"]
    if not isinstance(value, list):
        raise ModelInputError(f"expected a JSON list of rows, got {type(value).__name__}")
    if not value:
        raise ModelInputError("no rows: the JSON list of instances is empty")
    if all(not isinstance(item, list) for item in value):
        value = [value]  # a single row: [x1, ..., xN]
    rows = []
    for index, row in enumerate(value):
        where = f"JSON row {index}"
        if not isinstance(row, list):
            raise ModelInputError(f"{where} is {type(row).__name__}, expected a list of {N_FEATURES} numbers")
        rows.append(_check_row([_json_number(item, where) for item in row], where))
    return rows


def _json_number(item: Any, where: str) -> float:
    # bool is an int subclass in Python, but true/false is not a feature value.
    if isinstance(item, bool) or not isinstance(item, int | float):
        raise ModelInputError(f"{where}: {json.dumps(item)} is not a number")
    return float(item)


def _check_row(values: list[float], where: str) -> list[float]:
    if len(values) != N_FEATURES:
        raise ModelInputError(f"{where} has {len(values)} values, expected {N_FEATURES}")
    for value in values:
        if not math.isfinite(value):
            raise ModelInputError(f"{where}: {value} is not a finite number")
    return values


def choose_accept(accept: str | None) -> str:
    """The output format for an ``Accept`` header: the first supported type; JSON if absent or ``*/*``."""
    if not accept or not accept.strip():
        return DEFAULT_ACCEPT
    for part in accept.split(","):
        kind = media_type(part)
        if kind in OUTPUT_CONTENT_TYPES:
            return kind
        if kind in ("*/*", "application/*"):
            return DEFAULT_ACCEPT
        if kind == "text/*":
            return CSV
    raise ModelInputError(f"unsupported Accept '{accept}'; expected one of {', '.join(OUTPUT_CONTENT_TYPES)}")


def format_predictions(probabilities: np.ndarray, accept: str | None) -> tuple[bytes, str]:
    """The response body and its Content-Type for ``probabilities`` in the format ``accept`` asks for."""
    kind = choose_accept(accept)
    values = [float(p) for p in probabilities]
    if kind == CSV:
        return "".join(f"{p!r}\n" for p in values).encode(), CSV
    return json.dumps({"predictions": values}).encode(), JSON


def invoke(body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
    """One invocation end to end: parse, predict, format; raises ModelInputError."""
    choose_accept(accept)  # reject an unusable Accept before doing the work
    return format_predictions(predict(parse_body(body, content_type)), accept)

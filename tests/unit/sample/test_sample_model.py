"""The sample model: deterministic training, prediction shape and range, request parsing, output formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from loadrec.engine.sample.model import (
    CSV,
    JSON,
    N_FEATURES,
    ModelInputError,
    choose_accept,
    format_predictions,
    invoke,
    model,
    parse_body,
    predict,
    train,
)

ROW = [0.5, -1.0, 2.0, 0.0, 1.5, -0.25, 3.0, -2.0]
ZEROS = [0.0] * N_FEATURES


def csv_line(values: list[float]) -> str:
    return ",".join(str(v) for v in values)


def test_training_is_deterministic_and_learns_something() -> None:
    first, second = train(), train()
    np.testing.assert_array_equal(first.weights, second.weights)
    assert first.bias == second.bias
    assert first.weights.shape == (N_FEATURES,)
    assert np.abs(first.weights).max() > 0.5  # training moved the weights away from zero
    assert not np.array_equal(train(seed=99).weights, first.weights)


def test_the_trained_model_separates_its_own_synthetic_classes() -> None:
    rng = np.random.default_rng(1)
    rows = rng.normal(0.0, 1.0, (400, N_FEATURES))
    logits = rows @ model().weights + model().bias
    probabilities = predict(rows)
    # The model ranks rows as its logits do: high-logit rows get high probabilities.
    assert probabilities[logits > 2].min() > 0.85
    assert probabilities[logits < -2].max() < 0.15


def test_predict_shape_and_range() -> None:
    rows = np.array([ROW, ZEROS, [100.0] * N_FEATURES, [-100.0] * N_FEATURES])
    probabilities = predict(rows)
    assert probabilities.shape == (4,)
    assert np.all((probabilities >= 0.0) & (probabilities <= 1.0))
    assert np.all(np.isfinite(probabilities))
    assert predict(np.array(ROW)).shape == (1,)
    assert predict(np.array(ROW))[0] == pytest.approx(probabilities[0])


def test_predict_rejects_the_wrong_number_of_features() -> None:
    with pytest.raises(ModelInputError, match="8 features"):
        predict(np.zeros((2, N_FEATURES + 1)))


def test_csv_rows_with_and_without_trailing_newline() -> None:
    body = f"{csv_line(ROW)}\n{csv_line(ZEROS)}"
    rows = parse_body(body.encode(), CSV)
    assert rows.shape == (2, N_FEATURES)
    np.testing.assert_array_equal(rows[0], ROW)
    np.testing.assert_array_equal(parse_body((body + "\n").encode(), CSV), rows)
    np.testing.assert_array_equal(parse_body(body.replace("\n", "\r\n").encode(), CSV), rows)


def test_content_type_parameters_and_case_are_ignored() -> None:
    rows = parse_body(csv_line(ROW).encode(), "Text/CSV; charset=utf-8")
    np.testing.assert_array_equal(rows, [ROW])


@pytest.mark.parametrize(
    "payload",
    [{"instances": [ROW, ZEROS]}, [ROW, ZEROS]],
    ids=["instances", "list-of-rows"],
)
def test_json_rows(payload: object) -> None:
    rows = parse_body(json.dumps(payload).encode(), JSON)
    np.testing.assert_array_equal(rows, [ROW, ZEROS])


def test_json_single_row() -> None:
    rows = parse_body(json.dumps(ROW).encode(), JSON)
    assert rows.shape == (1, N_FEATURES)
    np.testing.assert_array_equal(rows[0], ROW)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"", CSV, "empty body"),
        (b"  \n", JSON, "empty body"),
        (b"a,b,c,d,e,f,g,h\n" + csv_line(ROW).encode(), CSV, "CSV line 1: 'a' is not a number \\(a header line"),
        (csv_line(ROW).encode() + b"\n1,2,x,4,5,6,7,8", CSV, "CSV line 2: 'x' is not a number$"),
        (b"1,2,3", CSV, "CSV line 1 has 3 values, expected 8"),
        (csv_line(ROW).encode() + b"\n\n" + csv_line(ROW).encode(), CSV, "CSV line 2 is empty"),
        (b"nan,0,0,0,0,0,0,0", CSV, "CSV line 1: nan is not a finite number"),
        (b"\xff\xfe", CSV, "not UTF-8"),
        (b"{not json", JSON, "not valid JSON"),
        (b'{"rows": []}', JSON, 'no "instances" key'),
        (b'{"instances": []}', JSON, "list of instances is empty"),
        (b"[]", JSON, "list of instances is empty"),
        (b'"text"', JSON, "expected a JSON list of rows, got str"),
        (b"[[1, 2]]", JSON, "JSON row 0 has 2 values, expected 8"),
        (b'[[1, 2, 3, 4, 5, 6, 7, "8"]]', JSON, 'JSON row 0: "8" is not a number'),
        (b"[1, 2, 3, 4, 5, 6, 7, true]", JSON, "JSON row 0: true is not a number"),
        (b"[[1, 2, 3, 4, 5, 6, 7, 8], 9]", JSON, "JSON row 1 is int"),
        (b"1,2,3,4,5,6,7,8", "application/x-www-form-urlencoded", "unsupported Content-Type"),
        (b"1,2,3,4,5,6,7,8", None, "unsupported Content-Type none"),
    ],
    ids=[
        "empty-csv",
        "blank-json",
        "csv-header",
        "csv-non-numeric",
        "csv-too-few",
        "csv-blank-line",
        "csv-nan",
        "not-utf8",
        "bad-json",
        "json-no-instances",
        "json-empty-instances",
        "json-empty-list",
        "json-not-a-list",
        "json-too-few",
        "json-string-value",
        "json-bool-value",
        "json-mixed-rows",
        "unknown-content-type",
        "missing-content-type",
    ],
)
def test_bad_input_raises_a_one_line_model_input_error(body: bytes, content_type: str | None, message: str) -> None:
    with pytest.raises(ModelInputError, match=message) as caught:
        parse_body(body, content_type)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [(None, JSON), ("", JSON), ("*/*", JSON), (JSON, JSON), (CSV, CSV), ("image/png, text/csv;q=0.9", CSV)],
)
def test_accept_negotiation(accept: str | None, expected: str) -> None:
    assert choose_accept(accept) == expected


def test_unsupported_accept_is_an_input_error() -> None:
    with pytest.raises(ModelInputError, match="unsupported Accept 'image/png'"):
        choose_accept("image/png")
    with pytest.raises(ModelInputError, match="unsupported Accept"):
        invoke(csv_line(ROW).encode(), CSV, "image/png")


def test_json_output() -> None:
    body, content_type = format_predictions(np.array([0.25, 0.75]), None)
    assert content_type == JSON
    assert json.loads(body) == {"predictions": [0.25, 0.75]}


def test_csv_output_is_one_probability_per_line() -> None:
    body, content_type = format_predictions(np.array([0.25, 0.75]), CSV)
    assert content_type == CSV
    assert body == b"0.25\n0.75\n"


def test_invoke_round_trip_matches_predict() -> None:
    expected = predict(np.array([ROW, ZEROS]))
    body, content_type = invoke(f"{csv_line(ROW)}\n{csv_line(ZEROS)}\n".encode(), CSV, CSV)
    assert content_type == CSV
    values = [float(line) for line in body.decode().splitlines()]
    np.testing.assert_allclose(values, expected)

    body, content_type = invoke(json.dumps({"instances": [ROW, ZEROS]}).encode(), JSON, JSON)
    assert content_type == JSON
    np.testing.assert_allclose(json.loads(body)["predictions"], expected)

"""Streamed answers in the per-second stats: tokens, TTFT and inter-token gaps travel on the wire, merge
across load processes exactly as latency does, and show in windows and timeline rows."""

from __future__ import annotations

from loadrec.engine.measurement.metrics import Timeline, WindowStats
from loadrec.engine.measurement.recording import SecondRecorder, SecondStats
from loadrec.engine.streaming.tokens import StreamTiming

START = 1_800_000_000


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


def timing(ttft_ms: float, gaps_ms: list[float], tokens: int) -> StreamTiming:
    return StreamTiming(ttft_ms / 1000, sum(gaps_ms) / 1000, tokens, 1.0, len(gaps_ms) + 1)


def test_a_streamed_answer_adds_its_tokens_and_times_and_survives_the_wire() -> None:
    clock = Clock()
    recorder = SecondRecorder(clock)
    recorder.record_success(900_000, timing(120, [20, 30], 3))
    recorder.record_success(500_000)  # a plain answer in the same second
    (second,) = recorder.take_all()
    again = SecondStats.from_wire(second.to_wire())
    assert again.stream is not None
    assert (again.successes, again.stream.tokens) == (2, 3)
    assert again.stream.ttft.get_total_count() == 1 and again.stream.itl.get_total_count() == 1
    assert abs(again.stream.itl.get_max_value() - 25_000) <= 25  # one answer: (20 + 30) ms / 2 tokens after the first
    assert abs(again.stream.ttft.get_max_value() - 120_000) <= 120  # 3 significant figures


def test_seconds_without_a_streamed_answer_carry_nothing_of_streaming() -> None:
    recorder = SecondRecorder(Clock())
    recorder.record_success(1000)
    wire = recorder.take_all()[0].to_wire()
    assert not {"tok", "tt", "it"} & set(wire)
    assert SecondStats.from_wire(wire).stream is None


def test_merged_workers_equal_one_process_recording_everything() -> None:
    answers = [timing(100 + i, [10 + i % 7, 12], 3) for i in range(60)]
    clock = Clock()
    one, first, second = SecondRecorder(clock), SecondRecorder(clock), SecondRecorder(clock)
    for index, answer in enumerate(answers):
        one.record_success(1000, answer)
        (first if index % 2 else second).record_success(1000, answer)
    merged, single = Timeline(START), Timeline(START)
    merged.add(s.to_wire() for s in first.take_all() + second.take_all())
    single.add(s.to_wire() for s in one.take_all())
    assert merged.window(1, 1, (50.0, 95.0, 99.0)) == single.window(1, 1, (50.0, 95.0, 99.0))
    assert merged.rows() == single.rows()


def test_a_window_reports_ttft_itl_percentiles_and_output_tokens_per_second() -> None:
    clock = Clock()
    recorder = SecondRecorder(clock)
    timeline = Timeline(START)
    for second in range(4):
        for _ in range(10):
            recorder.record_success(2_000_000, timing(200 if second < 3 else 400, [50], 2))
        clock.now += 1
        timeline.add(s.to_wire() for s in recorder.take_completed())
    window = timeline.window(4, 4, (50.0, 95.0))
    assert window.output_tokens == 80 and window.output_tokens_per_second == 20.0
    assert window.ttft_ms is not None and window.itl_ms is not None
    assert abs(window.ttft_ms[50.0] - 200) < 0.5 and abs(window.ttft_ms[95.0] - 400) < 0.5
    assert abs(window.itl_ms[95.0] - 50) < 0.1
    assert window.answer_tokens_per_second is not None and abs(window.answer_tokens_per_second - 20) < 0.05
    assert WindowStats.from_dict(window.to_dict()) == window
    row = timeline.rows()[3]
    assert row.output_tokens == 20 and row.ttft_ms is not None and abs(row.ttft_ms[50.0] - 400) < 0.5


def test_a_window_without_streamed_answers_has_no_streaming_values() -> None:
    clock = Clock()
    recorder = SecondRecorder(clock)
    recorder.record_success(1000)
    clock.now += 1
    timeline = Timeline(START)
    timeline.add(s.to_wire() for s in recorder.take_completed())
    window = timeline.window(1, 1, (95.0,))
    assert (window.ttft_ms, window.itl_ms, window.output_tokens) == (None, None, 0)
    assert "TtftMs" not in window.to_dict()

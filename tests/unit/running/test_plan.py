"""Which test runs when: MaxNumberOfTests, MaxParallelOfTests, JobDurationInSeconds, a stop (exact tables)."""

from __future__ import annotations

from loadrec.engine.running.plan import Decision, JobPlan, NotRun


def test_tests_past_max_number_of_tests_are_not_run() -> None:
    plan = JobPlan(tests=3, max_number=2, max_parallel=1, job_duration_s=None, created=0.0)
    assert plan.skipped == (NotRun(2, "MaxNumberOfTests is 2"),)
    assert plan.next(0.0, running=0) == Decision(start=(0,))
    assert plan.next(1.0, running=1) == Decision()
    assert plan.next(9.0, running=0) == Decision(start=(1,))
    assert plan.done


def test_at_most_max_parallel_run_at_once_in_configuration_order() -> None:
    plan = JobPlan(tests=3, max_number=3, max_parallel=2, job_duration_s=None, created=0.0)
    # (now, running) -> tests started: two at once, the third when one of them ends, never three
    table = [((0.0, 0), (0, 1)), ((1.0, 2), ()), ((5.0, 1), (2,)), ((6.0, 2), ()), ((9.0, 0), ())]
    running_at_most = 0
    for (now, running), started in table:
        decision = plan.next(now, running)
        assert decision.start == started, (now, running)
        running_at_most = max(running_at_most, running + len(decision.start))
    assert running_at_most == 2 and plan.done


def test_no_test_starts_once_the_job_duration_has_passed() -> None:
    plan = JobPlan(tests=2, max_number=2, max_parallel=1, job_duration_s=3, created=100.0)
    assert plan.next(100.0, running=0) == Decision(start=(0,))
    assert plan.next(102.9, running=1) == Decision()
    assert plan.next(103.0, running=1) == Decision(not_run=(NotRun(1, "JobDurationInSeconds (3 s) had passed"),))
    assert plan.done and plan.next(200.0, running=0) == Decision()


def test_a_stopped_job_starts_nothing_more() -> None:
    plan = JobPlan(tests=3, max_number=3, max_parallel=1, job_duration_s=None, created=0.0)
    assert plan.next(0.0, running=0) == Decision(start=(0,))
    reason = "the job was stopped before this test started"
    assert plan.next(1.0, running=1, stopped=True) == Decision(not_run=(NotRun(1, reason), NotRun(2, reason)))
    assert plan.done

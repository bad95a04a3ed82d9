"""Endpoint utilization and the job's own metrics against a real moto server: reads, writes, batching, failures.

Every client comes from ``utilization_client`` (short timeouts, no retry), so no test can hang on the network.
Each test names its own endpoint or job, so tests sharing the module's server never see each other's data.
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from loadrec.engine.results.cloudwatch import (
    ENDPOINT_NAMESPACE,
    INVOCATION_NAMESPACE,
    JOB_NAMESPACE,
    CloudWatchError,
    MetricRow,
    Utilization,
    publish_job_metrics,
    read_utilization,
    utilization_client,
)
from tests.e2e.moto import FAKE_REGION, free_port, moto_server, use_fake_aws

pytestmark = pytest.mark.e2e

VARIANT = "AllTraffic"
FAIL_FAST_S = 5.0


@pytest.fixture
def endpoint(moto_url: str) -> str:
    return moto_url


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch)


@pytest.fixture
def cloudwatch(endpoint: str) -> Any:
    return utilization_client(FAKE_REGION, endpoint)


@pytest.fixture
def t0() -> datetime:
    """The start of a whole minute ten minutes ago: inside what CloudWatch accepts, clear of the present."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def put(
    client: Any, namespace: str, name: str, dimensions: dict[str, str], points: list[tuple[datetime, float]]
) -> None:
    unit = "Percent" if namespace == ENDPOINT_NAMESPACE else "Microseconds"
    dims = [{"Name": key, "Value": value} for key, value in dimensions.items()]
    client.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {"MetricName": name, "Dimensions": dims, "Timestamp": at, "Value": value, "Unit": unit}
            for at, value in points
        ],
    )


def seed_endpoint(client: Any, endpoint_name: str, t0: datetime) -> None:
    """Two minutes of data for one variant, plus data the window or the dimensions must leave out."""
    mine = {"EndpointName": endpoint_name, "VariantName": VARIANT}
    s = timedelta(seconds=1)
    # CPU: minute 0 averages 20 (10, 30), minute 1 averages 50: equal weight per minute gives 35, not 30.
    put(client, ENDPOINT_NAMESPACE, "CPUUtilization", mine, [(t0 + 5 * s, 10.0), (t0 + 15 * s, 30.0)])
    put(client, ENDPOINT_NAMESPACE, "CPUUtilization", mine, [(t0 + 70 * s, 50.0)])
    put(client, ENDPOINT_NAMESPACE, "MemoryUtilization", mine, [(t0 + 30 * s, 40.0), (t0 + 90 * s, 60.0)])
    put(client, INVOCATION_NAMESPACE, "ModelLatency", mine, [(t0 + 10 * s, 1000.0), (t0 + 80 * s, 3000.0)])
    put(client, INVOCATION_NAMESPACE, "OverheadLatency", mine, [(t0 + 100 * s, 150.0)])
    put(client, INVOCATION_NAMESPACE, "ModelSetupTime", mine, [(t0 + 10 * s, 250_000.0)])  # one cold start
    # Outside the window: the minute before it and the minute after it.
    put(client, ENDPOINT_NAMESPACE, "CPUUtilization", mine, [(t0 - 30 * s, 900.0), (t0 + 125 * s, 900.0)])
    # Inside the window, but another variant of the same endpoint.
    other = {"EndpointName": endpoint_name, "VariantName": "Canary"}
    put(client, ENDPOINT_NAMESPACE, "CPUUtilization", other, [(t0 + 20 * s, 900.0)])
    put(client, INVOCATION_NAMESPACE, "ModelLatency", other, [(t0 + 20 * s, 9e6)])


def test_read_utilization_averages_each_metric_over_the_window(cloudwatch: Any, t0: datetime) -> None:
    name = unique("endpoint")
    seed_endpoint(cloudwatch, name, t0)
    sent: list[dict[str, Any]] = []
    cloudwatch.meta.events.register(
        "before-parameter-build.cloudwatch.GetMetricData", lambda params, **_: sent.append(params)
    )

    # A window that starts and ends mid-minute is widened to [t0, t0 + 2 min).
    found = read_utilization(cloudwatch, name, VARIANT, t0 + timedelta(seconds=20), t0 + timedelta(seconds=100))

    assert found == Utilization(
        cpu_utilization=35.0,
        memory_utilization=50.0,
        model_latency_us=2000.0,
        overhead_latency_us=150.0,
        model_setup_us=250_000.0,
    )
    assert len(sent) == 1
    assert sent[0]["StartTime"] == t0
    assert sent[0]["EndTime"] == t0 + timedelta(minutes=2)
    queried = {
        (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
        for q in sent[0]["MetricDataQueries"]
    }
    assert queried == {
        ("/aws/sagemaker/Endpoints", "CPUUtilization"),
        ("/aws/sagemaker/Endpoints", "MemoryUtilization"),
        ("AWS/SageMaker", "ModelLatency"),
        ("AWS/SageMaker", "OverheadLatency"),
        ("AWS/SageMaker", "ModelSetupTime"),
    }
    assert {q["MetricStat"]["Period"] for q in sent[0]["MetricDataQueries"]} == {60}
    assert {q["MetricStat"]["Stat"] for q in sent[0]["MetricDataQueries"]} == {"Average"}


def test_a_window_shorter_than_a_minute_reads_its_whole_minute(cloudwatch: Any, t0: datetime) -> None:
    name = unique("endpoint")
    seed_endpoint(cloudwatch, name, t0)

    found = read_utilization(cloudwatch, name, VARIANT, t0 + timedelta(seconds=61), t0 + timedelta(seconds=62))

    assert found.cpu_utilization == 50.0
    assert found.memory_utilization == 60.0
    assert found.model_latency_us == 3000.0
    assert found.overhead_latency_us == 150.0


def test_no_datapoints_give_none_never_zero(cloudwatch: Any, t0: datetime) -> None:
    seed_endpoint(cloudwatch, unique("endpoint"), t0)  # someone else's data in the same window

    assert read_utilization(cloudwatch, unique("idle"), VARIANT, t0, t0 + timedelta(minutes=2)) == Utilization(
        None, None, None, None
    )
    name = unique("endpoint")
    seed_endpoint(cloudwatch, name, t0)
    later = t0 + timedelta(minutes=4)
    assert read_utilization(cloudwatch, name, VARIANT, later, later + timedelta(minutes=2)) == Utilization(
        None, None, None, None
    )


def read_back(client: Any, job: str, start: datetime, end: datetime) -> dict[str, list[float]]:
    dims = [{"Name": "JobName", "Value": job}]
    wanted = {
        "invocations": ("ClientInvocations", "Sum", "Count"),
        "errors": ("ClientInvocationErrors", "Sum", "Count"),
        "latencies": ("ClientLatency", "SampleCount", "Milliseconds"),
        "latencymax": ("ClientLatency", "Maximum", "Milliseconds"),
        "users": ("NumberOfUsers", "Maximum", "Count"),
    }
    queries = [
        {
            "Id": query_id,
            "MetricStat": {
                "Metric": {"Namespace": JOB_NAMESPACE, "MetricName": name, "Dimensions": dims},
                "Period": 60,
                "Stat": stat,
                "Unit": unit,  # moto keeps only datapoints sent with this unit
            },
        }
        for query_id, (name, stat, unit) in wanted.items()
    ]
    answer = client.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=end)
    return {result["Id"]: result["Values"] for result in answer["MetricDataResults"]}


def test_publish_job_metrics_sends_rows_that_read_back(cloudwatch: Any, t0: datetime) -> None:
    job = unique("job")
    rows = [
        MetricRow(
            timestamp=t0 + timedelta(seconds=20 * i),
            invocations=10 + i,
            errors=i % 2,
            latency_ms=None if i == 4 else 5.0 * (i + 1),
            users=2 + i,
        )
        for i in range(6)
    ]

    assert publish_job_metrics(cloudwatch, job, rows) == 6 * 4 - 1  # no latency for the row without one

    values = read_back(cloudwatch, job, t0, t0 + timedelta(minutes=2))
    assert sum(values["invocations"]) == sum(row.invocations for row in rows)
    assert sum(values["errors"]) == 3
    assert sum(values["latencies"]) == 5
    assert max(values["latencymax"]) == 30.0
    assert max(values["users"]) == 7
    listed = cloudwatch.list_metrics(Namespace=JOB_NAMESPACE, Dimensions=[{"Name": "JobName", "Value": job}])
    assert {metric["MetricName"] for metric in listed["Metrics"]} == {
        "ClientInvocations",
        "ClientInvocationErrors",
        "ClientLatency",
        "NumberOfUsers",
    }


def test_more_than_1000_data_points_are_split_across_calls(cloudwatch: Any, t0: datetime) -> None:
    job = unique("job")
    calls: list[str] = []
    sizes: list[int] = []
    cloudwatch.meta.events.register("before-call.cloudwatch.PutMetricData", lambda **_: calls.append("put"))
    cloudwatch.meta.events.register(
        "before-parameter-build.cloudwatch.PutMetricData", lambda params, **_: sizes.append(len(params["MetricData"]))
    )
    rows = [MetricRow(t0 + timedelta(seconds=i), invocations=i, errors=0, latency_ms=1.0, users=1) for i in range(300)]

    assert publish_job_metrics(cloudwatch, job, rows) == 1200

    assert len(calls) == 2
    assert sizes == [1000, 200]
    values = read_back(cloudwatch, job, t0, t0 + timedelta(minutes=5))
    assert sum(values["invocations"]) == sum(range(300))
    assert sum(values["latencies"]) == 300


def test_a_refused_connection_is_one_line_and_quick() -> None:
    client = utilization_client(FAKE_REGION, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    now = datetime.now(UTC)
    started = time.monotonic()

    with pytest.raises(CloudWatchError) as read_error:
        read_utilization(client, "endpoint", VARIANT, now - timedelta(minutes=5), now)
    with pytest.raises(CloudWatchError) as put_error:
        publish_job_metrics(client, "job", [MetricRow(now, 1, 0, 2.0, 1)])

    assert time.monotonic() - started < FAIL_FAST_S
    for error in (read_error.value, put_error.value):
        assert str(error).startswith("cloudwatch: EndpointConnectionError (Could not connect to the endpoint URL")
        assert "\n" not in str(error)


def test_missing_credentials_are_one_line(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name)
    client = utilization_client(FAKE_REGION, endpoint)
    now = datetime.now(UTC)

    with pytest.raises(CloudWatchError) as error:
        read_utilization(client, "endpoint", VARIANT, now - timedelta(minutes=5), now)

    assert str(error.value) == "cloudwatch: NoCredentialsError (Unable to locate credentials)"


def test_an_error_answer_is_one_line_with_its_code(cloudwatch: Any, t0: datetime) -> None:
    # CloudWatch refuses NaN; the whole request fails and the reason names the datum.
    with pytest.raises(CloudWatchError) as error:
        publish_job_metrics(cloudwatch, unique("job"), [MetricRow(t0, 1, 0, float("nan"), 1)])

    assert str(error.value) == (
        "cloudwatch: InvalidParameterValue (The value NaN for parameter MetricData.member.3.Value is invalid.)"
    )


def test_access_denied_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    with moto_server() as url:  # its own server: authorization is switched on for the whole server
        iam = boto3.session.Session().client("iam", endpoint_url=url)
        iam.create_user(UserName="no-cloudwatch")
        key = iam.create_access_key(UserName="no-cloudwatch")["AccessKey"]
        enforce = urllib.request.Request(
            f"{url}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}
        )
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(enforce, timeout=FAIL_FAST_S):
            pass
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN")
        monkeypatch.delenv("AWS_SECURITY_TOKEN")
        client = utilization_client(FAKE_REGION, url)
        now = datetime.now(UTC)

        with pytest.raises(CloudWatchError) as error:
            read_utilization(client, "endpoint", VARIANT, now - timedelta(minutes=5), now)

    message = str(error.value)
    assert message.startswith("cloudwatch: ")
    assert "\n" not in message
    # moto answers an authorization failure in the query protocol's XML, which the client cannot parse
    # as an RPC v2 CBOR error: the code shows as the HTTP status, and the body carries AccessDenied.
    assert "AccessDenied" in message
    assert "not authorized to perform: monitoring:GetMetricData" in message

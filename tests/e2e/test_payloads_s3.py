"""S3 payload sources against a real moto server: archives, prefixes, and the errors a user sees."""

from __future__ import annotations

import io
import tarfile
import uuid
from typing import Any

import boto3
import pytest

from loadrec.payloads import PayloadError, PayloadLimits, S3ArchiveSource, S3PrefixSource, open_source
from tests.e2e.moto import free_port, use_fake_aws

pytestmark = pytest.mark.e2e


def tar_gz(members: dict[str, bytes], hostile: tuple[tarfile.TarInfo, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
        for info in hostile:
            archive.addfile(info)
    return buffer.getvalue()


@pytest.fixture
def endpoint(moto_url: str) -> str:
    return moto_url


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    use_fake_aws(monkeypatch)


@pytest.fixture
def s3(endpoint: str) -> Any:
    return boto3.session.Session().client("s3", endpoint_url=endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"payloads-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


GOOD = {"requests/a.csv": b"1,2,3\n", "requests/nested/b.json": b'{"x": 1}', "c.jsonl": b'{"y": 2}\n'}


def test_archive_object_is_read_in_memory(s3: Any, bucket: str, endpoint: str) -> None:
    s3.put_object(Bucket=bucket, Key="inputs/payload.tar.gz", Body=tar_gz(GOOD))
    payloads = S3ArchiveSource(f"s3://{bucket}/inputs/payload.tar.gz", endpoint_url=endpoint).load()
    assert [(p.name, p.body, p.content_type) for p in payloads] == [
        ("c.jsonl", b'{"y": 2}\n', "application/jsonlines"),
        ("requests/a.csv", b"1,2,3\n", "text/csv"),
        ("requests/nested/b.json", b'{"x": 1}', "application/json"),
    ]


def test_open_source_reads_an_s3_archive_with_the_jobs_content_type(s3: Any, bucket: str, endpoint: str) -> None:
    s3.put_object(Bucket=bucket, Key="payload.tgz", Body=tar_gz(GOOD))
    source = open_source(
        f"s3://{bucket}/payload.tgz", content_type="text/csv", s3_endpoint_url=endpoint, region="us-east-1"
    )
    assert isinstance(source, S3ArchiveSource)
    payloads = source.load()
    assert [p.name for p in payloads] == ["c.jsonl", "requests/a.csv", "requests/nested/b.json"]
    assert {p.content_type for p in payloads} == {"text/csv"}


def test_prefix_yields_every_object_under_it_as_a_folder(s3: Any, bucket: str, endpoint: str) -> None:
    objects = {
        "data/": b"",  # a console-made folder placeholder
        "data/b.json": b"{}",
        "data/a.csv": b"a,b",
        "data/deep/c.bin": b"\x00\x01",
        "data-old/ignored.csv": b"no",
        "elsewhere/ignored.json": b"no",
    }
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    for uri in (f"s3://{bucket}/data", f"s3://{bucket}/data/"):
        source = open_source(uri, s3_endpoint_url=endpoint)
        assert isinstance(source, S3PrefixSource)
        payloads = source.load()
        assert [(p.name, p.body, p.content_type) for p in payloads] == [
            ("a.csv", b"a,b", "text/csv"),
            ("b.json", b"{}", "application/json"),
            ("deep/c.bin", b"\x00\x01", "application/octet-stream"),
        ]


def test_prefix_limits_are_enforced_from_the_listing(s3: Any, bucket: str, endpoint: str) -> None:
    for index in range(3):
        s3.put_object(Bucket=bucket, Key=f"p/{index}.json", Body=b"[1, 2, 3]")
    uri = f"s3://{bucket}/p/"
    with pytest.raises(PayloadError) as too_many:
        S3PrefixSource(uri, limits=PayloadLimits(max_files=2), endpoint_url=endpoint).load()
    assert str(too_many.value) == f"{uri}: more than 2 files (max_files, refused)"
    with pytest.raises(PayloadError) as too_big:
        S3PrefixSource(uri, limits=PayloadLimits(max_total_bytes=20), endpoint_url=endpoint).load()
    assert str(too_big.value) == (
        f"{uri}: object '2.json' (9 bytes) takes the total past 20 bytes (max_total_bytes, refused)"
    )


def test_empty_prefix_is_an_error(bucket: str, endpoint: str) -> None:
    with pytest.raises(PayloadError, match=r"^s3://.*/nothing/: contains no payload files$"):
        open_source(f"s3://{bucket}/nothing/", s3_endpoint_url=endpoint).load()


def test_missing_key_is_one_line(bucket: str, endpoint: str) -> None:
    uri = f"s3://{bucket}/missing.tar.gz"
    with pytest.raises(PayloadError) as caught:
        open_source(uri, s3_endpoint_url=endpoint).load()
    assert str(caught.value) == f"{uri}: NoSuchKey (The specified key does not exist.)"


def test_missing_bucket_is_one_line(endpoint: str) -> None:
    uri = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/prefix/"
    with pytest.raises(PayloadError) as caught:
        open_source(uri, s3_endpoint_url=endpoint).load()
    assert str(caught.value) == f"{uri}: NoSuchBucket (The specified bucket does not exist)"


def symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [
        (tarfile.TarInfo("../evil.csv"), "member '../evil.csv' escapes the archive (refused)"),
        (symlink("link.csv", "/etc/passwd"), "member 'link.csv' is a symbolic link to '/etc/passwd' (refused)"),
    ],
    ids=["dot-dot", "symlink"],
)
def test_hostile_archive_in_s3_is_refused(
    s3: Any, bucket: str, endpoint: str, hostile: tarfile.TarInfo, reason: str
) -> None:
    s3.put_object(Bucket=bucket, Key="bad.tar.gz", Body=tar_gz(GOOD, (hostile,)))
    uri = f"s3://{bucket}/bad.tar.gz"
    with pytest.raises(PayloadError) as caught:
        open_source(uri, s3_endpoint_url=endpoint).load()
    assert str(caught.value) == f"{uri}: {reason}"


def test_archive_larger_than_the_limit_is_refused_before_reading(s3: Any, bucket: str, endpoint: str) -> None:
    body = tar_gz({"big.bin": bytes(range(256)) * 64})
    s3.put_object(Bucket=bucket, Key="big.tar.gz", Body=body)
    uri = f"s3://{bucket}/big.tar.gz"
    with pytest.raises(PayloadError) as caught:
        S3ArchiveSource(uri, limits=PayloadLimits(max_total_bytes=100), endpoint_url=endpoint).load()
    assert str(caught.value) == (
        f"{uri}: object 'big.tar.gz' is {len(body)} bytes, over the 100-byte limit (max_total_bytes)"
    )


def test_missing_credentials_are_one_line(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup on a cloud host
    with pytest.raises(PayloadError) as caught:
        open_source("s3://any-bucket/p.tar.gz", s3_endpoint_url=endpoint).load()
    assert str(caught.value) == (
        "s3://any-bucket/p.tar.gz: no AWS credentials found "
        "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
    )


def test_unreachable_endpoint_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_RETRY_MODE", "standard")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PayloadError) as caught:
        open_source("s3://b/prefix/", s3_endpoint_url=closed).load()
    message = str(caught.value)
    assert message.startswith("s3://b/prefix/: cannot connect to S3 (Could not connect to the endpoint URL")
    assert closed in message and "\n" not in message

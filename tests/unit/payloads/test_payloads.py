"""The payloads package without a network: tar.gz safety, local directories, content types, picking, dispatch."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tarfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from loadrec.payloads import (
    InMemorySource,
    LocalArchiveSource,
    LocalDirectorySource,
    Payload,
    PayloadError,
    PayloadLimits,
    PayloadPicker,
    S3ArchiveSource,
    S3PrefixSource,
    guess_content_type,
    open_source,
    read_tar_gz,
)
from loadrec.payloads.archive import decompressed_bound

# --- building archives -------------------------------------------------------------------------------------------


def regular(name: str, body: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(body)
    return info, body


def special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    return info, b""


def directory(name: str) -> tuple[tarfile.TarInfo, bytes]:
    return special(name, tarfile.DIRTYPE)


def write_archive(path: Path, entries: Iterable[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, body in entries:
            archive.addfile(info, io.BytesIO(body) if info.isreg() else None)
    return path


GOOD_ENTRIES = [
    directory("payloads"),
    directory("payloads/nested"),
    regular("payloads/b.json", b'{"b": 1}'),
    regular("./payloads/a.csv", b"1,2\n"),
    regular("payloads/nested/c.jsonl", b'{"c": 3}\n'),
    regular("payloads/nested/d.bin", b"\x00\xff"),
    regular("top.txt", b"plain"),
]


def files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory inside tmp_path, so any escaping write would land where the test can see it."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# --- archives ----------------------------------------------------------------------------------------------------


def test_good_archive_yields_regular_files_sorted_with_guessed_types(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "good.tar.gz", GOOD_ENTRIES)
    payloads = LocalArchiveSource(path).load()
    assert [(p.name, p.body, p.content_type) for p in payloads] == [
        ("payloads/a.csv", b"1,2\n", "text/csv"),
        ("payloads/b.json", b'{"b": 1}', "application/json"),
        ("payloads/nested/c.jsonl", b'{"c": 3}\n', "application/jsonlines"),
        ("payloads/nested/d.bin", b"\x00\xff", "application/octet-stream"),
        ("top.txt", b"plain", "text/plain"),
    ]


def test_archive_bytes_and_content_type_override(tmp_path: Path) -> None:
    data = write_archive(tmp_path / "good.tgz", GOOD_ENTRIES).read_bytes()
    payloads = read_tar_gz(data, "mem.tgz", content_type="text/csv")
    assert len(payloads) == 5 and {p.content_type for p in payloads} == {"text/csv"}


LOCATION_FREE_REFUSALS = [
    ([regular("/tmp/abs.csv", b"x")], "member '/tmp/abs.csv' has an absolute path (refused)"),
    ([regular("../evil.csv", b"x")], "member '../evil.csv' escapes the archive (refused)"),
    ([regular("ok/../../evil.csv", b"x")], "member 'ok/../../evil.csv' escapes the archive (refused)"),
    ([regular("ok\\..\\evil.csv", b"x")], "member 'ok\\\\..\\\\evil.csv' escapes the archive (refused)"),
    ([directory("../outside")], "member '../outside' escapes the archive (refused)"),
    (
        [regular("a.csv", b"x"), special("link.csv", tarfile.SYMTYPE, "/etc/passwd")],
        "member 'link.csv' is a symbolic link to '/etc/passwd' (refused)",
    ),
    (
        [regular("a.csv", b"x"), special("hard.csv", tarfile.LNKTYPE, "a.csv")],
        "member 'hard.csv' is a hard link to 'a.csv' (refused)",
    ),
    ([special("tty", tarfile.CHRTYPE)], "member 'tty' is a character device (refused)"),
    ([special("disk", tarfile.BLKTYPE)], "member 'disk' is a block device (refused)"),
    ([special("pipe", tarfile.FIFOTYPE)], "member 'pipe' is a FIFO (refused)"),
    ([regular("a.csv", b"1"), regular("./a.csv", b"2")], "member './a.csv' appears more than once (refused)"),
]


@pytest.mark.parametrize(("entries", "reason"), LOCATION_FREE_REFUSALS)
def test_hostile_archive_is_refused_and_nothing_is_written(
    tmp_path: Path, workdir: Path, entries: list[tuple[tarfile.TarInfo, bytes]], reason: str
) -> None:
    path = write_archive(tmp_path / "hostile.tar.gz", entries)
    before = files_under(tmp_path)
    with pytest.raises(PayloadError) as caught:
        LocalArchiveSource(path).load()
    assert str(caught.value) == f"{path}: {reason}"
    assert files_under(tmp_path) == before
    assert not (tmp_path / "evil.csv").exists() and not (tmp_path.parent / "evil.csv").exists()


def test_too_many_files_counts_only_regular_files(tmp_path: Path) -> None:
    entries = [directory("d"), regular("d/1.csv", b"1"), regular("d/2.csv", b"2")]
    path = write_archive(tmp_path / "two.tar.gz", entries)
    assert len(LocalArchiveSource(path, limits=PayloadLimits(max_files=2)).load()) == 2
    path = write_archive(tmp_path / "three.tar.gz", [*entries, regular("d/3.csv", b"3")])
    with pytest.raises(PayloadError) as caught:
        LocalArchiveSource(path, limits=PayloadLimits(max_files=2)).load()
    assert str(caught.value) == f"{path}: more than 2 files (max_files, refused)"


def test_too_many_directory_entries(tmp_path: Path) -> None:
    entries = [directory(f"d{i}") for i in range(3)] + [regular("a.csv", b"1")]
    path = write_archive(tmp_path / "dirs.tar.gz", entries)
    with pytest.raises(PayloadError, match=r"more than 2 directory entries \(max_files, refused\)$"):
        LocalArchiveSource(path, limits=PayloadLimits(max_files=2)).load()


def test_too_many_bytes_is_refused_from_the_declared_size(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "big.tar.gz", [regular("a.csv", b"12345"), regular("b.csv", b"678901")])
    assert len(LocalArchiveSource(path, limits=PayloadLimits(max_total_bytes=11)).load()) == 2
    with pytest.raises(PayloadError) as caught:
        LocalArchiveSource(path, limits=PayloadLimits(max_total_bytes=10)).load()
    assert (
        str(caught.value)
        == f"{path}: member 'b.csv' (6 bytes) takes the total past 10 bytes (max_total_bytes, refused)"
    )


def test_oversized_headers_are_bounded_while_decompressing(tmp_path: Path) -> None:
    # A pax header is read whole by tarfile; a huge one must not be inflated into memory unchecked.
    limits = PayloadLimits(max_files=1, max_total_bytes=10)
    info, body = regular("a.csv", b"1")
    info.pax_headers = {"comment": "z" * (decompressed_bound(limits) + 1)}
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        archive.addfile(info, io.BytesIO(body))
    with pytest.raises(PayloadError) as caught:
        read_tar_gz(path.read_bytes(), "pax.tar.gz", limits=limits)
    assert str(caught.value) == f"pax.tar.gz: decompresses to more than {decompressed_bound(limits)} bytes (refused)"


def test_corrupt_files_are_payload_errors(tmp_path: Path) -> None:
    good = write_archive(tmp_path / "good.tar.gz", GOOD_ENTRIES).read_bytes()
    not_gzip = tmp_path / "zip.tar.gz"
    not_gzip.write_bytes(b"PK\x03\x04 this is a zip file")
    with pytest.raises(PayloadError) as caught:
        LocalArchiveSource(not_gzip).load()
    assert str(caught.value) == f"{not_gzip}: is not a gzip file (expected a .tar.gz)"
    with pytest.raises(PayloadError, match=r"^cut\.tgz: is not a readable \.tar\.gz \(.+\)$"):
        read_tar_gz(good[: len(good) // 2], "cut.tgz")
    garbage = good[:10] + bytes(range(256)) * 4
    with pytest.raises(PayloadError, match=r"^garbage\.tgz: is not a readable \.tar\.gz \(.+\)$"):
        read_tar_gz(garbage, "garbage.tgz")
    with pytest.raises(PayloadError, match=r"^text\.tgz: is not a readable \.tar\.gz \(.+\)$"):
        read_tar_gz(gzip.compress(b"not a tar archive, just text" * 40), "text.tgz")


def _many_payloads(count: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for index in range(count):
            body = b'{"id": %d, "text": "%s"}' % (index, b"x" * (10 + index * 37 % 500))
            info, _ = regular(f"p{index:03d}.json", body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def test_a_damaged_archive_is_refused_wherever_the_flipped_byte_is() -> None:
    """One flipped bit anywhere after the gzip header: tarfile used to end silently at the first header it
    could not read (200 payloads became 100) and gzip's CRC was never checked; now every one is refused."""
    good = _many_payloads(200)
    assert len(read_tar_gz(good, "good.tgz")) == 200
    accepted = []
    for position in range(10, len(good), 7):
        damaged = bytearray(good)
        damaged[position] ^= 0x10
        try:
            accepted.append((position, len(read_tar_gz(bytes(damaged), "bad.tgz"))))
        except PayloadError as error:
            assert "\n" not in str(error) and str(error).startswith("bad.tgz: ")
    assert accepted == []


def test_a_bad_checksum_trailer_and_data_after_the_archive_are_refused() -> None:
    good = _many_payloads(3)
    crc = bytearray(good)
    crc[-8] ^= 0x01  # the gzip trailer: CRC-32, then the length
    with pytest.raises(PayloadError, match=r"^crc\.tgz: is damaged \(CRC check failed .+; refused\)$"):
        read_tar_gz(bytes(crc), "crc.tgz")
    tar = gzip.decompress(good)
    with pytest.raises(PayloadError, match=r"^tail\.tgz: is damaged: data after the end of the archive"):
        read_tar_gz(gzip.compress(tar + b"\x00" * 1024 + b"more"), "tail.tgz")
    assert len(read_tar_gz(gzip.compress(tar + b"\x00" * 8192), "zeros.tgz")) == 3  # padding is no damage


@pytest.mark.parametrize(
    "entries", [[], [directory("only"), directory("only/dirs")]], ids=["no-entries", "only-directories"]
)
def test_archive_without_regular_files_is_an_error(
    tmp_path: Path, entries: list[tuple[tarfile.TarInfo, bytes]]
) -> None:
    path = write_archive(tmp_path / "empty.tar.gz", entries)
    with pytest.raises(PayloadError) as caught:
        LocalArchiveSource(path).load()
    assert str(caught.value) == f"{path}: contains no payload files"


def test_missing_archive(tmp_path: Path) -> None:
    with pytest.raises(PayloadError) as caught:
        LocalArchiveSource(tmp_path / "nope.tar.gz").load()
    assert str(caught.value) == f"{tmp_path / 'nope.tar.gz'}: does not exist"


# --- local directories -------------------------------------------------------------------------------------------


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, body in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


TREE = {"b.json": b"{}", "a.csv": b"1", "sub/deeper/d.bin": b"\x00", "sub/c.jsonl": b"{}\n", "e.txt": b"e"}


def test_directory_yields_every_file_recursively_sorted(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "payloads", TREE)
    payloads = LocalDirectorySource(root).load()
    assert [(p.name, p.body, p.content_type) for p in payloads] == [
        ("a.csv", b"1", "text/csv"),
        ("b.json", b"{}", "application/json"),
        ("e.txt", b"e", "text/plain"),
        ("sub/c.jsonl", b"{}\n", "application/jsonlines"),
        ("sub/deeper/d.bin", b"\x00", "application/octet-stream"),
    ]
    overridden = LocalDirectorySource(root, content_type="application/x-image").load()
    assert {p.content_type for p in overridden} == {"application/x-image"}


@pytest.mark.parametrize("target", ["outside.csv", "outside_dir"])
def test_symlinks_inside_a_directory_are_refused(tmp_path: Path, target: str) -> None:
    root = make_tree(tmp_path / "payloads", {"a.csv": b"1"})
    (tmp_path / "outside_dir").mkdir()
    (tmp_path / "outside.csv").write_bytes(b"secret")
    (root / "sub").mkdir()
    os.symlink(tmp_path / target, root / "sub" / "link")
    with pytest.raises(PayloadError) as caught:
        LocalDirectorySource(root).load()
    assert str(caught.value) == f"{root}: 'sub/link' is a symbolic link (refused: links are not followed)"


def test_directory_limits(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "payloads", TREE)
    with pytest.raises(PayloadError, match=r": more than 4 files \(max_files, refused\)$"):
        LocalDirectorySource(root, limits=PayloadLimits(max_files=4)).load()
    with pytest.raises(PayloadError, match=r": file 'b\.json' \(2 bytes\) takes the total past 2 bytes"):
        LocalDirectorySource(root, limits=PayloadLimits(max_total_bytes=2)).load()


def test_empty_missing_and_non_directories_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    (tmp_path / "file.csv").write_bytes(b"1")
    cases = {
        tmp_path / "empty": "contains no payload files",
        tmp_path / "missing": "does not exist",
        tmp_path / "file.csv": "is not a directory",
    }
    for path, reason in cases.items():
        with pytest.raises(PayloadError) as caught:
            LocalDirectorySource(path).load()
        assert str(caught.value) == f"{path}: {reason}"


# --- content types, errors, in-memory sources ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.csv", "text/csv"),
        ("dir/A.CSV", "text/csv"),
        ("x.json", "application/json"),
        ("x.jsonl", "application/jsonlines"),
        ("img.png", "image/png"),
        ("x.csv.gz", "application/octet-stream"),
        ("no_extension", "application/octet-stream"),
        ("dir.v1/no_extension", "application/octet-stream"),
        ("x.unknownext", "application/octet-stream"),
    ],
)
def test_guess_content_type(name: str, expected: str) -> None:
    assert guess_content_type(name) == expected


def test_payload_error_is_one_line_and_survives_pickling() -> None:
    error = PayloadError("s3://b/k.tar.gz", "SlowDown (Please reduce\nyour request rate.)")
    assert str(error) == "s3://b/k.tar.gz: SlowDown (Please reduce your request rate.)"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.location, copy.reason, str(copy)) == (error.location, error.reason, str(error))


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        PayloadLimits(max_files=0)


def test_in_memory_source_sorts_and_refuses_empty_or_duplicates() -> None:
    b, a = Payload("b", b"2", "text/csv"), Payload("a", b"1", "text/csv")
    assert InMemorySource([b, a]).load() == (a, b)
    with pytest.raises(PayloadError, match=r"^<memory>: contains no payload files$"):
        InMemorySource([]).load()
    with pytest.raises(PayloadError, match=r"^mine: payload 'a' appears more than once \(refused\)$"):
        InMemorySource([a, b, a], location="mine").load()


# --- picking -----------------------------------------------------------------------------------------------------

FIVE = tuple(Payload(f"p{i}", str(i).encode(), "text/csv") for i in range(5))


def names(picker: PayloadPicker, count: int) -> list[str]:
    return [picker.next().name for _ in range(count)]


def test_picker_is_round_robin_from_a_seeded_offset() -> None:
    assert names(PayloadPicker(FIVE, seed=7, user_index=2), 7) == ["p2", "p3", "p4", "p0", "p1", "p2", "p3"]
    assert names(PayloadPicker(FIVE, seed=7, user_index=0), 6) == ["p0", "p1", "p2", "p3", "p4", "p0"]
    assert names(PayloadPicker(FIVE[:1], seed=7, user_index=3), 3) == ["p0", "p0", "p0"]


def test_same_seed_same_sequence_and_users_spread_out() -> None:
    for user in range(20):
        assert names(PayloadPicker(FIVE, 42, user), 12) == names(PayloadPicker(FIVE, 42, user), 12)
    ten = tuple(Payload(f"p{i}", b"", "text/csv") for i in range(10))
    offsets = [PayloadPicker(ten, seed=42, user_index=user).offset for user in range(100)]
    assert len(set(offsets)) == 10


def test_unseeded_picker_still_cycles_through_everything() -> None:
    picker = PayloadPicker(FIVE, seed=None, user_index=0)
    first = names(picker, 5)
    assert sorted(first) == [p.name for p in FIVE]
    assert names(picker, 5) == first


def test_picker_needs_payloads() -> None:
    with pytest.raises(ValueError, match="at least one payload"):
        PayloadPicker((), seed=1, user_index=0)


# --- dispatch ----------------------------------------------------------------------------------------------------


def test_open_source_dispatches_s3_uris() -> None:
    archive = open_source("s3://bucket/in/p.TAR.GZ", s3_endpoint_url="http://127.0.0.1:9", region="eu-west-1")
    assert isinstance(archive, S3ArchiveSource)
    assert (archive.bucket, archive.key, archive.endpoint_url, archive.region) == (
        "bucket",
        "in/p.TAR.GZ",
        "http://127.0.0.1:9",
        "eu-west-1",
    )
    assert isinstance(open_source("s3://bucket/p.tgz"), S3ArchiveSource)
    prefix = open_source("s3://bucket/in", content_type="text/csv")
    assert isinstance(prefix, S3PrefixSource)
    assert (prefix.bucket, prefix.prefix, prefix.content_type, prefix.location) == (
        "bucket",
        "in/",
        "text/csv",
        "s3://bucket/in",
    )
    whole_bucket = open_source("s3://bucket")
    assert isinstance(whole_bucket, S3PrefixSource) and whole_bucket.prefix == ""


def test_open_source_dispatches_local_paths(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "payloads", TREE)
    archive = write_archive(tmp_path / "p.tgz", GOOD_ENTRIES)
    assert isinstance(open_source(str(root)), LocalDirectorySource)
    assert isinstance(open_source(f"file://{root}"), LocalDirectorySource)
    relative = open_source("payloads", base_dir=tmp_path)
    assert isinstance(relative, LocalDirectorySource) and relative.path == root
    local_archive = open_source("file://p.tgz", base_dir=tmp_path, content_type="text/csv")
    assert isinstance(local_archive, LocalArchiveSource) and local_archive.path == archive
    assert {p.content_type for p in local_archive.load()} == {"text/csv"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "'': is empty (expected an s3:// URI or a local path)"),
        ("s3:///key.tar.gz", "s3:///key.tar.gz: names no bucket (expected s3://bucket/key)"),
        (
            "https://my-bucket.s3.eu-west-1.amazonaws.com/in/p.tar.gz",
            "https://my-bucket.s3.eu-west-1.amazonaws.com/in/p.tar.gz: HTTPS object URLs are not supported; "
            "use the S3 URI s3://my-bucket/in/p.tar.gz",
        ),
        ("ftp://host/p.tar.gz", "ftp://host/p.tar.gz: unsupported URL scheme 'ftp' (expected s3:// or a local path)"),
    ],
)
def test_open_source_refuses_what_it_cannot_read(url: str, message: str) -> None:
    with pytest.raises(PayloadError) as caught:
        open_source(url)
    assert str(caught.value) == message


def test_open_source_refuses_missing_and_unsupported_local_paths(tmp_path: Path) -> None:
    (tmp_path / "p.zip").write_bytes(b"PK")
    with pytest.raises(PayloadError) as caught:
        open_source("missing", base_dir=tmp_path)
    assert str(caught.value) == f"{tmp_path / 'missing'}: does not exist"
    with pytest.raises(PayloadError) as caught:
        open_source(str(tmp_path / "p.zip"))
    assert str(caught.value) == f"{tmp_path / 'p.zip'}: is neither a directory nor a .tar.gz/.tgz archive"

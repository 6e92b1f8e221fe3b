"""The local-file log store: capped writes, references, tails (no database)."""

from apps.executor import logstore


def test_a_saved_stream_is_read_back_by_its_reference(settings, tmp_path):
    settings.EXEC_LOG_DIR = tmp_path
    ref = logstore.save(run_id="r1", step_pk=7, stream="stdout", data=b"line 1\nline 2\n")
    assert ref == "r1/7.stdout.log"
    assert logstore.read(ref) == "line 1\nline 2\n"
    assert logstore.read(ref, tail_bytes=7) == "line 2\n"


def test_empty_output_stores_nothing(settings, tmp_path):
    settings.EXEC_LOG_DIR = tmp_path
    assert logstore.save(run_id="r1", step_pk=1, stream="stderr", data=b"") == ""
    assert logstore.read("") == ""


def test_output_beyond_the_cap_is_cut_and_marked(settings, tmp_path):
    settings.EXEC_LOG_DIR = tmp_path
    settings.EXEC_LOG_MAX_BYTES = 10
    ref = logstore.save(run_id="r1", step_pk=2, stream="stdout", data=b"x" * 100)
    assert logstore.read(ref) == "x" * 10 + "\n[log truncated]\n"


def test_a_reference_outside_the_log_directory_reads_nothing(settings, tmp_path):
    settings.EXEC_LOG_DIR = tmp_path / "logs"
    (tmp_path / "secret").write_text("nope")
    assert logstore.read("../secret") == ""

"""apps.kb.quiet and the embedding task: embedding waits for a quiet moment, for a bounded
time (the clock, the sleep and the machine's CPU readings are given, not the real ones)."""

import pytest

from apps.kb import quiet, services, tasks
from apps.kb.models import KbChunk
from tests.kb_support import DISK


class Machine:
    """CPU readings whose busy share over each interval follows `shares`, on a fake clock."""

    def __init__(self, shares):
        self.shares, self.now, self.busy, self.total = list(shares), 0.0, 0, 0

    def sample(self):
        return self.busy, self.total

    def sleep(self, seconds):
        self.now += seconds
        share = self.shares.pop(0) if self.shares else 0.0
        self.busy += round(share * 1000)
        self.total += 1000

    def wait(self, deadline, threshold=0.5):
        return quiet.wait_for_quiet(
            deadline,
            threshold=threshold,
            interval=0.25,
            clock=lambda: self.now,
            sleep=self.sleep,
            sample=self.sample,
        )


def test_busy_share_is_the_busy_part_of_the_time_between_two_readings():
    assert quiet.busy_share((100, 1000), (400, 2000)) == 0.3
    assert quiet.busy_share((100, 1000), (100, 1000)) == 0.0


def test_cpu_times_leave_idle_and_iowait_out_of_busy(tmp_path):
    stat = tmp_path / "stat"
    stat.write_text("cpu  10 1 5 80 4 0 0 0 0 0\ncpu0 5 0 2 40 2 0 0 0 0 0\n")
    assert quiet.cpu_times(str(stat)) == (16, 100)


def test_cpu_times_of_a_machine_that_cannot_be_read_are_none(tmp_path):
    assert quiet.cpu_times(str(tmp_path / "absent")) is None


def test_a_quiet_machine_is_waited_for_one_interval_only():
    machine = Machine([0.2])
    assert machine.wait(deadline=30)
    assert machine.now == 0.25


def test_a_busy_machine_is_waited_for_until_it_quietens():
    machine = Machine([0.9, 0.95, 0.8, 0.3])
    assert machine.wait(deadline=30)
    assert machine.now == 1.0


def test_a_machine_that_stays_busy_is_waited_for_until_the_deadline_only():
    machine = Machine([1.0] * 1000)
    assert not machine.wait(deadline=5)
    assert 5 <= machine.now < 5.25


def test_a_machine_that_cannot_be_read_is_not_waited_for():
    assert quiet.wait_for_quiet(
        30,
        threshold=0.5,
        interval=0.25,
        clock=lambda: 0.0,
        sleep=lambda s: None,
        sample=lambda: None,
    )


@pytest.mark.django_db
def test_the_task_embeds_every_pending_chunk_after_its_wait(operator, settings, monkeypatch):
    settings.KB_EMBED_DEFER_S = 5
    waits = []
    monkeypatch.setattr(quiet, "cpu_times", lambda: None)  # no waiting on the real machine
    real = quiet.wait_for_quiet
    monkeypatch.setattr(
        quiet,
        "wait_for_quiet",
        lambda deadline, **kw: waits.append(deadline) or real(deadline, **kw),
    )
    first = services.doc_ingest(**DISK, actor=operator)
    other = services.doc_ingest(**{**DISK, "title": "Disk full again"}, actor=operator)

    assert tasks.embed_chunks([first.pk]) == KbChunk.objects.count()

    assert len(waits) == 1
    assert not services.pending_chunks([other.pk]).exists()  # the tasks behind it find nothing
    assert tasks.embed_chunks([other.pk]) == 0
    assert len(waits) == 1  # nothing pending: no wait

"""Texts are embedded in batches of like lengths (pure): a batch costs its longest text's
length for each member."""

from apps.kb.embedding import LONGEST, length_batches


def test_a_long_text_is_not_batched_with_short_ones():
    lengths = [72, 18, 204, 72, 74, 129, 982]
    assert length_batches(lengths, size=32) == [[6], [2], [5], [4, 0, 3], [1]]


def test_every_text_is_in_exactly_one_batch_and_no_batch_exceeds_the_size():
    lengths = [500 - i for i in range(100)]
    batches = length_batches(lengths, size=32)
    assert sorted(i for batch in batches for i in batch) == list(range(100))
    assert max(len(batch) for batch in batches) == 32


def test_texts_past_what_the_model_reads_count_as_equally_long():
    assert length_batches([LONGEST * 3, LONGEST, LONGEST * 2], size=8) == [[0, 2, 1]]


def test_no_text_no_batch():
    assert length_batches([], size=8) == []

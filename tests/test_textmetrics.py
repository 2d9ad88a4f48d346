"""WER with contractions normalised (issue #8): "I am sorry, that's" and "I'm sorry, that is" are the same words."""

from __future__ import annotations

import pytest

from vidqa.analyze.textmetrics import expand_contractions, normalize_text, wer


@pytest.mark.parametrize("ref,hyp", [
    ("I am sorry, that's not what I asked for.", "I'm sorry, that is not what I asked for"),
    ("We can't go, they won't wait.", "we cannot go they will not wait"),
    ("Let's hear it, it's great, you'll see, we've won, they're here, I'd go",
     "let us hear it it is great you will see we have won they are here I would go"),
    ("Don't leave your bags.", "do not leave your bags"),
])
def test_contractions_do_not_count_as_errors(ref, hyp):
    assert wer(ref, hyp) == 0.0


def test_real_errors_still_count_and_possessives_stay():
    assert wer("the referee's whistle", "the referees whistle") == 0.0  # apostrophes dropped as before
    assert expand_contractions("john's ball") == "john's ball"  # a possessive is not "is"
    assert wer("I am sorry, that's it", "I'm sorry, that was it") == pytest.approx(1 / 6)  # is -> was


def test_normalize_text_keeps_its_default():
    # other callers (word matching in transcribe) rely on the old default: contractions untouched
    assert normalize_text("It's 3.5% -- the 2nd time!") == "its three point five percent the second time"
    assert normalize_text("It's here", contractions=True) == "it is here"

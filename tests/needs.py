"""What to do when something `make test` installs is missing.

On a developer machine a missing tool (Chromium, espeak-ng, a Debian media package the mirror did not deliver, the
`yolo` extra) skips the test with the reason. Under CI (``CI`` set, as `.ci/run` runs) everything is installed by
`make test`, so a missing requirement is a failure: a green run never hides tests that did not run.
"""

from __future__ import annotations

import os

import pytest


def missing(reason: str) -> None:
    """Skip (locally) or fail (under CI) because ``reason``: a requirement of the test suite is not there."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} -- `make test` installs this, so CI must have it", pytrace=False)
    pytest.skip(reason)

"""The open-file limit is raised to what the system allows, in a process of its own."""

from __future__ import annotations

import resource
import subprocess
import sys

import pytest

pytestmark = pytest.mark.timeout(30)

SHOW = (
    "import resource; from net.listener import raise_open_file_limit; "
    "got = raise_open_file_limit(); "
    "print(got, resource.getrlimit(resource.RLIMIT_NOFILE)[0])"
)


def test_a_low_soft_limit_is_raised_to_the_hard_one() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip("needs a finite hard limit above 256")

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    out = subprocess.run(
        [sys.executable, "-c", SHOW], preexec_fn=lower, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(hard), str(hard)]

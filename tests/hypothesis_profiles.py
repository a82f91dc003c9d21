"""How many examples hypothesis tries of each property. The default run (profile
`chatapp`) tries a quarter of each property's examples; `pytest --hypothesis-profile
thorough` tries them all. A property that wants more or fewer than hypothesis' 100 says so
with `examples(n)`, which both profiles scale alike. A property with seeds fixed
(`derandomize`) or a soak's count is not scaled."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

#: The examples of a property in a thorough run, unless it names its own number.
THOROUGH = 100
#: The share of them the default run tries.
DEFAULT_SHARE = 4
#: The profile of a run not given --hypothesis-profile (tests/conftest.py loads it).
DEFAULT = "chatapp"

# The suite runs in five workers on as few as two cores (pyproject.toml): an example may
# then wait for a CPU longer than hypothesis' default 200 ms deadline. Speed is measured in
# bench/, not here.
settings.register_profile(
    "thorough",
    max_examples=THOROUGH,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    DEFAULT, settings.get_profile("thorough"), max_examples=THOROUGH // DEFAULT_SHARE
)


def examples(wanted: int) -> int:
    """The examples tried of a property that names `wanted`, under the profile loaded (at
    least one): read as the test modules are imported, after pytest's options."""
    return max(1, wanted * settings.default.max_examples // THOROUGH)

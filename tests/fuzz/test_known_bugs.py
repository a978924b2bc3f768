"""Collects :mod:`tests.fuzz.known_bugs` (the open bugs' strict-xfail reproducers) under pytest's file naming."""

from tests.fuzz.known_bugs import *  # noqa: F403

"""freeze_startup_heap: what start-up built stays out of the garbage collector's walks."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from feedbackloop.server import freeze_startup_heap


@pytest.fixture(autouse=True)
def _unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()  # the test process goes on collecting everything


class Cycle:
    """An object in a reference cycle: only the garbage collector frees it."""

    def __init__(self) -> None:
        self.me = self


def test_objects_that_exist_are_left_out_of_collections() -> None:
    kept = Cycle()
    frozen = freeze_startup_heap()
    assert frozen == gc.get_freeze_count() > 0
    assert not any(obj is kept for obj in gc.get_objects())


def test_startup_garbage_is_collected_before_the_freeze() -> None:
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    freeze_startup_heap()
    assert gone() is None


def test_objects_made_after_the_freeze_are_collected_as_usual() -> None:
    freeze_startup_heap()
    garbage = Cycle()
    gone = weakref.ref(garbage)
    del garbage
    gc.collect()
    assert gone() is None

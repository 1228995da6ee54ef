"""An enrichment plugin: owners and teams from a CODEOWNERS-style file.

```text
# pattern (a glob on the service)   owners: @org/team and @person
checkout-*                          @acme/payments @alice
search                              @acme/discovery
*                                   @acme/sre
```

As in CODEOWNERS, the last matching line wins. The first `@org/team` owner sets the
`team` label (`payments`), the first individual the `owner` label (`alice`); labels a
signal already carries are kept. Give it to the loop as a plugin:

```python
from feedbackloop import FeedbackLoop
from feedbackloop.owners import Owners

loop = FeedbackLoop(rules, plugins=[Owners.from_file("OWNERS")])
```
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from feedbackloop._models import Signal
from feedbackloop.errors import ConfigurationError
from feedbackloop.hookspecs import hookimpl

__all__ = ["OwnerRule", "Owners"]


@dataclass(frozen=True, slots=True)
class OwnerRule:
    """One line of the owners file: a service glob and its owners."""

    pattern: str
    owners: tuple[str, ...]

    def team(self) -> str | None:
        """The first `@org/team` owner's team name."""
        for owner in self.owners:
            if "/" in owner:
                return owner.rpartition("/")[2]
        return None

    def person(self) -> str | None:
        """The first individual owner, without the `@`."""
        for owner in self.owners:
            if "/" not in owner:
                return owner.lstrip("@")
        return None


class Owners:
    """Sets `team` and `owner` labels from the service name (an `enrich_signal` plugin).

    Args:
        rules: Lines of the owners map, first to last (the last match wins).
        team_label: The label to set from the team owner.
        owner_label: The label to set from the individual owner.
    """

    def __init__(
        self,
        rules: Iterable[OwnerRule],
        *,
        team_label: str = "team",
        owner_label: str = "owner",
    ) -> None:
        self.rules: Sequence[OwnerRule] = tuple(rules)
        self.team_label = team_label
        self.owner_label = owner_label
        self.__name__ = "owners"  # the plugin's name in `feedbackloop plugins`

    @classmethod
    def parse(cls, text: str, **options: str) -> Owners:
        """Read a CODEOWNERS-style text.

        Raises:
            ConfigurationError: a line has a pattern but no owner, or an owner without `@`.
        """
        rules = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            pattern, *owners = line.split()
            if not owners:
                raise ConfigurationError(f"owners line {number}: {pattern!r} has no owner")
            wrong = [owner for owner in owners if not owner.startswith("@")]
            if wrong:
                raise ConfigurationError(
                    f"owners line {number}: owners start with @ (got {wrong[0]!r})"
                )
            rules.append(OwnerRule(pattern, tuple(owners)))
        return cls(rules, **options)

    @classmethod
    def from_file(cls, path: str | Path, **options: str) -> Owners:
        """Read an owners file."""
        return cls.parse(Path(path).read_text(encoding="utf-8"), **options)

    def match(self, service: str) -> OwnerRule | None:
        """The line that owns `service`: the last one whose glob matches."""
        for rule in reversed(self.rules):
            if fnmatch.fnmatchcase(service, rule.pattern):
                return rule
        return None

    @hookimpl
    def enrich_signal(self, signal: Signal) -> Signal | None:
        """Add the team and owner labels of the signal's service, keeping existing ones."""
        if signal.service is None:
            return None
        rule = self.match(signal.service)
        if rule is None:
            return None
        found = {self.team_label: rule.team(), self.owner_label: rule.person()}
        added = {k: v for k, v in found.items() if v is not None and k not in signal.labels}
        if not added:
            return None
        return signal.model_copy(update={"labels": {**signal.labels, **added}})

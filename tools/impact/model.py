"""What a comparison finds: changed resources and Kubernetes objects, blockers and notes, and their sum."""

from __future__ import annotations

from dataclasses import dataclass, field

from tools.impact.cloudformation import STATEFUL_TYPES
from tools.impact.kubernetes import K8sChange


@dataclass(frozen=True)
class Change:
    stack: str
    logical_id: str
    type: str
    action: str  # replace | add | remove | update
    reasons: tuple[str, ...] = ()

    @property
    def stateful(self) -> bool:
        return self.type in STATEFUL_TYPES


@dataclass(frozen=True)
class Blocker:
    """A change no deploy can carry out as planned (CloudFormation refuses it, or the CDK CLI never sends it)."""

    stack: str
    subject: str  # a logical id, or the output a stack reads
    note: str
    kind: str = ""  # a short name of what is refused, for tables


@dataclass(frozen=True)
class Note:
    """What the deploy needs done beforehand that the templates cannot say (printed always, never refused)."""

    stack: str
    subject: str
    note: str


@dataclass
class Impact:
    changes: list[Change] = field(default_factory=list)
    kubernetes: list[K8sChange] = field(default_factory=list)
    blockers: list[Blocker] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def of(self, action: str) -> list[Change]:
        return [c for c in self.changes if c.action == action]

    @property
    def stateful(self) -> list[Change]:
        """Stateful resources that would be replaced or removed."""
        return [c for c in self.changes if c.stateful and c.action in {"replace", "remove"}]

    @property
    def blocking(self) -> list[K8sChange]:
        """Kubernetes changes the deploy cannot carry out (a route taking over a hostname kept until after it)."""
        return [k for k in self.kubernetes if k.blocking]

    def summary(self) -> str:
        counts = [len(self.of(a)) for a in ("replace", "add", "remove", "update")]
        text = "impact: {} replaced, {} added, {} removed, {} updated in place".format(*counts)
        refused = len(self.blockers) + len(self.blocking)
        return f"{text}; {refused} blocked: the deploy does not go as listed" if refused else text


@dataclass(frozen=True)
class Stranded:
    """A stack the app no longer deploys, left in its account (tools/stranded.py finds consumer ones), and the
    commands that delete it."""

    stack: str
    account: str
    region: str

    @property
    def destroy(self) -> str:
        where = f"--region {self.region} --stack-name {self.stack}"
        return f"aws cloudformation delete-stack {where} && aws cloudformation wait stack-delete-complete {where}"

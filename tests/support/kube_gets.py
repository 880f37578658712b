"""KubeClient.get in process, for handler tests that only read the cluster (the HTTPS fake is fake_kube.py)."""

from __future__ import annotations

import copy
from typing import Any


class KubeGets:
    """Each GET answers from `objects` by path: an object (a copy, as a fresh response would be), None (KubeClient's
    answer for a 404), or an exception to raise. `gets` lists the paths asked, in order. A path not in `objects`
    is a 404, unless strict: then it fails the test (KeyError), for tests that name every path the code may read."""

    def __init__(self, objects: dict[str, Any] | None = None, *, strict: bool = False) -> None:
        self.objects: dict[str, Any] = dict(objects or {})
        self.strict = strict
        self.gets: list[str] = []

    def get(self, path: str) -> Any:
        self.gets.append(path)
        answer = self.objects[path] if self.strict else self.objects.get(path)
        if isinstance(answer, BaseException):
            raise answer
        return copy.deepcopy(answer)

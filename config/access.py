"""`routes[].access`: who may call a route (the allow list and unsigned callers), and its default."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, Strict, model_validator

from config.errors import fail
from config.fields import AccountId, Model, RoleArn, says
from config.limits import MAX_CALLERS, MAX_K8S_NAME

AuthType = Literal["NONE", "AWS_IAM"]

TLS_ACCESS_WHY = (
    "a TLS (passthrough) listener cannot read identities: Lattice limits its auth policies to anonymous principals "
    "and its connections to 10 minutes (VPC Lattice User Guide, TLS listeners)"
)


class Caller(Model):
    """One caller a route admits: exactly one of `role`, `app`, `clientHost`, `account`
    (docs/access-control.md: Access control)."""

    role: RoleArn | None = None
    """an IAM role (its sessions sign with SigV4)"""
    app: Annotated[str, Strict(), Field(max_length=MAX_K8S_NAME)] | None = None
    """a configured app's pods, through EKS Pod Identity (the app gets a signing sidecar, as with `calls`)"""
    client_host: Annotated[Literal[True], says("must be true (leave it out otherwise)")] | None = None
    """the client VPC's test host (its instance role)"""
    account: AccountId | None = None
    """any authenticated principal of a consumer account (one of `consumers`)"""

    @model_validator(mode="after")
    def _exactly_one(self) -> Caller:
        given = [k for k in ("role", "app", "client_host", "account") if getattr(self, k) is not None]
        if len(given) != 1:
            fail(((), "give exactly one of role, app, clientHost or account"))
        return self


class Access(Model):
    """Who may call a route (serviceNetworkAuthType AWS_IAM only); the smoke test always may."""

    allow: Annotated[tuple[Caller, ...], Field(max_length=MAX_CALLERS)] = ()
    """the callers admitted (signed with SigV4); apps whose `calls` name the route are added"""
    unsigned: Annotated[bool, Strict()] = False
    """also admit any request, signed or not, from this app's two VPCs (the tutorial's behaviour)"""

    @model_validator(mode="after")
    def _someone(self) -> Access:
        if not self.allow and not self.unsigned:
            fail(
                (
                    ("allow",),
                    "is empty and unsigned is false: no caller could reach the route (the smoke test "
                    "aside); name a caller, or leave `access` out for the default (the client host)",
                )
            )
        return self


# A route without `access` admits the client host (and, like every route, the smoke test).
DEFAULT_ACCESS = Access.model_validate({"allow": [{"clientHost": True}]})

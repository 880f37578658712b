"""Instance types EC2 has, not merely names of their shape (issue 24, found by make fuzz: `r92zbtws65heit3.h`
was accepted and failed cfn-lint's E3628, and would have failed the deploy)."""

from __future__ import annotations

import botocore.loaders
import pytest

from config import ConfigError, parse_context
from config.model import ec2_instance_types
from tests.conftest import TODAY


def test_the_list_is_botocores_instance_type_enum() -> None:
    shapes = botocore.loaders.Loader().load_service_model("ec2", "service-2")["shapes"]
    assert ec2_instance_types() == frozenset(shapes["InstanceType"]["enum"])


@pytest.mark.parametrize("key", ["nodeInstanceType", "clientInstanceType"])
def test_a_name_of_the_right_shape_ec2_lacks_is_refused_by_key(key: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_context({key: "r92zbtws65heit3.h"}, today=TODAY)
    assert err.value.lines == (
        f"{key}: 'r92zbtws65heit3.h' is not an EC2 instance type (EC2's API lists no such type)",
    )
    assert parse_context({key: "m7g.large"}, today=TODAY)

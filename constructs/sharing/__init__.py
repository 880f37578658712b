"""Sharing with other accounts and stacks: the provider's RAM share and roles, the consumer's link, the wait for
RAM, and the inputs marker that carries a producer's change to its readers."""

from constructs.sharing.consumer_link import ConsumerLink
from constructs.sharing.network_share import ServiceNetworkShare, consumer_auth_statement, grant_invoke
from constructs.sharing.producer_inputs import ProducerInputs
from constructs.sharing.ram_share_waiter import RamShareWaiter

__all__ = [
    "ConsumerLink",
    "ProducerInputs",
    "RamShareWaiter",
    "ServiceNetworkShare",
    "consumer_auth_statement",
    "grant_invoke",
]

"""Dashboard, alarms and saved queries; the metrics they read (Lattice ids, target health); logs' key and
retention."""

from constructs.observability.log_key import LogEncryptionKey
from constructs.observability.metric_ids import LatticeMetricIds
from constructs.observability.monitoring import Observability
from constructs.observability.retention import retention
from constructs.observability.target_health import TargetHealthPublisher

__all__ = ["LatticeMetricIds", "LogEncryptionKey", "Observability", "TargetHealthPublisher", "retention"]

"""Custom-resource handlers that hold a service network's delete until its associations are gone."""

"""Releases this app's Gateway API objects on destroy when the controller cannot."""

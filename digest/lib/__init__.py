"""Helpers shared by the rooms that are not a capability of their own."""

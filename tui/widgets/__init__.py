"""Widgets of the qtui app, one per module."""

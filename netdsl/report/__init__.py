"""Rendering a Report: a rich table for people, JSON/YAML/CSV for tools."""

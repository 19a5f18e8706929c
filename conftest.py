"""Repository-wide pytest configuration.

Kept free of plugins and fixtures: when the plugin is installed in editable
mode, the built-in suites under ``suites/`` are collected from other
directories too, and pytest then loads this file along the way.
"""

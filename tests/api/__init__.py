"""Tests of the public Python API (abiguard.load/diff/layout/users/check_core)."""

"""Reproducibility benchmark suite for Prefix-Tuning (Li & Liang, ACL 2021)."""

__version__ = "0.1.0"

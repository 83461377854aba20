"""Results CSVs in, tables and figures out.

Reads only CSV files (results written by the runner, and the paper's reference numbers packaged
beside this file); never imports torch or a model, so a report runs in about a second.
"""

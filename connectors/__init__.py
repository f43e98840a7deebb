"""Readers that turn delivered files into raw DataFrames of text; they know nothing of Prefect."""

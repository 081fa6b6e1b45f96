"""Sorting and selection: sort, argsort, topk, unique, nonzero."""

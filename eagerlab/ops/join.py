"""Joining and splitting: cat, stack, split, chunk, narrow, unbind; repeat, tile, flip, roll, pad, tril/triu."""

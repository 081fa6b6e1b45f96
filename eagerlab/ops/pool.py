"""Pooling: max_pool1d/2d (with indices), avg_pool1d/2d, adaptive_avg_pool2d."""

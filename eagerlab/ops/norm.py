"""Normalization: layer_norm, batch_norm, group_norm."""

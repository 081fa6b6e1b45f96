"""embedding (with padding_idx) and one_hot."""

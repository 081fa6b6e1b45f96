"""softmax and log_softmax (fused, stable), dropout."""

"""Loss functions: cross_entropy, nll_loss, mse/l1/smooth_l1/huber, binary_cross_entropy(_with_logits), kl_div."""

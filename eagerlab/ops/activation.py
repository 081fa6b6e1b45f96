"""Activation functions: relu, leaky_relu, elu, gelu (exact and tanh), silu, softplus, hardtanh, mish."""

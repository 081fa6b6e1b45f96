"""Convolutions via im2col + one GEMM: conv1d, conv2d, conv_transpose2d (stride, padding, dilation, groups)."""

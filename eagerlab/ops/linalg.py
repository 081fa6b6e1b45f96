"""Linear algebra: matmul, mm, bmm, einsum, outer, dot, tensordot, addmm, baddbmm, linear."""

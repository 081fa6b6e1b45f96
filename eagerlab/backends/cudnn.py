"""`eagerlab.backends.cudnn`: PyTorch's cuDNN switches, accepted and kept. eagerlab does not call cuDNN (its
convolutions are GEMMs, which `backends.cuda.matmul.allow_tf32` governs), so none of them changes a result."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = True  # PyTorch's default for cuDNN convolutions


def is_available():
    """False: eagerlab has no cuDNN path."""
    return False


def version():
    return None

"""Small shared helpers (printing). `eagerlab.utils.data` arrives with the data loading stack."""

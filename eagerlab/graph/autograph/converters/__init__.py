"""One AST converter per construct; api.py applies them in order (TensorFlow's autograph/converters)."""

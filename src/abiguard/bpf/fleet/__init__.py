"""Fleet indexes: many kernels' BTF in one deduplicated store, and CO-RE checks against all of them."""

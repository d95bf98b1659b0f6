"""Test and benchmark support: synthetic Live Photos (``synth``) and synthetic restoration cases (``synthlive``).

Not part of the product: the wheel and the bundle leave this folder out; benchmarks import it from the checkout."""

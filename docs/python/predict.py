#!/usr/bin/env python3
"""Predictions of an nn model file for a CSV table, as CSV (the columns of `nn predict`),
with numpy, safetensors and the standard library alone:

    python3 predict.py model.safetensors data.csv [--out predictions.csv] [--delimiter ';']

The same as `python3 nn_model.py …`; the reader itself, importable, is `nn_model.py`
beside this file.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nn_model import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(prog="predict.py"))

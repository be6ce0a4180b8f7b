"""Evaluation: the papers' metrics, report tables and protocols.

- `metrics`: MPJPE, P-MPJPE, N-MPJPE, MPJVE, top-k (numpy and Keras);
- `reports`: per-action tables, classification reports, confusion matrices;
- `protocols`: whole-sequence pose-lifting evaluation and classification
  evaluation, as the tasks run them.
"""

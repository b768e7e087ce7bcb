"""Offline training for face_perception: data loaders, models, training, evaluation, export.

Run the steps as modules from the repository root, e.g. ``python -m training.train --task emotion``.
See training/README.md.
"""

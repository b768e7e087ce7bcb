"""Helpers of scripts/benchmark.py (frames, measurements, ROS graph run, recall, footprint).

Nothing here imports TensorFlow except :mod:`benchlib.baseline`, and only when the baseline
runs, so our side's memory can be measured in a process that never loads it.
"""

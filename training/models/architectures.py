# Copyright 2026 face_perception maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
The paper's CNNs: mini-Xception and the sequential fully-convolutional baseline.

Arriaga et al., "Real-time Convolutional Neural Networks for Emotion and Gender
Classification": no dense layers, the last convolution has one channel per class and global
average pooling turns it into logits.
"""
from __future__ import annotations

from typing import Sequence

import keras
from keras import layers, regularizers


def build_mini_xception(input_shape: tuple[int, int, int] = (48, 48, 1), num_classes: int = 7,
                        stem_filters: int = 8, block_filters: Sequence[int] = (16, 32, 64, 128),
                        l2: float = 0.01, dropout: float = 0.0, bn_momentum: float = 0.99,
                        name: str = "mini_xception") -> keras.Model:
    """
    Build mini-Xception.

    mini-Xception: two 3x3 conv + BN + ReLU, residual blocks of depthwise separable convs
    with 1x1 strided shortcuts, a last conv to the classes, global average pooling, softmax.

    The defaults are the paper's (about 60k parameters for 7 classes); ``stem_filters`` and
    ``block_filters`` widen it. ``dropout`` (before the class conv) is off in the paper.
    """
    reg = regularizers.L2(l2) if l2 else None
    bn = {"momentum": bn_momentum}
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for i in range(2):
        x = layers.Conv2D(stem_filters, 3, use_bias=False, kernel_regularizer=reg, name=f"stem_conv{i + 1}")(x)
        x = layers.BatchNormalization(**bn, name=f"stem_bn{i + 1}")(x)
        x = layers.Activation("relu", name=f"stem_relu{i + 1}")(x)
    for b, filters in enumerate(block_filters, start=1):
        shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False,
                                 name=f"block{b}_shortcut")(x)
        shortcut = layers.BatchNormalization(**bn, name=f"block{b}_shortcut_bn")(shortcut)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                   depthwise_regularizer=reg, pointwise_regularizer=reg,
                                   name=f"block{b}_sep1")(x)
        x = layers.BatchNormalization(**bn, name=f"block{b}_bn1")(x)
        x = layers.Activation("relu", name=f"block{b}_relu")(x)
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False,
                                   depthwise_regularizer=reg, pointwise_regularizer=reg,
                                   name=f"block{b}_sep2")(x)
        x = layers.BatchNormalization(**bn, name=f"block{b}_bn2")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"block{b}_pool")(x)
        x = layers.Add(name=f"block{b}_add")([x, shortcut])
    if dropout:
        x = layers.Dropout(dropout, name="dropout")(x)
    x = layers.Conv2D(num_classes, 3, padding="same", name="class_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def build_simple_cnn(input_shape: tuple[int, int, int] = (48, 48, 1), num_classes: int = 7,
                     filters: Sequence[int] = (16, 32, 64, 128, 256), dropout: float = 0.5,
                     name: str = "simple_cnn") -> keras.Model:
    """
    Return the paper's sequential fully-convolutional baseline.

    Return the paper's sequential fully-convolutional baseline: stages of two conv + BN (+ReLU),
    average pooling and dropout, ending in a conv to the classes and global average pooling.
    """
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for s, width in enumerate(filters, start=1):
        for i in range(2):
            x = layers.Conv2D(width, 3, padding="same", name=f"stage{s}_conv{i + 1}")(x)
            x = layers.BatchNormalization(name=f"stage{s}_bn{i + 1}")(x)
            x = layers.Activation("relu", name=f"stage{s}_relu{i + 1}")(x)
        if s < len(filters):
            x = layers.AveragePooling2D(2, padding="same", name=f"stage{s}_pool")(x)
            x = layers.Dropout(dropout, name=f"stage{s}_dropout")(x)
    x = layers.Conv2D(num_classes, 3, padding="same", name="class_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


# Named architectures the training CLI accepts; "wide" stays under 100k parameters. "teacher"
# (about 0.76M parameters, 3x the training cost) is for distillation only and is never shipped.
ARCHITECTURES = {
    "mini_xception": {"stem_filters": 8, "block_filters": (16, 32, 64, 128)},
    "mini_xception_wide": {"stem_filters": 16, "block_filters": (24, 48, 96, 144)},
    "mini_xception_teacher": {"stem_filters": 32, "block_filters": (64, 128, 256, 512)},
}


def build_model(arch: str, input_shape: tuple[int, int, int], num_classes: int,
                dropout: float = 0.0, l2: float = 0.01, bn_momentum: float = 0.99) -> keras.Model:
    if arch == "simple_cnn":
        return build_simple_cnn(input_shape, num_classes)
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown --arch '{arch}'; choose from {sorted(ARCHITECTURES) + ['simple_cnn']}")
    return build_mini_xception(input_shape, num_classes, l2=l2, dropout=dropout, bn_momentum=bn_momentum,
                               **ARCHITECTURES[arch])

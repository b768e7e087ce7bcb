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
ROS conversions of the parameter tables (face_perception.parameters): descriptors and declaration.

The tables say what each parameter is; this module only turns a :class:`ParameterSpec` into
a ``ParameterDescriptor`` and declares a table's parameters on a node, returning the values
checked by the one validation function, :func:`face_perception.parameters.validate`.
"""
from __future__ import annotations

from typing import Iterable

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor, ParameterType
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter

from face_perception.parameters import ConfigError, ParameterSpec, ParameterValue, validate

_ROS_TYPES = {
    bool: ParameterType.PARAMETER_BOOL,
    int: ParameterType.PARAMETER_INTEGER,
    float: ParameterType.PARAMETER_DOUBLE,
    str: ParameterType.PARAMETER_STRING,
    list: ParameterType.PARAMETER_STRING_ARRAY,
}


def parameter_descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    """Return the ROS descriptor of a parameter: its type, description, range or choices, read-only flag."""
    descriptor = ParameterDescriptor(type=_ROS_TYPES[spec.type], description=spec.description,
                                     read_only=spec.read_only)
    # Ranges with special out-of-range values (e.g. 0 = off) cannot be expressed in a
    # descriptor: those are spelled out in the text and checked by validate.
    if spec.min is not None and spec.max is not None and not spec.special:
        if spec.type is int:
            descriptor.integer_range = [IntegerRange(from_value=int(spec.min), to_value=int(spec.max), step=1)]
        elif spec.type is float:
            descriptor.floating_point_range = [
                FloatingPointRange(from_value=float(spec.min), to_value=float(spec.max), step=0.0)
            ]
    elif spec.special:
        descriptor.additional_constraints = (
            f"{spec.min:g}..{spec.max:g} or one of {', '.join(repr(v) for v in spec.special)}"
        )
    if spec.choices:
        descriptor.additional_constraints = f"one of {', '.join(repr(v) for v in spec.choices)}"
    return descriptor


def declare_table(node: Node, specs: Iterable[ParameterSpec]) -> dict[str, ParameterValue | None]:
    """
    Declare every parameter of ``specs`` on ``node``; return name -> its validated value.

    A parameter without a default (``default`` None) that was not given is None. Raises
    :class:`ConfigError` naming the parameter when ROS refuses a value (type, descriptor
    range) or :func:`validate` does.
    """
    values: dict[str, ParameterValue | None] = {}
    for spec in specs:
        # No default: declared by type alone, uninitialised unless given.
        default = Parameter.Type(_ROS_TYPES[spec.type]) if spec.default is None else spec.default
        try:
            value = node.declare_parameter(spec.name, default, parameter_descriptor(spec)).value
        except rclpy.exceptions.ParameterUninitializedException:
            value = None
        except rclpy.exceptions.ParameterException as error:
            raise ConfigError(f"parameter '{spec.name}': {error}") from error
        values[spec.name] = None if value is None else validate(spec, value)
    return values

"""derive against the expected values other projects' own test suites assert.

Each table below is transcribed from a public test suite (the source is named above it) and
read one axis at a time: ``(case, kind, n, k, s, padding, d, ceil_mode, output_padding,
output_size, expected)``, ``kind`` being ``conv``, ``pool`` or ``transpose``. derive must give
the expected size under the framework's convention. A pool's stride is always given (ONNX's
default stride is 1, not the kernel). ONNX's ``LpPool`` sizes like ``MaxPool``, so its cases
are read by derive's pooling rule.

The ONNX backend cases are also run live (their exporters, in the installed ``onnx``, build
the node and the expected output tensor): derive's elements must equal ONNX's for every 2-D,
single-image, ungrouped float case.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

import derive
from derive import ShapeError
from derive.conventions.layer import conv_transpose_padding

#: onnx/onnx, onnx/backend/test/case/node/{conv,convtranspose,maxpool,averagepool,lppool}.py:
#: the output shape of every node test (``expect(node, inputs=[x, ...], outputs=[y])``).
ONNX_NODE_TESTS = [
    ("basic_conv_with_padding", "conv", 5, 3, 1, (1, 1), 1, False, 0, None, 5),
    ("basic_conv_without_padding", "conv", 5, 3, 1, (0, 0), 1, False, 0, None, 3),
    ("conv_with_autopad_same", "conv", 5, 3, 2, "SAME_LOWER", 1, False, 0, None, 3),
    ("conv_with_strides_padding", "conv", 7, 3, 2, (1, 1), 1, False, 0, None, 4),
    ("conv_with_strides_padding", "conv", 5, 3, 2, (1, 1), 1, False, 0, None, 3),
    ("conv_with_strides_no_padding", "conv", 7, 3, 2, (0, 0), 1, False, 0, None, 3),
    ("conv_with_strides_no_padding", "conv", 5, 3, 2, (0, 0), 1, False, 0, None, 2),
    ("conv_with_strides_and_asymmetric_padding", "conv", 7, 3, 2, (1, 1), 1, False, 0, None, 4),
    ("conv_with_strides_and_asymmetric_padding", "conv", 5, 3, 2, (0, 0), 1, False, 0, None, 2),
    ("convtranspose", "transpose", 3, 3, 1, "NOTSET", 1, False, 0, None, 5),
    ("convtranspose_1d", "transpose", 3, 3, 1, "NOTSET", 1, False, 0, None, 5),
    ("convtranspose_3d", "transpose", 3, 3, 1, "NOTSET", 1, False, 0, None, 5),
    ("convtranspose_3d", "transpose", 4, 3, 1, "NOTSET", 1, False, 0, None, 6),
    ("convtranspose_3d", "transpose", 5, 3, 1, "NOTSET", 1, False, 0, None, 7),
    ("convtranspose_output_shape", "transpose", 3, 3, 3, "NOTSET", 1, False, 0, 10, 10),
    ("convtranspose_output_shape", "transpose", 3, 3, 2, "NOTSET", 1, False, 0, 8, 8),
    ("convtranspose_pad", "transpose", 3, 3, 3, "NOTSET", 1, False, 1, None, 10),
    ("convtranspose_pad", "transpose", 3, 3, 2, "NOTSET", 1, False, 1, None, 8),
    ("convtranspose_kernel_shape", "transpose", 3, 3, 3, "NOTSET", 1, False, 1, 10, 10),
    ("convtranspose_kernel_shape", "transpose", 3, 3, 2, "NOTSET", 1, False, 1, 8, 8),
    ("convtranspose_autopad_same", "transpose", 3, 3, 2, "SAME_UPPER", 1, False, 0, None, 6),
    ("convtranspose_dilations", "transpose", 3, 2, 1, "NOTSET", 2, False, 0, None, 5),
    ("convtranspose_group_2", "transpose", 3, 3, 1, "NOTSET", 1, False, 0, None, 5),
    ("convtranspose_group_2_image_3", "transpose", 3, 3, 1, "NOTSET", 1, False, 0, None, 5),
    ("convtranspose_pads", "transpose", 3, 3, 3, (1, 1), 1, False, 0, None, 7),
    ("convtranspose_pads", "transpose", 3, 3, 2, (2, 2), 1, False, 0, None, 3),
    ("maxpool_1d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("maxpool_2d_ceil", "pool", 4, 3, 2, "NOTSET", 1, True, 0, None, 2),
    ("maxpool_2d_ceil_output_size_reduce_by_one", "pool", 2, 1, 2, "NOTSET", 1, True, 0, None, 1),
    ("maxpool_2d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("maxpool_2d_dilations", "pool", 4, 2, 1, "NOTSET", 2, False, 0, None, 2),
    ("maxpool_2d_pads", "pool", 28, 3, 1, (2, 2), 1, False, 0, None, 30),
    ("maxpool_2d_precomputed_pads", "pool", 5, 5, 1, (2, 2), 1, False, 0, None, 5),
    ("maxpool_2d_precomputed_same_upper", "pool", 5, 3, 2, "SAME_UPPER", 1, False, 0, None, 3),
    ("maxpool_2d_precomputed_strides", "pool", 5, 2, 2, "NOTSET", 1, False, 0, None, 2),
    ("maxpool_2d_same_lower", "pool", 32, 2, 1, "SAME_LOWER", 1, False, 0, None, 32),
    ("maxpool_2d_same_upper", "pool", 32, 2, 1, "SAME_UPPER", 1, False, 0, None, 32),
    ("maxpool_2d_strides", "pool", 32, 5, 3, "NOTSET", 1, False, 0, None, 10),
    ("maxpool_2d_uint8", "pool", 5, 5, 1, (2, 2), 1, False, 0, None, 5),
    ("maxpool_3d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("maxpool_3d_dilations", "pool", 4, 2, 1, "NOTSET", 2, False, 0, None, 2),
    ("maxpool_3d_dilations_use_ref_impl", "pool", 4, 2, 1, "NOTSET", 2, False, 0, None, 2),
    ("maxpool_3d_dilations_use_ref_impl_large", "pool", 32, 5, 3, "NOTSET", 2, True, 0, None, 9),
    ("maxpool_with_argmax_2d_precomputed_pads", "pool", 5, 5, 1, (2, 2), 1, False, 0, None, 5),
    ("maxpool_with_argmax_2d_precomputed_strides", "pool", 5, 2, 2, "NOTSET", 1, False, 0, None, 2),
    ("averagepool_1d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("averagepool_2d_ceil", "pool", 4, 3, 2, "NOTSET", 1, True, 0, None, 2),
    ("averagepool_2d_ceil_last_window_starts_on_pad", "pool", 2, 3, 3, (1, 1), 1, True, 0, None, 1),
    ("averagepool_2d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("averagepool_2d_dilations", "pool", 4, 2, 1, "NOTSET", 2, True, 0, None, 2),
    ("averagepool_2d_pads", "pool", 28, 3, 1, (2, 2), 1, False, 0, None, 30),
    ("averagepool_2d_pads_count_include_pad", "pool", 28, 3, 1, (2, 2), 1, False, 0, None, 30),
    ("averagepool_2d_precomputed_pads", "pool", 5, 5, 1, (2, 2), 1, False, 0, None, 5),
    (
        "averagepool_2d_precomputed_pads_count_include_pad",
        "pool",
        5,
        5,
        1,
        (2, 2),
        1,
        False,
        0,
        None,
        5,
    ),
    ("averagepool_2d_precomputed_same_upper", "pool", 5, 3, 2, "SAME_UPPER", 1, False, 0, None, 3),
    ("averagepool_2d_precomputed_strides", "pool", 5, 2, 2, "NOTSET", 1, False, 0, None, 2),
    ("averagepool_2d_same_lower", "pool", 32, 2, 1, "SAME_LOWER", 1, False, 0, None, 32),
    ("averagepool_2d_same_upper", "pool", 32, 2, 1, "SAME_UPPER", 1, False, 0, None, 32),
    ("averagepool_2d_strides", "pool", 32, 5, 3, "NOTSET", 1, False, 0, None, 10),
    ("averagepool_3d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("averagepool_3d_dilations_small", "pool", 4, 2, 1, "NOTSET", 2, True, 0, None, 2),
    (
        "averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_True",
        "pool",
        32,
        5,
        3,
        "NOTSET",
        2,
        True,
        0,
        None,
        9,
    ),
    (
        "averagepool_3d_dilations_large_count_include_pad_is_0_ceil_mode_is_False",
        "pool",
        32,
        5,
        3,
        "NOTSET",
        2,
        False,
        0,
        None,
        8,
    ),
    (
        "averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_True",
        "pool",
        32,
        5,
        3,
        "NOTSET",
        2,
        True,
        0,
        None,
        9,
    ),
    (
        "averagepool_3d_dilations_large_count_include_pad_is_1_ceil_mode_is_False",
        "pool",
        32,
        5,
        3,
        "NOTSET",
        2,
        False,
        0,
        None,
        8,
    ),
    ("lppool_1d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("lppool_2d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
    ("lppool_2d_dilations", "pool", 4, 2, 1, "NOTSET", 2, False, 0, None, 2),
    ("lppool_2d_pads", "pool", 28, 3, 1, (2, 2), 1, False, 0, None, 30),
    ("lppool_2d_same_lower", "pool", 32, 2, 1, "SAME_LOWER", 1, False, 0, None, 32),
    ("lppool_2d_same_upper", "pool", 32, 2, 1, "SAME_UPPER", 1, False, 0, None, 32),
    ("lppool_2d_strides", "pool", 32, 5, 3, "NOTSET", 1, False, 0, None, 10),
    ("lppool_3d_default", "pool", 32, 2, 1, "NOTSET", 1, False, 0, None, 31),
]

#: onnx/onnx, onnx/test/shape_inference_test.py (test_conv*, test_maxpool*, test_averagepool*,
#: test_average_pool*, test_lppool*, test_conv_transpose*): the shapes ``_assert_inferred`` expects.
ONNX_SHAPE_INFERENCE_TESTS = [
    ("conv", "conv", 5, 2, 1, (0, 0), 1, False, 0, None, 4),
    ("conv", "conv", 6, 4, 1, (1, 0), 2, False, 0, None, 1),
    ("conv", "conv", 7, 3, 2, (1, 1), 2, False, 0, None, 3),
    ("conv_1d_simple", "conv", 5, 2, 1, (0, 0), 1, False, 0, None, 4),
    ("conv_dilations", "conv", 8, 3, 1, (0, 0), 1, False, 0, None, 6),
    ("conv_dilations", "conv", 8, 3, 1, (0, 0), 2, False, 0, None, 4),
    ("conv_dilations", "conv", 8, 3, 1, (0, 0), 3, False, 0, None, 2),
    ("conv_strides", "conv", 8, 3, 2, (0, 0), 1, False, 0, None, 3),
    ("conv_strides", "conv", 8, 3, 3, (0, 0), 1, False, 0, None, 2),
    ("conv_pads", "conv", 7, 3, 1, (1, 0), 1, False, 0, None, 6),
    ("conv_pads", "conv", 6, 3, 1, (1, 1), 1, False, 0, None, 6),
    ("conv_pads", "conv", 4, 3, 1, (2, 2), 1, False, 0, None, 6),
    ("conv_auto_pad", "conv", 7, 4, 1, "SAME_UPPER", 1, False, 0, None, 7),
    ("conv_auto_pad", "conv", 6, 3, 1, "SAME_UPPER", 1, False, 0, None, 6),
    ("conv_auto_pad", "conv", 4, 2, 1, "SAME_UPPER", 1, False, 0, None, 4),
    ("conv_auto_pads", "conv", 7, 4, 2, "SAME_UPPER", 1, False, 0, None, 4),
    ("conv_auto_pads", "conv", 6, 3, 2, "SAME_UPPER", 1, False, 0, None, 3),
    ("conv_auto_pad_dilation", "conv", 65, 4, 1, "SAME_UPPER", 2, False, 0, None, 65),
    ("conv_auto_pad_dilation", "conv", 64, 3, 1, "SAME_UPPER", 3, False, 0, None, 64),
    ("conv_auto_pad_dilation", "conv", 63, 2, 1, "SAME_UPPER", 4, False, 0, None, 63),
    ("conv_group", "conv", 8, 8, 1, (0, 0), 1, False, 0, None, 1),
    ("conv_only_one_pos", "conv", 5, 5, 2, (0, 0), 1, False, 0, None, 1),
    ("maxpool", "pool", 4, 2, 1, (0, 0), 1, False, 0, None, 3),
    ("maxpool_with_padding", "pool", 4, 2, 1, (1, 2), 1, False, 0, None, 6),
    ("maxpool_with_padding_and_stride", "pool", 4, 2, 2, (1, 2), 1, False, 0, None, 3),
    ("maxpool_with_floor_mode", "pool", 35, 2, 2, (0, 0), 1, False, 0, None, 17),
    ("maxpool_with_ceil_mode", "pool", 35, 2, 2, (0, 0), 1, True, 0, None, 18),
    ("maxpool_ceil", "pool", 4, 3, 2, (0, 0), 1, True, 0, None, 2),
    ("maxpool_with_dilations", "pool", 4, 2, 1, (0, 0), 2, False, 0, None, 2),
    (
        "maxpool_with_same_upper_padding_and_stride",
        "pool",
        4,
        2,
        2,
        "SAME_UPPER",
        1,
        False,
        0,
        None,
        2,
    ),
    (
        "maxpool_with_same_upper_padding_and_stride_and_dilation",
        "pool",
        4,
        2,
        2,
        "SAME_UPPER",
        2,
        False,
        0,
        None,
        2,
    ),
    (
        "maxpool_with_same_upper_padding_and_stride_and_dilation",
        "pool",
        4,
        2,
        2,
        "SAME_UPPER",
        3,
        False,
        0,
        None,
        2,
    ),
    (
        "maxpool_with_same_upper_padding_and_stride_one",
        "pool",
        4,
        2,
        1,
        "SAME_UPPER",
        1,
        False,
        0,
        None,
        4,
    ),
    (
        "maxpool_with_same_lower_padding_and_stride",
        "pool",
        9,
        2,
        2,
        "SAME_LOWER",
        1,
        False,
        0,
        None,
        5,
    ),
    (
        "maxpool_with_same_lower_padding_and_stride_and_dilation",
        "pool",
        9,
        2,
        2,
        "SAME_LOWER",
        2,
        False,
        0,
        None,
        5,
    ),
    (
        "maxpool_with_same_lower_padding_and_stride_and_dilation",
        "pool",
        9,
        2,
        2,
        "SAME_LOWER",
        3,
        False,
        0,
        None,
        5,
    ),
    (
        "maxpool_with_same_lower_padding_and_big_stride",
        "pool",
        4,
        2,
        4,
        "SAME_LOWER",
        1,
        False,
        0,
        None,
        1,
    ),
    ("average_pool_auto_pads", "pool", 7, 4, 2, "SAME_UPPER", 1, False, 0, None, 4),
    ("average_pool_auto_pads", "pool", 6, 3, 2, "SAME_UPPER", 1, False, 0, None, 3),
    ("average_pool_auto_pads", "pool", 4, 2, 1, "SAME_UPPER", 1, False, 0, None, 4),
    ("averagepool_ceil", "pool", 4, 3, 2, (0, 0), 1, True, 0, None, 2),
    ("lppool_with_padding_and_stride", "pool", 4, 2, 2, (1, 2), 1, False, 0, None, 3),
    ("conv_transpose", "transpose", 16, 3, 2, (0, 0), 1, False, 0, None, 33),
    ("conv_transpose_with_pads", "transpose", 16, 3, 2, (1, 2), 1, False, 0, None, 30),
    (
        "conv_transpose_with_output_shape (pads left at 0)",
        "transpose",
        16,
        3,
        2,
        "NOTSET",
        1,
        False,
        0,
        36,
        36,
    ),
    ("conv_transpose_with_dilations", "transpose", 16, 3, 2, (1, 2), 3, False, 0, None, 34),
    ("conv_transpose_auto_pads", "transpose", 16, 3, 2, "SAME_UPPER", 1, False, 0, None, 32),
]

#: keras-team/keras, keras/src/layers/convolutional/{conv,conv_transpose,depthwise_conv,
#: separable_conv}_test.py and keras/src/layers/pooling/{max,average}_pooling_test.py: the
#: ``expected_output_shape`` of each ``run_layer_test`` (``output_padding=None`` is inferred).
KERAS_LAYER_TESTS = [
    ("Conv1D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("Conv1D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("Conv1D", "conv", 4, 2, 1, "causal", 2, False, None, None, 4),
    ("Conv1D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("Conv2D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("Conv2D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("Conv2D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("Conv3D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("Conv3D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("Conv3D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("Conv3D", "conv", 5, 3, 2, "valid", 1, False, None, None, 2),
    ("Conv1DTranspose", "transpose", 8, 2, 2, "valid", 1, False, None, None, 16),
    ("Conv1DTranspose", "transpose", 8, 2, 3, "same", 1, False, 2, None, 23),
    ("Conv2DTranspose", "transpose", 8, 2, 2, "valid", 1, False, None, None, 16),
    ("Conv2DTranspose", "transpose", 8, 2, 3, "same", 1, False, 2, None, 23),
    ("Conv2DTranspose", "transpose", 8, 3, 1, "valid", 1, False, None, None, 10),
    ("Conv2DTranspose", "transpose", 14, 7, 16, "valid", 1, False, None, None, 224),
    ("Conv3DTranspose", "transpose", 8, 2, 2, "valid", 1, False, None, None, 16),
    ("Conv3DTranspose", "transpose", 8, 2, 3, "same", 1, False, 2, None, 23),
    ("Conv3DTranspose", "transpose", 8, 2, 1, "valid", 1, False, None, None, 9),
    ("Conv3DTranspose", "transpose", 8, 3, 2, "valid", 1, False, None, None, 17),
    ("MaxPooling1D", "pool", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("MaxPooling1D", "pool", 4, 2, 1, "same", 1, False, None, None, 4),
    ("MaxPooling1D", "pool", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("MaxPooling2D", "pool", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("MaxPooling2D", "pool", 5, 2, 1, "same", 1, False, None, None, 5),
    ("MaxPooling2D", "pool", 4, 2, 1, "same", 1, False, None, None, 4),
    ("MaxPooling2D", "pool", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("MaxPooling2D", "pool", 5, 3, 2, "valid", 1, False, None, None, 2),
    ("MaxPooling3D", "pool", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("MaxPooling3D", "pool", 5, 2, 1, "same", 1, False, None, None, 5),
    ("MaxPooling3D", "pool", 4, 2, 1, "same", 1, False, None, None, 4),
    ("MaxPooling3D", "pool", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("MaxPooling3D", "pool", 5, 3, 2, "valid", 1, False, None, None, 2),
    ("AveragePooling1D", "pool", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("AveragePooling1D", "pool", 4, 2, 1, "same", 1, False, None, None, 4),
    ("AveragePooling1D", "pool", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("AveragePooling2D", "pool", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("AveragePooling2D", "pool", 5, 2, 1, "same", 1, False, None, None, 5),
    ("AveragePooling2D", "pool", 4, 2, 1, "valid", 1, False, None, None, 3),
    ("AveragePooling2D", "pool", 4, 2, 1, "same", 1, False, None, None, 4),
    ("AveragePooling2D", "pool", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("AveragePooling2D", "pool", 5, 3, 2, "valid", 1, False, None, None, 2),
    ("AveragePooling2D", "pool", 5, 2, 2, "same", 1, False, None, None, 3),
    ("AveragePooling2D", "pool", 5, 3, 2, "same", 1, False, None, None, 3),
    ("AveragePooling2D", "pool", 5, 2, 3, "same", 1, False, None, None, 2),
    ("AveragePooling2D", "pool", 4, 3, 3, "same", 1, False, None, None, 2),
    ("AveragePooling3D", "pool", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("AveragePooling3D", "pool", 5, 2, 1, "same", 1, False, None, None, 5),
    ("AveragePooling3D", "pool", 4, 2, 1, "same", 1, False, None, None, 4),
    ("AveragePooling3D", "pool", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("AveragePooling3D", "pool", 5, 3, 2, "valid", 1, False, None, None, 2),
    ("DepthwiseConv1D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("DepthwiseConv1D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("DepthwiseConv1D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("DepthwiseConv1D", "conv", 10, 2, 1, "same", 2, False, None, None, 10),
    ("DepthwiseConv2D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("DepthwiseConv2D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("DepthwiseConv2D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("SeparableConv1D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("SeparableConv1D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("SeparableConv1D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
    ("SeparableConv2D", "conv", 5, 2, 1, "valid", 1, False, None, None, 4),
    ("SeparableConv2D", "conv", 4, 2, 1, "same", 2, False, None, None, 4),
    ("SeparableConv2D", "conv", 5, 2, 2, "valid", 1, False, None, None, 2),
]

#: apple/axlearn, axlearn/common/convolution_test.py, ``CONVT_EXPLICIT_PADDING_PARAMS`` (checked
#: there against ``jax.lax.convolution._conv_transpose_padding``): ``(window, strides, padding,
#: dilation, (low, high))``, the padding of the stride-dilated input that ``lax.conv_transpose``
#: convolves. In derive's terms the crops are $\kappa - 1 - \text{low}$ before and
#: $\kappa - 1 - \text{high}$ after ($\kappa = d(k-1)+1$; a negative crop is zeros added).
JAX_CONV_TRANSPOSE_PADS = [
    (3, 1, "SAME", 1, (1, 1)),
    (3, 2, "SAME", 1, (2, 1)),
    (3, 3, "SAME", 1, (2, 2)),
    (3, 4, "SAME", 1, (2, 3)),
    (3, 1, "SAME", 2, (2, 2)),
    (3, 2, "SAME", 2, (3, 2)),
    (3, 3, "SAME", 2, (3, 3)),
    (3, 1, "VALID", 1, (2, 2)),
    (3, 2, "VALID", 1, (2, 2)),
    (3, 3, "VALID", 1, (2, 2)),
    (3, 4, "VALID", 1, (2, 3)),
    (3, 1, "VALID", 2, (4, 4)),
    (3, 2, "VALID", 2, (4, 4)),
    (3, 3, "VALID", 2, (4, 4)),
]

#: pytorch/pytorch, torch/testing/_internal/common_methods_invocations.py
#: (``error_inputs_conv1d``, ``error_inputs_conv2d``, ``error_inputs_conv_transpose*``,
#: ``error_inputs_max_pool*``): layers torch rejects, with the argument derive must name.
TORCH_ERROR_INPUTS = [
    ("conv", (4, 2), {"stride": -1}, "stride"),
    ("conv", (4, 2), {"stride": 0}, "stride"),
    ("conv", (4, 2), {"padding": -1}, "padding"),
    ("conv", (4, 2), {"stride": 2, "padding": "same"}, "same"),
    ("conv", (4, 2), {"dilation": 0}, "dilation"),
    ("conv", (4, 2), {"padding": "bad"}, "padding"),
    ("conv", (1, 3), {}, "kernel_size"),
    ("transpose", (4, 3), {"stride": 2, "output_padding": 2}, "output_padding"),
    ("transpose", (4, 3), {"stride": 1, "output_padding": 1}, "output_padding"),
    ("pool", (4, 3), {"padding": 2}, "padding"),
    ("pool", (4, 0), {}, "kernel_size"),
    ("pool", (4, 3), {"stride": 0}, "stride"),
]

SIZE = {
    "conv": derive.conv_output_size,
    "pool": derive.pool_output_size,
    "transpose": derive.conv_transpose_output_size,
}


def _size(convention: str, row: tuple):
    _, kind, n, k, s, padding, d, ceil_mode, op, target, _ = row
    if kind == "conv":
        return derive.conv_output_size(n, k, s, padding, d, convention=convention)
    if kind == "pool":
        return derive.pool_output_size(n, k, s, padding, d, ceil_mode, convention=convention)
    return derive.conv_transpose_output_size(
        n, k, s, padding, op, dilation=d, output_size=target, convention=convention
    )


@pytest.mark.parametrize(
    ("convention", "table"),
    [("onnx", ONNX_NODE_TESTS), ("onnx", ONNX_SHAPE_INFERENCE_TESTS),
     ("keras", KERAS_LAYER_TESTS)],
    ids=["onnx-node", "onnx-shape-inference", "keras-layers"],
)  # fmt: skip
def test_sizes_match_the_frameworks_own_tests(convention, table):
    wrong = [(row, _size(convention, row)) for row in table if _size(convention, row) != row[-1]]
    assert not wrong, wrong
    assert len(table) >= 40


def test_onnx_transpose_output_shape_beyond_the_scatter_appends_zeros():
    """onnx/onnx's ``convtranspose_output_shape``: 3 inputs, stride 3, output_shape 10 > 9."""
    rule = conv_transpose_padding(3, 3, 3, "NOTSET", 0, 1, output_size=10, convention="onnx")
    assert (rule.size, rule.pads, rule.output_padding) == (10, (0, 0), 1)
    rule = conv_transpose_padding(3, 3, 3, "SAME_LOWER", 0, 1, output_size=11, convention="onnx")
    assert (rule.size, rule.pads, rule.output_padding) == (11, (-1, 0), 1)
    with pytest.raises(ShapeError, match="does not choose"):
        derive.conv_transpose_output_size(16, 3, 2, (1, 2), output_size=36, convention="onnx")


@pytest.mark.parametrize(("k", "s", "padding", "d", "pads"), JAX_CONV_TRANSPOSE_PADS)
def test_jax_conv_transpose_pads(k, s, padding, d, pads):
    span = d * (k - 1) + 1
    for n in (1, 4, 7):
        rule = conv_transpose_padding(n, k, s, padding, 0, d, convention="jax")
        before, after = (int(v) for v in rule.pads)
        assert before == span - 1 - pads[0]
        assert after - int(rule.output_padding) == span - 1 - pads[1]
        assert int(rule.size) == (n - 1) * s + 1 + pads[0] + pads[1] - span + 1


@pytest.mark.parametrize(("kind", "args", "kwargs", "named"), TORCH_ERROR_INPUTS)
def test_torch_error_inputs_are_refused(kind, args, kwargs, named):
    with pytest.raises(ShapeError, match=named):
        SIZE[kind](*args, **kwargs)


def _onnx_backend_cases() -> list[tuple]:
    """``(name, op, attributes, inputs, outputs)`` of ONNX's own node tests, by their exporters."""
    onnx = pytest.importorskip("onnx")
    cases: list[tuple] = []

    def record(node, inputs, outputs, name, **_):
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        cases.append((name, node.op_type, attrs, inputs, outputs))

    for module in ("conv", "convtranspose", "maxpool", "averagepool"):
        mod = importlib.import_module(f"onnx.backend.test.case.node.{module}")
        saved, mod.expect = mod.expect, record
        try:
            for _, cls in inspect.getmembers(mod, inspect.isclass):
                for name, export in inspect.getmembers(cls, inspect.isfunction):
                    if name.startswith("export"):
                        export()
        finally:
            mod.expect = saved
    return cases


def _onnx_padding(attrs: dict) -> object:
    pads = attrs.get("pads")
    if pads:
        return (pads[0], pads[2]), (pads[1], pads[3])
    auto = attrs.get("auto_pad", b"NOTSET")
    return auto.decode() if isinstance(auto, bytes) else auto


def _derive_onnx(op: str, attrs: dict, inputs: list) -> np.ndarray | None:
    x, pad = inputs[0][0].tolist(), _onnx_padding(attrs)
    s, d = tuple(attrs.get("strides", (1, 1))), tuple(attrs.get("dilations", (1, 1)))
    ceil = bool(attrs.get("ceil_mode", 0))
    if op == "Conv":
        out = derive.conv2d(x, inputs[1].tolist(), None, s, pad, d, convention="onnx")
    elif op == "ConvTranspose":
        target = attrs.get("output_shape")
        out = derive.conv_transpose2d(
            x, inputs[1].tolist(), None, s, pad, tuple(attrs.get("output_padding", (0, 0))), 1,
            d, tuple(target) if target else None, convention="onnx",
        )  # fmt: skip
    elif op == "MaxPool":
        kernel = tuple(attrs["kernel_shape"])
        out = derive.max_pool2d(x, kernel, s, pad, d, ceil, convention="onnx")
    elif d == (1, 1):
        kernel, include = tuple(attrs["kernel_shape"]), bool(attrs.get("count_include_pad", 0))
        out = derive.avg_pool2d(x, kernel, s, pad, ceil, include, convention="onnx")
    else:
        return None  # derive's avg_pool2d takes no dilation (torch's has none)
    return np.array(out.tolist(), dtype=float)


def test_elements_match_onnx_backend_node_tests():
    compared = 0
    for name, op, attrs, inputs, outputs in _onnx_backend_cases():
        x = inputs[0]
        if x.ndim != 4 or x.shape[0] != 1 or attrs.get("group", 1) != 1 or x.size > 2000:
            continue
        if x.dtype != np.float32 or len(outputs) > 1:
            continue
        ours = _derive_onnx(op, attrs, inputs)
        if ours is None:
            continue
        theirs = outputs[0][0]
        assert ours.shape == theirs.shape, (name, ours.shape, theirs.shape)
        assert np.allclose(ours, theirs, rtol=1e-4, atol=1e-4), name
        compared += 1
    assert compared >= 20, compared


def _tf_transpose_expected(name: str, height: int, width: int) -> np.ndarray:
    """The values tensorflow/tensorflow's conv2d_transpose_test.py asserts (ones in, ones kernel).

    tensorflow/python/kernel_tests/nn_ops/conv2d_transpose_test.py: testConv2DTransposeSingleStride,
    testConv2DTransposeSame and testConv2DTransposeValid (3 input channels, 3x3 kernel).
    """
    out = np.zeros((height, width))
    pad = 1 if name == "valid" else 0
    for h in range(pad, height - pad):
        for w in range(pad, width - pad):
            if name == "single_stride":
                h_in, w_in = 0 < h < height - 1, 0 < w < width - 1
                out[h, w] = 4 * 3 + (5 * 3 if h_in and w_in else 2 * 3 if h_in or w_in else 0)
                continue
            h_in = h % 2 == 0 and pad < h < height - 1 - pad
            w_in = w % 2 == 0 and pad < w < width - 1 - pad
            out[h, w] = 3 + (9 if h_in and w_in else 3 if h_in or w_in else 0)
    if pad:  # the test copies the values next to the border onto it
        out[:, 0], out[:, -1] = out[:, 1], out[:, -2]
        out[0, :], out[-1, :] = out[1, :], out[-2, :]
    return out


@pytest.mark.parametrize(
    ("name", "stride", "padding", "output_size"),
    [("single_stride", 1, "SAME", (6, 4)), ("same", 2, "SAME", (12, 8)),
     ("valid", 2, "VALID", (13, 9))],
)  # fmt: skip
def test_tf_conv2d_transpose_values(name, stride, padding, output_size):
    x = np.ones((3, 6, 4)).tolist()
    w = np.ones((3, 2, 3, 3)).tolist()
    ours = derive.conv_transpose2d(x, w, None, stride, padding, output_size=output_size,
                                   convention="tf")  # fmt: skip
    ours = np.array(ours.tolist(), dtype=float)
    expected = _tf_transpose_expected(name, *output_size)
    assert ours.shape == (2, *output_size)
    assert np.array_equal(ours[0], expected) and np.array_equal(ours[1], expected)


#: tensorflow/tensorflow, tensorflow/python/kernel_tests/nn_ops/pooling_ops_test.py
#: (``_VerifyValues``: the input counts 1, 2, ... in NHWC order; the expected output is flat NHWC):
#: ``(pool, input NHWC, window (h, w), strides (h, w), padding, expected)``.
TF_POOLING_TESTS = [
    ("max", (1, 3, 3, 3), (2, 2), (2, 2), "VALID", [13, 14, 15]),
    ("max", (1, 2, 3, 3), (2, 2), (2, 2), "SAME", [13, 14, 15, 16, 17, 18]),
    ("max", (1, 2, 2, 1), (1, 2), (1, 1), "SAME", [2, 2, 4, 4]),
    ("max", (1, 4, 4, 1), (2, 2), (1, 2), "VALID", [6, 8, 10, 12, 14, 16]),
    ("max", (1, 4, 4, 1), (2, 2), (2, 1), "VALID", [6, 7, 8, 14, 15, 16]),
    ("max", (1, 4, 4, 4), (2, 2), (2, 2), "SAME",
     [21, 22, 23, 24, 29, 30, 31, 32, 53, 54, 55, 56, 61, 62, 63, 64]),
    ("max", (1, 7, 7, 1), (2, 2), (3, 3), "VALID", [9, 12, 30, 33]),
    ("max", (1, 3, 3, 1), (1, 1), (2, 2), "SAME", [1, 3, 7, 9]),
    ("max", (1, 4, 4, 1), (1, 1), (2, 2), "SAME", [1, 3, 9, 11]),
    ("avg", (1, 3, 3, 3), (2, 2), (2, 2), "VALID", [7, 8, 9]),
    ("avg", (1, 2, 4, 3), (2, 2), (2, 2), "SAME", [8.5, 9.5, 10.5, 14.5, 15.5, 16.5]),
    ("avg", (1, 2, 2, 1), (1, 2), (1, 1), "SAME", [1.5, 2, 3.5, 4]),
    ("avg", (1, 2, 2, 1), (2, 1), (1, 1), "SAME", [2, 3, 3, 4]),
    ("avg", (2, 2, 2, 2), (1, 2), (1, 1), "SAME",
     [2, 3, 3, 4, 6, 7, 7, 8, 10, 11, 11, 12, 14, 15, 15, 16]),
    ("avg", (2, 2, 2, 2), (2, 1), (1, 1), "SAME",
     [3, 4, 5, 6, 5, 6, 7, 8, 11, 12, 13, 14, 13, 14, 15, 16]),
    ("avg", (1, 3, 3, 3), (2, 2), (1, 2), "VALID", [7, 8, 9, 16, 17, 18]),
    ("avg", (1, 3, 3, 3), (2, 2), (2, 1), "VALID", [7, 8, 9, 10, 11, 12]),
    ("avg", (1, 4, 4, 4), (2, 2), (2, 2), "SAME",
     [11, 12, 13, 14, 19, 20, 21, 22, 43, 44, 45, 46, 51, 52, 53, 54]),
    ("avg", (1, 4, 4, 4), (3, 3), (2, 2), "SAME",
     [21, 22, 23, 24, 27, 28, 29, 30, 45, 46, 47, 48, 51, 52, 53, 54]),
    ("avg", (1, 7, 7, 1), (2, 2), (3, 3), "VALID", [5, 8, 26, 29]),
    ("avg", (1, 3, 3, 1), (1, 1), (2, 2), "SAME", [1, 3, 7, 9]),
    ("avg", (1, 4, 4, 1), (1, 1), (2, 2), "SAME", [1, 3, 9, 11]),
]  # fmt: skip


@pytest.mark.parametrize(("pool", "shape", "window", "strides", "padding", "expected"),
                         TF_POOLING_TESTS)  # fmt: skip
def test_tf_pooling_values(pool, shape, window, strides, padding, expected):
    x = np.arange(1, int(np.prod(shape)) + 1, dtype=float).reshape(shape)
    flat = []
    for image in x:
        chw = image.transpose(2, 0, 1).tolist()
        if pool == "max":
            out = derive.max_pool2d(chw, window, strides, padding, convention="tf")
        else:
            out = derive.avg_pool2d(chw, window, strides, padding, convention="tf")
        flat.extend(np.array(out.tolist(), dtype=float).transpose(1, 2, 0).ravel())
    assert np.allclose(flat, expected), (flat, expected)

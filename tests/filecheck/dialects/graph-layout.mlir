// RUN: ziggurat-opt %s | filecheck %s
// RUN: ZIGGURAT_ROUNDTRIP

// CHECK-LABEL: func.func @blocked
// CHECK-NEXT:    %[[X:.*]] = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW16c"} : tensor<1x32x8x8xf32> -> tensor<1x2x8x8x16xf32>
// CHECK-NEXT:    %[[C:.*]] = graph.conv_nchwc %[[X]], %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x2x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x8x8x16xf32>
// CHECK-NEXT:    %[[D:.*]] = graph.conv_nchwc %[[C]], %dw, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 32 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x1x3x3x1x16xf32>, tensor<32xf32>) -> tensor<1x2x4x4x16xf32>
// CHECK-NEXT:    %[[P:.*]] = graph.pool_nchwc %[[D]] {kind = "avg", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x2x4x4x16xf32> -> tensor<1x2x2x2x16xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.layout_transform %[[P]] {src_layout = "NCHW16c", dst_layout = "NHWC"} : tensor<1x2x2x2x16xf32> -> tensor<1x2x2x32xf32>
// CHECK-NEXT:    func.return %[[Y]]
func.func @blocked(%x: tensor<1x32x8x8xf32>, %w: tensor<2x2x3x3x16x16xf32>, %dw: tensor<2x1x3x3x1x16xf32>, %b: tensor<32xf32>) -> tensor<1x2x2x32xf32> {
  %0 = graph.layout_transform %x {src_layout = "NCHW", dst_layout = "NCHW16c"} : tensor<1x32x8x8xf32> -> tensor<1x2x8x8x16xf32>
  %1 = graph.conv_nchwc %0, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x2x3x3x16x16xf32>, tensor<32xf32>) -> tensor<1x2x8x8x16xf32>
  %2 = graph.conv_nchwc %1, %dw, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 32 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x1x3x3x1x16xf32>, tensor<32xf32>) -> tensor<1x2x4x4x16xf32>
  %3 = graph.pool_nchwc %2 {kind = "avg", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x2x4x4x16xf32> -> tensor<1x2x2x2x16xf32>
  %4 = graph.layout_transform %3 {src_layout = "NCHW16c", dst_layout = "NHWC"} : tensor<1x2x2x2x16xf32> -> tensor<1x2x2x32xf32>
  func.return %4 : tensor<1x2x2x32xf32>
}

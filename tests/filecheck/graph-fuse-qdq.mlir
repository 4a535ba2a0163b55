// RUN: ziggurat-opt %s --split-input-file -p graph-fuse-qdq | filecheck %s

// DQ -> conv -> Q with a symmetric int8 weight (zero point 0), per-channel scales and an
// int32 bias: the int8 fast path. The activation packed 4 channels to an i32 at run time, the
// weight at build time (o0: bytes 2, -1 -> 0xFF02; o1: 1, 4 -> 0x0401), the bias less
// x_zp * sum(w) (8 - 3 * 1, -8 - 3 * 5), padding with x_zp; requantized by
// x_scale * w_scale / y_scale per channel.
// CHECK-LABEL: func.func @conv
// CHECK:         %[[P:.*]] = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x2x4x4xui8>) -> tensor<1x1x4x4xi32>
// CHECK-NEXT:    %[[W:.*]] = graph.constant dense<{{\[\[\[\[}}65282]]], {{\[\[\[}}1025]]]]> : tensor<2x1x1x1xi32>
// CHECK-NEXT:    %[[B:.*]] = graph.constant dense<[5, -23]> : tensor<2xi32>
// CHECK-NEXT:    %[[ACC:.*]] = graph.conv_u8s8 %[[P]], %[[W]], %[[B]] {{.*}}pad_byte = 3 : i64} {{.*}} -> tensor<1x2x4x4xi32>
// CHECK-NEXT:    %[[F:.*]] = graph.cast %[[ACC]] : tensor<1x2x4x4xi32> -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.constant dense<{{\[\[\[}}0.166666672]], {{\[\[}}0.0833333358]]]> : tensor<2x1x1xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.mul %[[F]], %[[M]]
// CHECK-NEXT:    %[[R:.*]] = graph.round %[[S]]
// CHECK-NEXT:    %[[YZ:.*]] = graph.constant dense<1.280000e+02> : tensor<f32>
// CHECK-NEXT:    %[[Y:.*]] = graph.add %[[R]], %[[YZ]]
// CHECK-NEXT:    %[[Q:.*]] = graph.cast %[[Y]] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xui8>
// CHECK-NEXT:    func.return %[[Q]]
func.func @conv(%x: tensor<1x2x4x4xui8>) -> tensor<1x2x4x4xui8> {
  %xs = graph.constant dense<0.5> : tensor<f32>
  %xz = graph.constant dense<3> : tensor<ui8>
  %w = graph.constant dense<[[[[2]], [[-1]]], [[[1]], [[4]]]]> : tensor<2x2x1x1xi8>
  %ws = graph.constant dense<[[[[0.25]]], [[[0.125]]]]> : tensor<2x1x1x1xf32>
  %wz = graph.constant dense<0> : tensor<i8>
  %b = graph.constant dense<[8, -8]> : tensor<2xi32>
  %bs = graph.constant dense<[0.125, 0.0625]> : tensor<2xf32>
  %bz = graph.constant dense<0> : tensor<i32>
  %ys = graph.constant dense<0.75> : tensor<f32>
  %yz = graph.constant dense<128> : tensor<ui8>
  %0 = graph.dequantize %x, %xs, %xz : (tensor<1x2x4x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xf32>
  %1 = graph.dequantize %w, %ws, %wz : (tensor<2x2x1x1xi8>, tensor<2x1x1x1xf32>, tensor<i8>) -> tensor<2x2x1x1xf32>
  %2 = graph.dequantize %b, %bs, %bz : (tensor<2xi32>, tensor<2xf32>, tensor<i32>) -> tensor<2xf32>
  %3 = graph.conv %0, %1, %2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %4 = graph.quantize %3, %ys, %yz : (tensor<1x2x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xui8>
  func.return %4 : tensor<1x2x4x4xui8>
}

// -----

// The same with a weight zero point of 1 (not symmetric): an int32 conv of the
// zero-point-subtracted operands, requantized by x_scale * w_scale / y_scale per channel.
// CHECK-LABEL: func.func @conv_widened
// CHECK:         %[[X:.*]] = graph.cast %x : tensor<1x2x4x4xui8> -> tensor<1x2x4x4xi32>
// CHECK-NEXT:    %[[XZ:.*]] = graph.constant dense<3> : tensor<i32>
// CHECK-NEXT:    %[[XS:.*]] = graph.sub %[[X]], %[[XZ]]
// CHECK-NEXT:    %[[WW:.*]] = graph.cast %w : tensor<2x2x1x1xi8> -> tensor<2x2x1x1xi32>
// CHECK-NEXT:    %[[WZ:.*]] = graph.constant dense<1> : tensor<i32>
// CHECK-NEXT:    %[[W:.*]] = graph.sub %[[WW]], %[[WZ]]
// CHECK-NEXT:    %[[ACC:.*]] = graph.conv %[[XS]], %[[W]], %b {{.*}} -> tensor<1x2x4x4xi32>
// CHECK-NEXT:    %[[F:.*]] = graph.cast %[[ACC]] : tensor<1x2x4x4xi32> -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.constant dense<{{\[\[\[}}0.166666672]], {{\[\[}}0.0833333358]]]> : tensor<2x1x1xf32>
// CHECK-NEXT:    %[[S:.*]] = graph.mul %[[F]], %[[M]]
// CHECK-NEXT:    %[[R:.*]] = graph.round %[[S]]
// CHECK-NEXT:    %[[YZ:.*]] = graph.constant dense<1.280000e+02> : tensor<f32>
// CHECK-NEXT:    %[[Y:.*]] = graph.add %[[R]], %[[YZ]]
// CHECK-NEXT:    %[[Q:.*]] = graph.cast %[[Y]] : tensor<1x2x4x4xf32> -> tensor<1x2x4x4xui8>
// CHECK-NEXT:    func.return %[[Q]]
func.func @conv_widened(%x: tensor<1x2x4x4xui8>) -> tensor<1x2x4x4xui8> {
  %xs = graph.constant dense<0.5> : tensor<f32>
  %xz = graph.constant dense<3> : tensor<ui8>
  %w = graph.constant dense<[[[[2]], [[-1]]], [[[1]], [[4]]]]> : tensor<2x2x1x1xi8>
  %ws = graph.constant dense<[[[[0.25]]], [[[0.125]]]]> : tensor<2x1x1x1xf32>
  %wz = graph.constant dense<1> : tensor<i8>
  %b = graph.constant dense<[8, -8]> : tensor<2xi32>
  %bs = graph.constant dense<[0.125, 0.0625]> : tensor<2xf32>
  %bz = graph.constant dense<0> : tensor<i32>
  %ys = graph.constant dense<0.75> : tensor<f32>
  %yz = graph.constant dense<128> : tensor<ui8>
  %0 = graph.dequantize %x, %xs, %xz : (tensor<1x2x4x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xf32>
  %1 = graph.dequantize %w, %ws, %wz : (tensor<2x2x1x1xi8>, tensor<2x1x1x1xf32>, tensor<i8>) -> tensor<2x2x1x1xf32>
  %2 = graph.dequantize %b, %bs, %bz : (tensor<2xi32>, tensor<2xf32>, tensor<i32>) -> tensor<2xf32>
  %3 = graph.conv %0, %1, %2 {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %4 = graph.quantize %3, %ys, %yz : (tensor<1x2x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x2x4x4xui8>
  func.return %4 : tensor<1x2x4x4xui8>
}

// -----

// A max pool and a relu between a DQ and a Q of the same scale and zero point run on the
// integers (the relu as a max with the zero point).
// CHECK-LABEL: func.func @pool_relu
// CHECK:         %[[P:.*]] = graph.pool %x {{.*}} : tensor<1x1x4x4xui8> -> tensor<1x1x2x2xui8>
// CHECK-NEXT:    %[[D:.*]] = graph.dequantize %[[P]], %s, %z
// CHECK-NEXT:    %[[Z:.*]] = graph.constant dense<3> : tensor<ui8>
// CHECK-NEXT:    %[[R:.*]] = graph.max %[[P]], %[[Z]] : (tensor<1x1x2x2xui8>, tensor<ui8>) -> tensor<1x1x2x2xui8>
// CHECK-NEXT:    func.return %[[R]], %[[D]]
func.func @pool_relu(%x: tensor<1x1x4x4xui8>) -> (tensor<1x1x2x2xui8>, tensor<1x1x2x2xf32>) {
  %s = graph.constant dense<0.5> : tensor<f32>
  %z = graph.constant dense<3> : tensor<ui8>
  %0 = graph.dequantize %x, %s, %z : (tensor<1x1x4x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x1x4x4xf32>
  %1 = graph.pool %0 {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = 0 : i64, count_include_pad = 0 : i64} : tensor<1x1x4x4xf32> -> tensor<1x1x2x2xf32>
  %2 = graph.quantize %1, %s, %z : (tensor<1x1x2x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x1x2x2xui8>
  %3 = graph.dequantize %2, %s, %z : (tensor<1x1x2x2xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x1x2x2xf32>
  %4 = graph.relu %3 : tensor<1x1x2x2xf32>
  %5 = graph.quantize %4, %s, %z : (tensor<1x1x2x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x1x2x2xui8>
  func.return %5, %3 : tensor<1x1x2x2xui8>, tensor<1x1x2x2xf32>
}

// -----

// A Q with another scale than its DQ's, and a matmul whose float bias is no dequantized
// int32, stay as they are.
// CHECK-LABEL: func.func @kept
// CHECK:         %[[D:.*]] = graph.dequantize %a, %s, %z
// CHECK-NEXT:    %[[T:.*]] = graph.transpose %[[D]]
// CHECK-NEXT:    %[[Q:.*]] = graph.quantize %[[T]], %t, %z
// CHECK-NEXT:    %[[M:.*]] = graph.matmul %[[D]], %[[D]]
// CHECK-NEXT:    %[[B:.*]] = graph.add %[[M]], %bias
// CHECK-NEXT:    %[[R:.*]] = graph.quantize %[[B]], %s, %z
// CHECK-NEXT:    func.return %[[Q]], %[[R]]
func.func @kept(%a: tensor<2x2xui8>) -> (tensor<2x2xui8>, tensor<2x2xui8>) {
  %s = graph.constant dense<0.5> : tensor<f32>
  %t = graph.constant dense<0.25> : tensor<f32>
  %z = graph.constant dense<3> : tensor<ui8>
  %bias = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %0 = graph.dequantize %a, %s, %z : (tensor<2x2xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x2xf32>
  %1 = graph.transpose %0 {perm = array<i64: 1, 0>} : tensor<2x2xf32> -> tensor<2x2xf32>
  %2 = graph.quantize %1, %t, %z : (tensor<2x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x2xui8>
  %3 = graph.matmul %0, %0 : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %4 = graph.add %3, %bias : (tensor<2x2xf32>, tensor<2xf32>) -> tensor<2x2xf32>
  %5 = graph.quantize %4, %s, %z : (tensor<2x2xf32>, tensor<f32>, tensor<ui8>) -> tensor<2x2xui8>
  func.return %2, %5 : tensor<2x2xui8>, tensor<2x2xui8>
}

// -----

// A clip becomes a clamp between its bounds quantized (0 -> 3, 1.2 -> round(2.4) + 3 = 5).
// CHECK-LABEL: func.func @clip
// CHECK:         %z = graph.constant dense<3> : tensor<ui8>
// CHECK-NEXT:    %[[LOW:.*]] = graph.constant dense<3> : tensor<ui8>
// CHECK-NEXT:    %[[A:.*]] = graph.max %x, %[[LOW]]
// CHECK-NEXT:    %[[HIGH:.*]] = graph.constant dense<5> : tensor<ui8>
// CHECK-NEXT:    %[[B:.*]] = graph.min %[[A]], %[[HIGH]]
// CHECK-NEXT:    func.return %[[B]]
func.func @clip(%x: tensor<4xui8>) -> tensor<4xui8> {
  %s = graph.constant dense<0.5> : tensor<f32>
  %z = graph.constant dense<3> : tensor<ui8>
  %0 = graph.dequantize %x, %s, %z : (tensor<4xui8>, tensor<f32>, tensor<ui8>) -> tensor<4xf32>
  %1 = graph.clip %0 {min = 0.0 : f32, max = 1.2 : f32} : tensor<4xf32>
  %2 = graph.quantize %1, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<ui8>) -> tensor<4xui8>
  func.return %2 : tensor<4xui8>
}

// RUN: ziggurat-opt %s | ziggurat-opt | filecheck %s

// The bf16 fast path's ops print and parse back: the packing of bf16 values two to an i32,
// the convolution and matmul on packed operands, and the scalar dot2 their kernels are made of.

// CHECK-LABEL: func.func @packed
// CHECK:         %[[P:.*]] = graph.pack_bf16x2 %x {axis = 1 : i64} : (tensor<1x5x5x5xf32>) -> tensor<1x3x5x5xi32>
// CHECK-NEXT:    %[[C:.*]] = graph.conv_bf16 %[[P]], %w, %b {{{.*}}} : (tensor<1x3x5x5xi32>, tensor<16x3x3x3xi32>, tensor<16xf32>) -> tensor<1x16x5x5xf32>
// CHECK-NEXT:    %[[Q:.*]] = graph.pack_bf16x2 %a {axis = 1 : i64} : (tensor<3x37xf32>) -> tensor<3x19xi32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul_bf16 %[[Q]], %m : (tensor<3x19xi32>, tensor<19x21xi32>) -> tensor<3x21xf32>
func.func @packed(%x: tensor<1x5x5x5xf32>, %w: tensor<16x3x3x3xi32>, %b: tensor<16xf32>, %a: tensor<3x37xf32>, %m: tensor<19x21xi32>) -> (tensor<1x16x5x5xf32>, tensor<3x21xf32>) {
  %0 = graph.pack_bf16x2 %x {axis = 1 : i64} : (tensor<1x5x5x5xf32>) -> tensor<1x3x5x5xi32>
  %1 = graph.conv_bf16 %0, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x3x5x5xi32>, tensor<16x3x3x3xi32>, tensor<16xf32>) -> tensor<1x16x5x5xf32>
  %2 = graph.pack_bf16x2 %a {axis = 1 : i64} : (tensor<3x37xf32>) -> tensor<3x19xi32>
  %3 = graph.matmul_bf16 %2, %m : (tensor<3x19xi32>, tensor<19x21xi32>) -> tensor<3x21xf32>
  func.return %1, %3 : tensor<1x16x5x5xf32>, tensor<3x21xf32>
}

// CHECK-LABEL: func.func @scalar_ops
// CHECK:         %[[D:.*]] = bf16.dot2 %a, %b : i32 -> f32
// CHECK-NEXT:    %[[V:.*]] = bf16.dot2 %va, %vb : vector<16xi32> -> vector<16xf32>
func.func @scalar_ops(%a: i32, %b: i32, %va: vector<16xi32>, %vb: vector<16xi32>) -> (f32, vector<16xf32>) {
  %0 = bf16.dot2 %a, %b : i32 -> f32
  %1 = bf16.dot2 %va, %vb : vector<16xi32> -> vector<16xf32>
  func.return %0, %1 : f32, vector<16xf32>
}

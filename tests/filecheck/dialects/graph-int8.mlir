// RUN: ziggurat-opt %s | ziggurat-opt | filecheck %s

// The int8 fast path's ops print and parse back: the packing of 8-bit activations four to
// an i32, the convolution and matmul on packed operands, and the scalar dot4 and vector
// conversions their kernels are made of.

// CHECK-LABEL: func.func @packed
// CHECK:         %[[P:.*]] = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x6x5x5xi8>) -> tensor<1x2x5x5xi32>
// CHECK-NEXT:    %[[C:.*]] = graph.conv_u8s8 %[[P]], %w, %b {{{.*}}pad_byte = 128 : i64{{.*}}} : (tensor<1x2x5x5xi32>, tensor<16x2x3x3xi32>, tensor<16xi32>) -> tensor<1x16x5x5xi32>
// CHECK-NEXT:    %[[Q:.*]] = graph.pack_u8x4 %a {axis = 1 : i64} : (tensor<3x37xui8>) -> tensor<3x10xi32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul_u8s8 %[[Q]], %m : (tensor<3x10xi32>, tensor<10x21xi32>) -> tensor<3x21xi32>
func.func @packed(%x: tensor<1x6x5x5xi8>, %w: tensor<16x2x3x3xi32>, %b: tensor<16xi32>, %a: tensor<3x37xui8>, %m: tensor<10x21xi32>) -> (tensor<1x16x5x5xi32>, tensor<3x21xi32>) {
  %0 = graph.pack_u8x4 %x {axis = 1 : i64} : (tensor<1x6x5x5xi8>) -> tensor<1x2x5x5xi32>
  %1 = graph.conv_u8s8 %0, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 128 : i64} : (tensor<1x2x5x5xi32>, tensor<16x2x3x3xi32>, tensor<16xi32>) -> tensor<1x16x5x5xi32>
  %2 = graph.pack_u8x4 %a {axis = 1 : i64} : (tensor<3x37xui8>) -> tensor<3x10xi32>
  %3 = graph.matmul_u8s8 %2, %m : (tensor<3x10xi32>, tensor<10x21xi32>) -> tensor<3x21xi32>
  func.return %1, %3 : tensor<1x16x5x5xi32>, tensor<3x21xi32>
}

// CHECK-LABEL: func.func @scalar_ops
// CHECK:         %[[D:.*]] = int8.dot4 %a, %b : i32
// CHECK-NEXT:    %[[V:.*]] = int8.dot4 %va, %vb : vector<16xi32>
// CHECK-NEXT:    %[[F:.*]] = int8.vector_cast %[[V]] {kind = "sitofp"} : vector<16xi32> to vector<16xf32>
func.func @scalar_ops(%a: i32, %b: i32, %va: vector<16xi32>, %vb: vector<16xi32>) -> (i32, vector<16xf32>) {
  %0 = int8.dot4 %a, %b : i32
  %1 = int8.dot4 %va, %vb : vector<16xi32>
  %2 = int8.vector_cast %1 {kind = "sitofp"} : vector<16xi32> to vector<16xf32>
  func.return %0, %2 : i32, vector<16xf32>
}

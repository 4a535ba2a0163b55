// RUN: ziggurat-opt %s --split-input-file -p graph-fuse-ops | filecheck %s
// RUN: ziggurat-opt %s --split-input-file -p 'graph-fuse-ops{max-depth=2}' | filecheck %s --check-prefix=SHALLOW

// conv + add + relu become one group; the weights come in as operands, the splat stays inside.
// CHECK-LABEL: func.func @main
// CHECK:         %[[F:.*]] = graph.fused %x, %w, %b, %y {kind = "conv_add_relu"}
// CHECK-NEXT:    ^bb0(%[[X:.*]]: tensor<1x2x4x4xf32>, %[[W:.*]]: tensor<3x2x1x1xf32>, %[[B:.*]]: tensor<3xf32>, %[[Y:.*]]: tensor<1x3x4x4xf32>):
// CHECK-NEXT:      %[[C:.*]] = graph.conv %[[X]], %[[W]], %[[B]]
// CHECK-NEXT:      %[[A:.*]] = graph.add %[[C]], %[[Y]]
// CHECK-NEXT:      %[[R:.*]] = graph.relu %[[A]]
// CHECK-NEXT:      graph.yield %[[R]] : tensor<1x3x4x4xf32>
// CHECK-NEXT:    }
// A value used twice ends its group; the softmax anchors the next one, whose mul reads the
// earlier group's result as an operand from outside.
// CHECK-NEXT:    %[[G:.*]] = graph.fused %[[F]] {kind = "softmax_mul_sigmoid"}
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: tensor<1x3x4x4xf32>):
// CHECK-NEXT:      %[[S:.*]] = graph.softmax %[[IN]]
// CHECK-NEXT:      %{{.*}} = graph.mul %[[IN]], %[[S]]
// SHALLOW:       graph.fused {{.*}} {kind = "conv_add"}
func.func @main(%x: tensor<1x2x4x4xf32>, %y: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %w = graph.weight "w" : tensor<3x2x1x1xf32>
  %b = graph.weight "b" : tensor<3xf32>
  %0 = graph.conv %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<3x2x1x1xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  %1 = graph.add %0, %y : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %2 = graph.relu %1 : tensor<1x3x4x4xf32>
  %3 = graph.softmax %2 {axis = 1 : i64} : tensor<1x3x4x4xf32>
  %4 = graph.mul %2, %3 : (tensor<1x3x4x4xf32>, tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  %5 = graph.sigmoid %4 : tensor<1x3x4x4xf32>
  func.return %5 : tensor<1x3x4x4xf32>
}

// -----

// GELU's diamond, x * 0.5 * (1 + erf(x / sqrt2)) with x = matmul + bias, fuses whole: every
// member but the last mul is read only inside the group. The bias weight is defined after
// the matmul and still joins.
// CHECK-LABEL: func.func @gelu
// CHECK:         %{{.*}} = graph.fused %x, %w, %b {kind = "matmul_add_div_erf_add_mul_mul"}
// CHECK-NOT:     graph.fused
// SHALLOW-LABEL: func.func @gelu
// SHALLOW:       graph.fused {{.*}} {kind = "matmul_add"}
// SHALLOW:       graph.fused {{.*}} {kind = "div_erf"}
func.func @gelu(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = graph.weight "w" : tensor<8x4xf32>
  %0 = graph.matmul %x, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %b = graph.weight "b" : tensor<4xf32>
  %1 = graph.add %0, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %sqrt2 = graph.constant dense<1.41421354> : tensor<f32>
  %2 = graph.div %1, %sqrt2 : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %3 = graph.erf %2 : tensor<2x4xf32>
  %one = graph.constant dense<1.0> : tensor<f32>
  %4 = graph.add %3, %one : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  %5 = graph.mul %1, %4 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %half = graph.constant dense<0.5> : tensor<f32>
  %6 = graph.mul %5, %half : (tensor<2x4xf32>, tensor<f32>) -> tensor<2x4xf32>
  func.return %6 : tensor<2x4xf32>
}

// -----

// A member read from outside the group besides the sink cuts the group back to where it
// had one sink: the add feeds both the relu and the function's result.
// CHECK-LABEL: func.func @two_exits
// CHECK:         %[[G:.*]] = graph.fused %x, %w {kind = "matmul_add"}
// CHECK:         graph.relu %[[G]]
func.func @two_exits(%x: tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %w = graph.weight "w" : tensor<8x4xf32>
  %0 = graph.matmul %x, %w : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf32>
  %1 = graph.add %0, %0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = graph.relu %1 : tensor<2x4xf32>
  func.return %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

// Groups form inside a Loop's body (and an If's branches), never across the region's edge:
// the relu outside stays outside.
// CHECK-LABEL: func.func @loop_body
// CHECK-NEXT:    %[[W:.*]] = graph.relu %w0 : tensor<4xf32>
// CHECK-NEXT:    "graph.loop"
// CHECK-NEXT:    ^{{.*}}(%{{.*}}: tensor<i64>, %{{.*}}: tensor<i1>, %[[V:.*]]: tensor<4xf32>):
// CHECK-NEXT:      %{{.*}} = graph.fused %[[V]], %[[W]] {kind = "add_tanh"}
func.func @loop_body(%x: tensor<4xf32>, %w0: tensor<4xf32>) -> tensor<4xf32> {
  %w = graph.relu %w0 : tensor<4xf32>
  %s = "graph.loop"(%x) <{trip_count = 3 : i64, operandSegmentSizes = array<i32: 0, 0, 1>}> ({
  ^bb0(%i: tensor<i64>, %cond: tensor<i1>, %v: tensor<4xf32>):
    %n = graph.add %v, %w : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    %r = graph.tanh %n : tensor<4xf32>
    %t = graph.constant dense<true> : tensor<i1>
    graph.yield %t, %r : tensor<i1>, tensor<4xf32>
  }) : (tensor<4xf32>) -> (tensor<4xf32>)
  func.return %s : tensor<4xf32>
}

// -----

// An int8 product's group may grow four ops past max-depth: the requantization (cast,
// scale, round, zero point, cast), then a QDQ residual add (dequantize, add, quantize) end
// in its kernel, nine ops.
// CHECK-LABEL: func.func @int8_residual
// CHECK:         graph.fused {{.*}} {kind = "conv_u8s8_cast_mul_round_add_cast_dequantize_add_quantize"}
// SHALLOW:       graph.fused {{.*}} {kind = "conv_u8s8_cast_mul_round_add_cast"}
func.func @int8_residual(%x: tensor<1x1x4x4xi32>, %r: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xui8> {
  %w = graph.weight "w" : tensor<4x1x1x1xi32>
  %b = graph.weight "b" : tensor<4xi32>
  %m = graph.constant dense<0.5> : tensor<f32>
  %z = graph.constant dense<3.0> : tensor<f32>
  %s = graph.constant dense<0.25> : tensor<f32>
  %q = graph.constant dense<3> : tensor<ui8>
  %0 = graph.conv_u8s8 %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, pad_byte = 0 : i64} : (tensor<1x1x4x4xi32>, tensor<4x1x1x1xi32>, tensor<4xi32>) -> tensor<1x4x4x4xi32>
  %1 = graph.cast %0 : tensor<1x4x4x4xi32> -> tensor<1x4x4x4xf32>
  %2 = graph.mul %1, %m : (tensor<1x4x4x4xf32>, tensor<f32>) -> tensor<1x4x4x4xf32>
  %3 = graph.round %2 : tensor<1x4x4x4xf32>
  %4 = graph.add %3, %z : (tensor<1x4x4x4xf32>, tensor<f32>) -> tensor<1x4x4x4xf32>
  %5 = graph.cast %4 : tensor<1x4x4x4xf32> -> tensor<1x4x4x4xui8>
  %6 = graph.dequantize %5, %s, %q : (tensor<1x4x4x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x4x4xf32>
  %7 = graph.add %6, %r : (tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
  %8 = graph.quantize %7, %s, %q : (tensor<1x4x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x4x4x4xui8>
  func.return %8 : tensor<1x4x4x4xui8>
}

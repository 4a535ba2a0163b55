// RUN: python -c "import numpy as n; n.savez('%t.npz', w=n.ones((1, 2, 3, 3, 16, 16), 'f4'), w1=n.ones((1, 2, 1, 1, 16, 16), 'f4'), dw=n.ones((2, 1, 3, 3, 1, 16), 'f4'), b=n.ones(16, 'f4'), b2=n.ones(32, 'f4'))"
// RUN: ziggurat-opt %s --params %t.npz --split-input-file -p 'graph-winograd{tile=2 min-tiles=1}' | filecheck %s
// RUN: ziggurat-opt %s --params %t.npz --split-input-file -p 'graph-winograd{min-tiles=4}' | filecheck %s --check-prefix=F4
// RUN: ziggurat-opt %s --params %t.npz --split-input-file -p 'graph-winograd{min-tiles=16}' | filecheck %s --check-prefix=F2
// RUN: ziggurat-opt %s --params %t.npz --split-input-file -p graph-winograd | filecheck %s --check-prefix=FEW
// RUN: ziggurat-opt %s --params %t.npz --split-input-file -p 'graph-winograd{min-tiles=1},graph-fuse-ops' | filecheck %s --check-prefix=FUSED
// RUN: not ziggurat-opt %s --params %t.npz --no-reproducer -p 'graph-winograd{tile=3}' 2>&1 | filecheck %s --check-prefix=BAD
// RUN: ziggurat-opt %s --params %t.npz --split-input-file --tuning-log %S/Inputs/graph-winograd-tuned.jsonl -p 'graph-winograd{min-tiles=16}' | filecheck %s --check-prefix=TUNED
// RUN: ziggurat-opt %s --params %t.npz --split-input-file --tuning-log %S/Inputs/graph-winograd-tuned.jsonl -p 'graph-winograd{tile=2 min-tiles=1}' | filecheck %s

// A 3x3 stride-1 blocked convolution becomes F(2x2, 3x3): the input transform (16 positions
// x 16 tiles x 32 channels), one GEMM per position on the weight transformed now, and the
// output transform with the bias.
// CHECK-LABEL: func.func @conv3x3
// CHECK:         %[[U:.*]] = graph.weight "winograd_weight_{{[0-9]+}}" : tensor<16x32x16xf32>
// CHECK-NEXT:    %[[V:.*]] = graph.winograd_input %x {tile = 2 : i64, pads = array<i64: 1, 1, 1, 1>} : tensor<1x2x8x8x16xf32> -> tensor<16x16x32xf32>
// CHECK-NEXT:    %[[M:.*]] = graph.matmul %[[V]], %[[U]] : (tensor<16x16x32xf32>, tensor<16x32x16xf32>) -> tensor<16x16x16xf32>
// CHECK-NEXT:    %[[Y:.*]] = graph.winograd_output %[[M]], %b {tile = 2 : i64} : (tensor<16x16x16xf32>, tensor<16xf32>) -> tensor<1x1x8x8x16xf32>
// CHECK-NEXT:    %[[R:.*]] = graph.relu %[[Y]]
// CHECK-NOT:     graph.weight "w"
// By default (tile=0) each convolution takes the largest tile that still gives min-tiles
// tiles: F(4x4, 3x3) (36 positions, 4 tiles) when 4 are enough, F(2x2, 3x3) for 16.
// F4-LABEL: func.func @conv3x3
// F4:         graph.winograd_input %x {tile = 4 : i64, {{.*}} -> tensor<36x4x32xf32>
// F4:         graph.winograd_output {{.*}} -> tensor<1x1x8x8x16xf32>
// F2-LABEL: func.func @conv3x3
// F2:         graph.winograd_input %x {tile = 2 : i64, {{.*}} -> tensor<16x16x32xf32>
// Fewer tiles than min-tiles with either tile size (4 and 16 < 32, the default): the
// convolution stays; its GEMMs would read each transformed weight for too few rows.
// FEW-LABEL: func.func @conv3x3
// FEW-NOT:     graph.winograd_input
// FEW:         graph.conv_nchwc
// The output transform fuses with the relu, as the convolution would; the input transform
// stays a kernel of its own.
// FUSED-LABEL: func.func @conv3x3
// FUSED:         graph.winograd_input %x
// FUSED:         graph.fused {{.*}} {kind = "winograd_output_relu"}
// A tuning log's record for the convolution's signature (F(4x4) timed fastest) wins over
// the heuristic (F(2x2) for 16 tiles); an explicit tile option wins over the log.
// TUNED-LABEL: func.func @conv3x3
// TUNED:         graph.winograd_input %x {tile = 4 : i64, {{.*}} -> tensor<36x4x32xf32>
// TUNED-LABEL: func.func @others
// TUNED-NOT:     graph.winograd_input
// BAD: pass 'graph-winograd' failed: graph-winograd: tile must be 0 (chosen per convolution) or 2 or 4, got 3.
func.func @conv3x3(%x: tensor<1x2x8x8x16xf32>) -> tensor<1x1x8x8x16xf32> {
  %w = graph.weight "w" : tensor<1x2x3x3x16x16xf32>
  %b = graph.weight "b" : tensor<16xf32>
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<1x2x3x3x16x16xf32>, tensor<16xf32>) -> tensor<1x1x8x8x16xf32>
  %1 = graph.relu %0 : tensor<1x1x8x8x16xf32>
  func.return %1 : tensor<1x1x8x8x16xf32>
}

// -----

// Strided, 1x1, depthwise and runtime-weight convolutions stay as they are.
// CHECK-LABEL: func.func @others
// CHECK-NOT:     graph.winograd_input
func.func @others(%x: tensor<1x2x8x8x16xf32>, %rw: tensor<1x2x3x3x16x16xf32>) -> (tensor<1x1x4x4x16xf32>, tensor<1x1x8x8x16xf32>, tensor<1x2x8x8x16xf32>, tensor<1x1x8x8x16xf32>) {
  %w = graph.weight "w" : tensor<1x2x3x3x16x16xf32>
  %w1 = graph.weight "w1" : tensor<1x2x1x1x16x16xf32>
  %dw = graph.weight "dw" : tensor<2x1x3x3x1x16xf32>
  %b = graph.weight "b" : tensor<16xf32>
  %b2 = graph.weight "b2" : tensor<32xf32>
  %0 = graph.conv_nchwc %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<1x2x3x3x16x16xf32>, tensor<16xf32>) -> tensor<1x1x4x4x16xf32>
  %1 = graph.conv_nchwc %x, %w1, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<1x2x1x1x16x16xf32>, tensor<16xf32>) -> tensor<1x1x8x8x16xf32>
  %2 = graph.conv_nchwc %x, %dw, %b2 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 32 : i64} : (tensor<1x2x8x8x16xf32>, tensor<2x1x3x3x1x16xf32>, tensor<32xf32>) -> tensor<1x2x8x8x16xf32>
  %3 = graph.conv_nchwc %x, %rw, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x8x8x16xf32>, tensor<1x2x3x3x16x16xf32>, tensor<16xf32>) -> tensor<1x1x8x8x16xf32>
  func.return %0, %1, %2, %3 : tensor<1x1x4x4x16xf32>, tensor<1x1x8x8x16xf32>, tensor<1x2x8x8x16xf32>, tensor<1x1x8x8x16xf32>
}

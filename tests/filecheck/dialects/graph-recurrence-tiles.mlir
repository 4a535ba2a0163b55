// RUN: ziggurat-opt %s -p convert-graph-to-te,convert-te-to-sched | filecheck %s

// The step product of a bidirectional LSTM of hidden 128 and batch 1 (R^T packed in 8 blocks
// of 64 columns per direction): a tile of one batch row takes four blocks (16 accumulators,
// enough independent FMAs to hide their latency), so a step runs two tiles; odd steps take
// the tiles in reverse order (tile 1 - t), so the blocks the last step read last, still in
// the cache, are read first. The directions run one per core.

// CHECK-LABEL: func.func private @recurrence_0
// CHECK-SAME:    (%{{.*}}: memref<2x1024xf32>, %[[RP:.*]]: memref<2x8x128x64xf32>, %{{.*}}: memref<4x2x1x128xf32>)
// CHECK:         %[[H:.*]] = sched.alloc : memref<2x1x128xf32>
// CHECK:         %[[ACC:.*]] = sched.alloc : memref<2x1x512xf32>
// CHECK:         sched.for %[[D:.*]] = 0 to 2 step 1 parallel {
// CHECK:           sched.for %[[S:.*]] = 0 to 2 step 1 {
// CHECK:               sched.for %[[TILE:.*]] = 0 to 2 step 1 {
// CHECK-NEXT:            %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:            %[[PARITY:.*]] = arith.andi %[[S]], %[[ONE]] : index
// CHECK-NEXT:            %[[ZERO:.*]] = arith.constant 0 : index
// CHECK-NEXT:            %[[ODD:.*]] = arith.cmpi ne, %[[PARITY]], %[[ZERO]] : index
// CHECK-NEXT:            %[[LAST:.*]] = arith.constant 1 : index
// CHECK-NEXT:            %[[BACK:.*]] = arith.subi %[[LAST]], %[[TILE]] : index
// CHECK-NEXT:            %[[T:.*]] = arith.select %[[ODD]], %[[BACK]], %[[TILE]] : index
// CHECK-NEXT:            %[[FOUR:.*]] = arith.constant 4 : index
// CHECK-NEXT:            %[[FIRST:.*]] = arith.muli %[[T]], %[[FOUR]] : index
// CHECK:                 sched.for %[[K:.*]] = 0 to 128 step 1 {
// CHECK-NEXT:              sched.for %[[ROW:.*]] = 0 to 1 step 1 unroll {
// CHECK-NEXT:                %[[B:.*]] = arith.addi %{{.*}}, %[[ROW]] : index
// CHECK-NEXT:                %[[HK:.*]] = sched.load %[[H]][%[[D]], %[[B]], %[[K]]]
// CHECK-NEXT:                sched.for %[[MEMBER:.*]] = 0 to 4 step 1 unroll {
// CHECK-NEXT:                  %[[BLOCK:.*]] = arith.addi %{{.*}}, %[[MEMBER]] : index
// CHECK:                       sched.for %[[LANE:.*]] = 0 to 64 step 1 vectorize {
// CHECK:                         sched.load %[[ACC]]
// CHECK-NEXT:                    %[[W:.*]] = sched.load %[[RP]][%[[D]], %[[BLOCK]], %[[K]], %[[LANE]]]
// CHECK-NEXT:                    arith.mulf %[[HK]], %[[W]]
// CHECK:                         sched.store %{{.*}}, %[[ACC]]

func.func @main(%gates: tensor<2x1024xf32>, %rp: tensor<2x8x128x64xf32>) -> tensor<4x2x1x128xf32> {
  %zb = graph.constant dense<0.000000e+00> : tensor<2x128xf32>
  %zp = graph.constant dense<0.000000e+00> : tensor<2x384xf32>
  %zs = graph.constant dense<0.000000e+00> : tensor<2x1x128xf32>
  %lens = graph.constant dense<2> : tensor<1xi32>
  %r = graph.recurrence %gates, %rp, %zb, %zp, %zs, %zs, %lens {cell = "lstm", direction = "bidirectional", activations = ["Sigmoid", "Tanh", "Tanh", "Sigmoid", "Tanh", "Tanh"], alphas = array<f32: 0.0, 0.0, 0.0, 0.0, 0.0, 0.0>, betas = array<f32: 0.0, 0.0, 0.0, 0.0, 0.0, 0.0>} : (tensor<2x1024xf32>, tensor<2x8x128x64xf32>, tensor<2x128xf32>, tensor<2x384xf32>, tensor<2x1x128xf32>, tensor<2x1x128xf32>, tensor<1xi32>) -> tensor<4x2x1x128xf32>
  func.return %r : tensor<4x2x1x128xf32>
}

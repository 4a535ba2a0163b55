// RUN: ziggurat-opt %s -p convert-graph-to-te,convert-te-to-sched | filecheck %s

// graph.recurrence keeps its op through convert-graph-to-te; convert-te-to-sched builds the
// loops: per direction (kept on one core here: one direction) the states from their initial
// values, a serial time loop; per step the product in register tiles of batch rows (unrolled)
// by packed blocks of columns (one here, unrolled) (accumulators zeroed, the hidden units streamed, the
// block's lanes vectorized), then per batch entry the gates vectorized over the hidden units;
// at the end the states copied to rows T and T + 1.
// Reverse with sequence_lens (clamped to [0, T]): t = len - 1 - s within the length, s past it.

// CHECK-LABEL: func.func private @recurrence_0
// CHECK-SAME:    (%[[G:.*]]: memref<3x8xf32>, %[[RP:.*]]: memref<1x1x2x8xf32>, %[[LENS:.*]]: memref<1xi32>, %[[OUT:.*]]: memref<5x1x1x2xf32>)
// CHECK:         %[[H:.*]] = sched.alloc : memref<1x1x2xf32>
// CHECK-NEXT:    %[[C:.*]] = sched.alloc : memref<1x1x2xf32>
// CHECK-NEXT:    %[[ACC:.*]] = sched.alloc : memref<1x1x8xf32>
// CHECK:         sched.for %[[D:.*]] = 0 to 1 step 1 {
// CHECK:           sched.for %{{.*}} = 0 to 2 step 1 vectorize {
// CHECK:             sched.store %{{.*}}, %[[H]]
// CHECK:           sched.store %{{.*}}, %[[C]]
// CHECK:           sched.for %[[S:.*]] = 0 to 3 step 1 {
// CHECK:                 sched.for %{{.*}} = 0 to 1 step 1 unroll {
// CHECK-NEXT:              sched.for %{{.*}} = 0 to 1 step 1 unroll {
// CHECK:                     sched.for %{{.*}} = 0 to 8 step 1 vectorize {
// CHECK:                       sched.store %{{.*}}, %[[ACC]]
// CHECK:                 sched.for %[[K:.*]] = 0 to 2 step 1 {
// CHECK-NEXT:              sched.for %[[ROW:.*]] = 0 to 1 step 1 unroll {
// CHECK-NEXT:                %[[BR:.*]] = arith.addi %{{.*}}, %[[ROW]] : index
// CHECK-NEXT:                %[[HK:.*]] = sched.load %[[H]][%[[D]], %[[BR]], %[[K]]]
// CHECK-NEXT:                sched.for %[[MEMBER:.*]] = 0 to 1 step 1 unroll {
// CHECK:                       sched.for %[[LANE:.*]] = 0 to 8 step 1 vectorize {
// CHECK:                         sched.load %[[RP]][%[[D]], %{{.*}}, %[[K]], %[[LANE]]]
// CHECK:                         arith.mulf %[[HK]]
// CHECK:                       sched.store %{{.*}}, %[[ACC]]
// CHECK:             sched.for %[[B:.*]] = 0 to 1 step 1 {
// CHECK:               %[[LEN32:.*]] = sched.load %[[LENS]][%[[B]]] : memref<1xi32>
// CHECK-NEXT:          %[[RAW:.*]] = arith.index_cast %[[LEN32]] : i32 to index
// CHECK:               %[[LOW:.*]] = arith.maxsi %[[RAW]], %{{.*}} : index
// CHECK:               %[[LEN:.*]] = arith.minsi %[[LOW]], %{{.*}} : index
// CHECK:               %[[LAST:.*]] = arith.subi %[[LEN]], %{{.*}} : index
// CHECK-NEXT:          %[[BACK:.*]] = arith.subi %[[LAST]], %[[S]] : index
// CHECK-NEXT:          %[[VALID:.*]] = arith.cmpi slt, %[[S]], %[[LEN]] : index
// CHECK-NEXT:          %[[T:.*]] = arith.select %[[VALID]], %[[BACK]], %[[S]] : index
// CHECK:               sched.for %{{.*}} = 0 to 2 step 1 vectorize {
// CHECK:                 math.exp
// CHECK:                 math.tanh
// CHECK:                 sched.store %{{.*}}, %[[H]]
// CHECK-NEXT:            sched.store %{{.*}}, %[[C]]
// CHECK-NEXT:            sched.store %{{.*}}, %[[OUT]][%[[T]], %[[D]], %[[B]], %{{.*}}]
// CHECK:           sched.load %[[H]]
// CHECK:           sched.store %{{.*}}, %[[OUT]]
// CHECK:           sched.load %[[C]]
// CHECK:           sched.store %{{.*}}, %[[OUT]]
// CHECK:         } {sched.serial}

func.func @main(%gates: tensor<3x8xf32>, %rp: tensor<1x1x2x8xf32>, %lens: tensor<1xi32>) -> tensor<5x1x1x2xf32> {
  %zb = graph.constant dense<0.000000e+00> : tensor<1x2xf32>
  %zp = graph.constant dense<0.000000e+00> : tensor<1x6xf32>
  %zs = graph.constant dense<0.000000e+00> : tensor<1x1x2xf32>
  %r = graph.recurrence %gates, %rp, %zb, %zp, %zs, %zs, %lens {cell = "lstm", direction = "reverse", activations = ["Sigmoid", "Tanh", "Tanh"], alphas = array<f32: 0.0, 0.0, 0.0>, betas = array<f32: 0.0, 0.0, 0.0>} : (tensor<3x8xf32>, tensor<1x1x2x8xf32>, tensor<1x2xf32>, tensor<1x6xf32>, tensor<1x1x2xf32>, tensor<1x1x2xf32>, tensor<1xi32>) -> tensor<5x1x1x2xf32>
  func.return %r : tensor<5x1x1x2xf32>
}

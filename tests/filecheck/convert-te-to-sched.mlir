// RUN: ziggurat-opt %s -p convert-te-to-sched | filecheck %s

// A reduction becomes a rank-0 accumulator: init store, loop, combine, final load and store.
// CHECK-LABEL: func.func private @dense_0
// CHECK-SAME:    (%[[X:.*]]: memref<2x8xf32>, %[[W:.*]]: memref<4x8xf32>, %[[OUT:.*]]: memref<2x4xf32>)
// CHECK-NEXT:    %[[ACC:.*]] = sched.alloc : memref<f32>
// CHECK-NEXT:    sched.for %[[I:.*]] = 0 to 2 step 1 {
// CHECK-NEXT:      sched.for %[[J:.*]] = 0 to 4 step 1 {
// CHECK-NEXT:        %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:        sched.store %[[ZERO]], %[[ACC]][] : memref<f32>
// CHECK-NEXT:        sched.for %[[K:.*]] = 0 to 8 step 1 {
// CHECK-NEXT:          %[[A:.*]] = sched.load %[[X]][%[[I]], %[[K]]] : memref<2x8xf32>
// CHECK-NEXT:          %[[B:.*]] = sched.load %[[W]][%[[J]], %[[K]]] : memref<4x8xf32>
// CHECK-NEXT:          %[[P:.*]] = arith.mulf %[[A]], %[[B]] : f32
// CHECK-NEXT:          %[[CUR:.*]] = sched.load %[[ACC]][] : memref<f32>
// CHECK-NEXT:          %[[NEW:.*]] = arith.addf %[[CUR]], %[[P]] : f32
// CHECK-NEXT:          sched.store %[[NEW]], %[[ACC]][] : memref<f32>
// CHECK-NEXT:        } {sched.axis = "reduce"}
// CHECK-NEXT:        %[[SUM:.*]] = sched.load %[[ACC]][] : memref<f32>
// CHECK-NEXT:        sched.store %[[SUM]], %[[OUT]][%[[I]], %[[J]]] : memref<2x4xf32>
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// A compute the kernel does not return gets scratch; the returned one writes the output.
// CHECK-LABEL: func.func private @twice_0
// CHECK-SAME:    (%[[IN:.*]]: memref<4xf32>, %[[RES:.*]]: memref<4xf32>)
// CHECK-NEXT:    %[[T:.*]] = sched.alloc : memref<4xf32>
// CHECK:         sched.store %{{.*}}, %[[T]][%{{.*}}] : memref<4xf32>
// CHECK:         %[[V:.*]] = sched.load %[[T]][%{{.*}}] : memref<4xf32>
// CHECK-NEXT:    sched.store %[[V]], %[[RES]][%{{.*}}] : memref<4xf32>

// A constant tensor of the kernel becomes a read-only buffer.
// CHECK-LABEL: func.func private @scale_0
// CHECK-NEXT:    %[[K:.*]] = sched.constant dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> : tensor<4xf32>
// CHECK:         sched.load %[[K]][%{{.*}}] : memref<4xf32>

// The graph function takes its output as a buffer; weights become sched.param.
// CHECK-LABEL: func.func @main
// CHECK-SAME:    (%[[GX:.*]]: memref<2x8xf32> {graph.name = "x"}, %[[GY:.*]]: memref<2x4xf32> {graph.name = "y", sched.output})
// CHECK-NEXT:    %[[GW:.*]] = sched.param "w" : memref<4x8xf32>
// CHECK-NEXT:    func.call @dense_0(%[[GX]], %[[GW]], %[[GY]]) : (memref<2x8xf32>, memref<4x8xf32>, memref<2x4xf32>) -> ()
// CHECK-NEXT:    func.return
func.func private @dense_0(%x: tensor<2x8xf32>, %w: tensor<4x8xf32>) -> tensor<2x4xf32> {
  %y = te.compute (%i, %j) : tensor<2x4xf32> {
    %zero = arith.constant 0.000000e+00 : f32
    %s = te.reduce sum (%k) in [8] init %zero : f32 {
      %a = te.read %x[%i, %k] : tensor<2x8xf32>
      %b = te.read %w[%j, %k] : tensor<4x8xf32>
      %p = arith.mulf %a, %b : f32
      te.yield %p : f32
    }
    te.yield %s : f32
  } {tag = "matmul"}
  func.return %y : tensor<2x4xf32>
}
func.func private @twice_0(%x: tensor<4xf32>) -> tensor<4xf32> {
  %t = te.compute (%i) : tensor<4xf32> {
    %v = te.read %x[%i] : tensor<4xf32>
    %d = arith.addf %v, %v : f32
    te.yield %d : f32
  }
  %y = te.compute (%i) : tensor<4xf32> {
    %v = te.read %t[%i] : tensor<4xf32>
    te.yield %v : f32
  }
  func.return %y : tensor<4xf32>
}
func.func private @scale_0(%x: tensor<4xf32>) -> tensor<4xf32> {
  %k = graph.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %y = te.compute (%i) : tensor<4xf32> {
    %a = te.read %x[%i] : tensor<4xf32>
    %b = te.read %k[%i] : tensor<4xf32>
    %p = arith.mulf %a, %b : f32
    te.yield %p : f32
  }
  func.return %y : tensor<4xf32>
}
func.func @main(%x: tensor<2x8xf32> {graph.name = "x"}) -> (tensor<2x4xf32> {graph.name = "y"}) {
  %w = graph.weight "w" : tensor<4x8xf32>
  %y = func.call @dense_0(%x, %w) : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
  func.return %y : tensor<2x4xf32>
}

// RUN: ziggurat-opt %s | filecheck %s
// RUN: ZIGGURAT_ROUNDTRIP

// CHECK-LABEL: func.func private @relu_0
// CHECK-SAME:    (%[[X:.*]]: memref<4x512xf32>, %[[Y:.*]]: memref<4x512xf32>)
// CHECK-NEXT:    %[[T:.*]] = sched.alloc : memref<f32>
// CHECK-NEXT:    %[[W:.*]] = sched.param "fc.weight" : memref<4x512xf32>
// CHECK-NEXT:    %[[C:.*]] = sched.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    sched.for %[[I:.*]] = 0 to 4 step 1 parallel {
// CHECK-NEXT:      sched.for %[[J:.*]] = 0 to 512 step 16 vectorize {
// CHECK-NEXT:        sched.for %[[U:.*]] = 0 to 4 step 1 unroll {
// CHECK-NEXT:          %[[V:.*]] = sched.load %[[X]][%[[I]], %[[J]]] : memref<4x512xf32>
// CHECK-NEXT:          %[[Z:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:          %[[R:.*]] = arith.maximumf %[[V]], %[[Z]] : f32
// CHECK-NEXT:          sched.store %[[R]], %[[Y]][%[[I]], %[[J]]] : memref<4x512xf32>
// CHECK-NEXT:        }
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:    sched.for %{{.*}} = 0 to 2 step 1 {
func.func private @relu_0(%x: memref<4x512xf32>, %y: memref<4x512xf32>) {
  %t = sched.alloc : memref<f32>
  %w = sched.param "fc.weight" : memref<4x512xf32>
  %c = sched.constant dense<[1.0, 2.0]> : tensor<2xf32>
  sched.for %i = 0 to 4 step 1 parallel {
    sched.for %j = 0 to 512 step 16 vectorize {
      sched.for %u = 0 to 4 step 1 unroll {
        %v = sched.load %x[%i, %j] : memref<4x512xf32>
        %zero = arith.constant 0.000000e+00 : f32
        %r = arith.maximumf %v, %zero : f32
        sched.store %r, %y[%i, %j] : memref<4x512xf32>
      }
    }
  }
  sched.for %k = 0 to 2 step 1 serial {
  }
  func.return
}

// RUN: ziggurat-opt %s | filecheck %s
// RUN: ZIGGURAT_ROUNDTRIP

// CHECK:       builtin.module attributes {target.cpu = #target.cpu<"aarch64-unknown-linux-gnu", "neoverse-v1", "+sve", 128, 4>} {
// CHECK-NEXT:    target.kernel @relu_0(%[[X:.*]]: memref<8xf32>, %[[Y:.*]]: memref<8xf32>) {
// CHECK-NEXT:      target.return
// CHECK-NEXT:    }
// CHECK-NEXT:    target.entry @main {
// CHECK-NEXT:      %[[B0:.*]] = target.buffer 0 input "x" : memref<8xf32>
// CHECK-NEXT:      %[[B1:.*]] = target.buffer 1 output "y/out:0" : memref<8xf32>
// CHECK-NEXT:      %[[B2:.*]] = target.buffer 2 intermediate "t0" : memref<8xf32>
// CHECK-NEXT:      target.launch @relu_0(%[[B0]], %[[B2]]) : memref<8xf32>, memref<8xf32>
// CHECK-NEXT:      target.launch @relu_0(%[[B2]], %[[B1]]) : memref<8xf32>, memref<8xf32>
// CHECK-NEXT:      target.return
// CHECK-NEXT:    }
// CHECK-NEXT:  }
builtin.module attributes {target.cpu = #target.cpu<"aarch64-unknown-linux-gnu", "neoverse-v1", "+sve", 128, 4>} {
  target.kernel @relu_0(%x: memref<8xf32>, %y: memref<8xf32>) {
    target.return
  }
  target.entry @main {
    %0 = target.buffer 0 input "x" : memref<8xf32>
    %1 = target.buffer 1 output "y/out:0" : memref<8xf32>
    %2 = target.buffer 2 intermediate "t0" : memref<8xf32>
    target.launch @relu_0(%0, %2) : memref<8xf32>, memref<8xf32>
    target.launch @relu_0(%2, %1) : memref<8xf32>, memref<8xf32>
    target.return
  }
}

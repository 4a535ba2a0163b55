// RUN: ziggurat-opt %s -p 'convert-sched-to-target{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=skylake-avx512 -num-cores=2"}' | filecheck %s
// RUN: ziggurat-opt %s -p 'convert-sched-to-target{target="llvm -mtriple=x86_64-unknown-linux-gnu -mcpu=haswell -num-cores=4"}' | filecheck %s --check-prefix=AVX2

// CHECK:      builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "skylake-avx512", "", 512, 2>}
// AVX2:       builtin.module attributes {target.cpu = #target.cpu<"x86_64-unknown-linux-gnu", "haswell", "", 256, 4>}

// Small scratch goes on the stack, large scratch on the heap, freed before returning.
// Loops become scf.for with constant bounds; a non-serial kind is kept as sched.kind. Each
// distinct constant sits once at the top of the kernel, in the order first used.
// CHECK-LABEL: target.kernel @scale_0
// CHECK-SAME:    (%[[X:.*]]: memref<64x512xf32>, %[[Y:.*]]: memref<64x512xf32>)
// CHECK-NEXT:    %[[LB:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[UB:.*]] = arith.constant 64 : index
// CHECK-NEXT:    %[[ST:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[UBJ:.*]] = arith.constant 512 : index
// CHECK-NEXT:    %[[SMALL:.*]] = memref.alloca() {alignment = 64 : i64} : memref<f32>
// CHECK-NEXT:    %[[BIG:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x512xf32>
// CHECK-NEXT:    scf.for %[[I:.*]] = %[[LB]] to %[[UB]] step %[[ST]] {
// CHECK-NEXT:      scf.for %[[J:.*]] = %[[LB]] to %[[UBJ]] step %[[ST]] {
// CHECK-NEXT:        %[[V:.*]] = memref.load %[[X]][%[[I]], %[[J]]] : memref<64x512xf32>
// CHECK-NEXT:        memref.store %[[V]], %[[BIG]][%[[I]], %[[J]]] : memref<64x512xf32>
// CHECK-NEXT:      } {sched.kind = "vectorize"}
// CHECK-NEXT:    } {sched.kind = "parallel"}
// CHECK-NEXT:    scf.for %{{.*}} = %[[LB]] to %[[UB]] step %[[ST]] {
// CHECK-NOT:     arith.constant
// CHECK:         memref.dealloc %[[BIG]] : memref<64x512xf32>
// CHECK-NEXT:    target.return

// The graph function becomes the entry: inputs, outputs, params, then intermediates.
// CHECK-LABEL: target.entry @main {
// CHECK-NEXT:    %[[B0:.*]] = target.buffer 0 input "x" : memref<64x512xf32>
// CHECK-NEXT:    %[[B1:.*]] = target.buffer 1 output "y" : memref<64x512xf32>
// CHECK-NEXT:    %[[B2:.*]] = target.buffer 2 param "w" : memref<64x512xf32>
// CHECK-NEXT:    %[[B3:.*]] = target.buffer 3 intermediate "t0" : memref<64x512xf32>
// CHECK-NEXT:    target.launch @scale_0(%[[B0]], %[[B3]]) : memref<64x512xf32>, memref<64x512xf32>
// CHECK-NEXT:    target.launch @scale_0(%[[B3]], %[[B1]]) : memref<64x512xf32>, memref<64x512xf32>
// CHECK-NEXT:    target.return
func.func private @scale_0(%x: memref<64x512xf32>, %y: memref<64x512xf32>) {
  %acc = sched.alloc : memref<f32>
  %big = sched.alloc : memref<64x512xf32>
  sched.for %i = 0 to 64 step 1 parallel {
    sched.for %j = 0 to 512 step 1 vectorize {
      %v = sched.load %x[%i, %j] : memref<64x512xf32>
      sched.store %v, %big[%i, %j] : memref<64x512xf32>
    }
  }
  sched.for %i = 0 to 64 step 1 {
    sched.for %j = 0 to 512 step 1 {
      %v = sched.load %big[%i, %j] : memref<64x512xf32>
      sched.store %v, %y[%i, %j] : memref<64x512xf32>
    }
  }
  func.return
}
func.func @main(%x: memref<64x512xf32> {graph.name = "x"}, %y: memref<64x512xf32> {graph.name = "y", sched.output}) {
  %w = sched.param "w" : memref<64x512xf32>
  %t = sched.alloc : memref<64x512xf32>
  func.call @scale_0(%x, %t) : (memref<64x512xf32>, memref<64x512xf32>) -> ()
  func.call @scale_0(%t, %y) : (memref<64x512xf32>, memref<64x512xf32>) -> ()
  func.return
}

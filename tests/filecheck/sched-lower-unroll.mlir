// RUN: ziggurat-opt %s -p sched-lower-unroll | filecheck %s
// RUN: ziggurat-opt %s -p 'sched-lower-unroll{max-copies=2}' | filecheck %s --check-prefix=FEW

// Each iteration becomes a copy of the body with the induction variable a constant.
// CHECK-LABEL: func.func private @copy_0
// CHECK-NOT:     sched.for
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT:    %[[V0:.*]] = sched.load %[[X:.*]][%[[C0]]] : memref<3xf32>
// CHECK-NEXT:    sched.store %[[V0]], %[[Y:.*]][%[[C0]]] : memref<3xf32>
// CHECK-NEXT:    %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:    %[[V1:.*]] = sched.load %[[X]][%[[C1]]] : memref<3xf32>
// CHECK-NEXT:    sched.store %[[V1]], %[[Y]][%[[C1]]] : memref<3xf32>
// CHECK-NEXT:    %[[C2:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[V2:.*]] = sched.load %[[X]][%[[C2]]] : memref<3xf32>
// CHECK-NEXT:    sched.store %[[V2]], %[[Y]][%[[C2]]] : memref<3xf32>
// CHECK-NEXT:    func.return
// FEW-LABEL:   func.func private @copy_0
// FEW:           sched.for %{{.*}} = 0 to 3 step 1 {
func.func private @copy_0(%x: memref<3xf32>, %y: memref<3xf32>) {
  sched.for %i = 0 to 3 step 1 unroll {
    %v = sched.load %x[%i] : memref<3xf32>
    sched.store %v, %y[%i] : memref<3xf32>
  }
  func.return
}

// Nested unroll loops multiply (inner first); a serial loop inside is copied whole, and a
// step other than one gives its iterations' values.
// CHECK-LABEL: func.func private @nest_0
// CHECK-COUNT-6: sched.for %{{.*}} = 0 to 8 step 1 {
// CHECK-NOT:     unroll
// FEW-LABEL:   func.func private @nest_0
// FEW:           sched.for %{{.*}} = 0 to 6 step 2 {
// FEW-COUNT-2:     sched.for %{{.*}} = 0 to 8 step 1 {
func.func private @nest_0(%x: memref<6x2x8xf32>, %y: memref<6x2x8xf32>) {
  sched.for %i = 0 to 6 step 2 unroll {
    sched.for %j = 0 to 2 step 1 unroll {
      sched.for %k = 0 to 8 step 1 {
        %v = sched.load %x[%i, %j, %k] : memref<6x2x8xf32>
        sched.store %v, %y[%i, %j, %k] : memref<6x2x8xf32>
      }
    }
  }
  func.return
}

// CHECK-LABEL: func.func private @stepped_0
// CHECK:         arith.constant 1 : index
// CHECK:         arith.constant 4 : index
// CHECK-NOT:     arith.constant 7 : index
func.func private @stepped_0(%x: memref<8xf32>, %y: memref<8xf32>) {
  sched.for %i = 1 to 7 step 3 unroll {
    %v = sched.load %x[%i] : memref<8xf32>
    sched.store %v, %y[%i] : memref<8xf32>
  }
  func.return
}

// What does not depend on the copy moves before the copies (the load, the negation; the
// split position's quotient (t + p) div 2 becomes t div 2), and each copy folds its
// position through the integer arithmetic: (t + p) rem 2 is p, the compare and the select
// decide, and the copy keeps only its own formula.
// CHECK-LABEL: func.func private @selector_0
// CHECK:         %[[ROW:.*]] = arith.divui %[[T:.*]], %{{.*}} : index
// CHECK:         %[[V:.*]] = sched.load %{{.*}}[%[[ROW]]] : memref<2xf32>
// CHECK-NEXT:    %[[N:.*]] = arith.negf %[[V]] : f32
// CHECK-NOT:     arith.select
// CHECK-NOT:     arith.remui
// CHECK:         sched.store %[[V]], %{{.*}}[%{{.*}}, %[[ROW]]] : memref<2x2xf32>
// CHECK:         sched.store %[[N]], %{{.*}}[%{{.*}}, %[[ROW]]] : memref<2x2xf32>
func.func private @selector_0(%x: memref<2xf32>, %y: memref<2x2xf32>) {
  sched.for %t = 0 to 4 step 2 {
    sched.for %p = 0 to 2 step 1 unroll {
      %h = arith.addi %t, %p : index
      %two = arith.constant 2 : index
      %row = arith.divui %h, %two : index
      %pos = arith.remui %h, %two : index
      %zero = arith.constant 0 : index
      %first = arith.cmpi eq, %pos, %zero : index
      %v = sched.load %x[%row] : memref<2xf32>
      %n = arith.negf %v : f32
      %r = arith.select %first, %v, %n : f32
      sched.store %r, %y[%pos, %row] : memref<2x2xf32>
    }
  }
  func.return
}
